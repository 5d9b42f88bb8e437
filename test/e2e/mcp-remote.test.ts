// End to end: mcp-remote (the stdio↔remote bridge that desktop hosts run as `npx mcp-remote <url>`) as a
// child process, pointed at the built proxy in front of the real @modelcontextprotocol/server-everything,
// driven over its stdio by the official v1 SDK client. Once with `--transport http-only` against /mcp,
// once with `--transport sse-only` against /sse. mcp-remote logs every error it sees on either side to its
// stderr ("Error from remote server: …", "Connection error: …"): a run must leave no such line.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import { MCP_REMOTE, cleanEnv, processesWith, proxyInFrontOfEverything, waitFor, within } from './helpers.js'

const everything = proxyInFrontOfEverything()
// mcp-remote keeps OAuth state and a lock per server under MCP_REMOTE_CONFIG_DIR (default ~/.mcp-auth)
const configDir = mkdtempSync(join(tmpdir(), 'e2e-mcp-remote-'))

afterAll(() => rmSync(configDir, { recursive: true, force: true }))

/** A line of mcp-remote's stderr that reports a problem (its log lines are `[pid] text`). */
const PROBLEM = /\b(error|errors|fail|failed|failure|fatal|warning|exception|unhandled|refused|refusing|timed out|timeout|ECONN\w*)\b/i

function problems(stderr: string): string[] {
  return stderr.split('\n').filter((line) => PROBLEM.test(line))
}

/** Decode the bridge's stderr as UTF-8 across chunk boundaries (its log lines hold "→"). */
function collect(transport: StdioClientTransport, onText: (text: string) => void): void {
  const stderr = transport.stderr as Readable | null
  stderr?.setEncoding('utf8')
  stderr?.on('data', onText)
}

interface Bridge {
  client: Client
  transport: StdioClientTransport
  pid: number
  stderr: () => string
  /** Close the client (stdin end → SIGTERM → SIGKILL, 2 s apart); then nothing of this bridge may be alive. */
  close: () => Promise<void>
}

/** Start `mcp-remote <url> <flags…>` and connect a v1 client to its stdio (bounded: 15 s). */
async function bridge(url: URL, flags: string[]): Promise<Bridge> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [MCP_REMOTE, url.href, ...flags],
    env: { ...(cleanEnv() as Record<string, string>), MCP_REMOTE_CONFIG_DIR: configDir },
    stderr: 'pipe',
  })
  let err = ''
  collect(transport, (d) => (err += d))
  const client = new Client({ name: 'e2e-mcp-remote', version: '1.0.0' })
  const close = async (): Promise<void> => {
    await within(client.close(), 10_000, 'mcp-remote to stop')
    await waitFor(() => processesWith(MCP_REMOTE, url.href).length === 0, 3000, () => `mcp-remote (${url.href}) to be gone`)
  }
  try {
    await client.connect(transport, { timeout: 15_000 })
  } catch (error) {
    await close().catch(() => undefined)
    throw new Error(`mcp-remote did not connect: ${String(error)}\nstderr:\n${err}`, { cause: error })
  }
  return { client, transport, pid: transport.pid!, stderr: () => err, close }
}

function texts(result: unknown): string {
  return (result as CallToolResult).content.flatMap((c) => (c.type === 'text' ? [c.text] : [])).join('\n')
}

const RUNS = [
  { name: 'Streamable HTTP (--transport http-only, /mcp)', flags: ['--transport', 'http-only'], url: (): URL => everything().streamable, used: 'StreamableHTTPClientTransport' },
  { name: 'HTTP+SSE (--transport sse-only, /sse)', flags: ['--transport', 'sse-only'], url: (): URL => everything().sse, used: 'SSEClientTransport' },
]

for (const run of RUNS) {
  describe(`mcp-remote over ${run.name}`, { timeout: 30_000 }, () => {
    let b: Bridge

    beforeAll(async () => {
      b = await bridge(run.url(), run.flags)
    })

    afterAll(async () => {
      await b?.close()
    })

    it('connects with the transport it was told to use, to the real server', () => {
      expect(b.stderr()).toContain(`Connected to remote server using ${run.used}`)
      expect(b.client.getServerVersion()?.name).toBe('mcp-servers/everything')
    })

    it('lists tools, resources and prompts', async () => {
      const { tools } = await b.client.listTools(undefined, { timeout: 10_000 })
      expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['echo', 'get-sum']))
      const { resources } = await b.client.listResources(undefined, { timeout: 10_000 })
      expect(resources.length).toBeGreaterThan(0)
      const { prompts } = await b.client.listPrompts(undefined, { timeout: 10_000 })
      expect(prompts.map((p) => p.name)).toContain('simple-prompt')
    })

    it('calls echo and get-sum', async () => {
      expect(texts(await b.client.callTool({ name: 'echo', arguments: { message: 'through mcp-remote' } }, undefined, { timeout: 10_000 }))).toBe('Echo: through mcp-remote')
      expect(texts(await b.client.callTool({ name: 'get-sum', arguments: { a: 40, b: 2 } }, undefined, { timeout: 10_000 }))).toContain('42')
    })

    it('logs no error on its stderr, through to its shutdown', async () => {
      // let late asynchronous reports (a failed GET stream, a parse error) arrive before closing
      await new Promise((resolve) => setTimeout(resolve, 300))
      await b.close()
      expect(problems(b.stderr()), b.stderr()).toEqual([])
      expect(b.stderr()).toContain('[Local→Remote] tools/call')
    })
  })
}

describe('the stderr check can fail', { timeout: 30_000 }, () => {
  it('a URL the proxy does not serve makes mcp-remote log an error line', async () => {
    const url = new URL('/not-an-endpoint', everything().streamable)
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [MCP_REMOTE, url.href, '--transport', 'http-only'],
      env: { ...(cleanEnv() as Record<string, string>), MCP_REMOTE_CONFIG_DIR: configDir },
      stderr: 'pipe',
    })
    let err = ''
    collect(transport, (d) => (err += d))
    const client = new Client({ name: 'e2e-mcp-remote-control', version: '1.0.0' })
    try {
      await expect(client.connect(transport, { timeout: 15_000 })).rejects.toThrow()
      await waitFor(() => problems(err).length > 0, 5000, () => `an error line; stderr:\n${err}`)
    } finally {
      await within(client.close(), 10_000, 'mcp-remote to stop')
      await waitFor(() => processesWith(MCP_REMOTE, url.href).length === 0, 3000, () => 'mcp-remote to be gone')
    }
  })
})
