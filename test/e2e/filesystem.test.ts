// End to end: the built CLI in front of the real @modelcontextprotocol/server-filesystem (stdio) over a
// temporary directory, driven by the v1 SDK client over Streamable HTTP and over legacy HTTP+SSE.
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import { FILESYSTEM, processesWith, startProxy, type Proxy } from './helpers.js'

// realpath: the server resolves symlinks (e.g. a /tmp link) and compares against its allowed directories
const dir = realpathSync(mkdtempSync(join(tmpdir(), 'mcp-proxy-e2e-fs-')))
const GREETING = 'hello from the e2e test\nsecond line\n'
let proxy: Proxy

beforeAll(async () => {
  writeFileSync(join(dir, 'greeting.txt'), GREETING)
  // the temporary directory is unique, so it marks this file's MCP server children
  proxy = await startProxy([process.execPath, FILESYSTEM, dir], [FILESYSTEM, dir])
})

afterAll(async () => {
  try {
    if (proxy) {
      expect(processesWith(FILESYSTEM, dir).length).toBeGreaterThan(0)
      const { code, leftovers } = await proxy.stop()
      expect(code).toBe(0)
      expect(leftovers).toEqual([])
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

function text(result: unknown): string {
  const r = result as CallToolResult
  expect(r.isError ?? false).toBe(false)
  return r.content.flatMap((c) => (c.type === 'text' ? [c.text] : [])).join('\n')
}

describe('server-filesystem over Streamable HTTP (v1 client)', { timeout: 15_000 }, () => {
  let client: Client

  beforeAll(async () => {
    client = new Client({ name: 'e2e-fs', version: '1.0.0' })
    await client.connect(new StreamableHTTPClientTransport(proxy.streamable))
  })

  afterAll(async () => {
    await client?.close()
  })

  it('lists its tools', async () => {
    const { tools } = await client.listTools()
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['read_text_file', 'write_file', 'list_directory', 'list_allowed_directories']))
  })

  it('names the temporary directory as the allowed one', async () => {
    expect(text(await client.callTool({ name: 'list_allowed_directories', arguments: {} }))).toContain(dir)
  })

  it('reads the file written before start', async () => {
    const result = await client.callTool({ name: 'read_text_file', arguments: { path: join(dir, 'greeting.txt') } })
    expect(text(result)).toBe(GREETING)
  })

  it('writes a file that then exists on disk', async () => {
    const content = `written through the proxy at ${process.pid}\n`
    const result = await client.callTool({ name: 'write_file', arguments: { path: join(dir, 'written.txt'), content } })
    expect(text(result)).toMatch(/wrote/i)
    expect(readFileSync(join(dir, 'written.txt'), 'utf8')).toBe(content)
  })

  it('lists the directory', async () => {
    const listing = text(await client.callTool({ name: 'list_directory', arguments: { path: dir } }))
    expect(listing).toContain('[FILE] greeting.txt')
    expect(listing).toContain('[FILE] written.txt')
  })

  it('refuses a path outside the allowed directory (an error result, not a transport error)', async () => {
    const result = (await client.callTool({ name: 'read_text_file', arguments: { path: '/etc/hostname' } })) as CallToolResult
    expect(result.isError).toBe(true)
  })
})

describe('server-filesystem over HTTP+SSE (v1 client)', { timeout: 15_000 }, () => {
  it('reads the file in its own session', async () => {
    const client = new Client({ name: 'e2e-fs-sse', version: '1.0.0' })
    await client.connect(new SSEClientTransport(proxy.sse))
    try {
      const result = await client.callTool({ name: 'read_text_file', arguments: { path: join(dir, 'greeting.txt') } })
      expect(text(result)).toBe(GREETING)
    } finally {
      await client.close()
    }
  })
})
