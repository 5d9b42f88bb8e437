// End to end: the MCP Inspector's command line (`mcp-inspector-cli --cli <url> --method …`, the CLI mode of
// @modelcontextprotocol/inspector v1) as a child process, against the built proxy in front of the real
// @modelcontextprotocol/server-everything, over Streamable HTTP and over legacy HTTP+SSE. Every run must exit
// 0, print the method's result as JSON on stdout and nothing on stderr but the package's deprecation notice.
import { dirname } from 'node:path'
import { describe, expect, it } from 'vitest'
import { INSPECTOR_CLI, runNode, type ProgramRun, proxyInFrontOfEverything } from './helpers.js'

const everything = proxyInFrontOfEverything()

/**
 * The notice that `mcp-inspector-cli` writes to stderr on every start (v1 is deprecated; v2 needs Node 22).
 * It is the only stderr output a successful run may have.
 */
const DEPRECATION_NOTICE = /^\s*⚠️ {2}@modelcontextprotocol\/inspector v1 is deprecated\.\n\s*Upgrade: .*\n\s*v1 receives security fixes only\.\n/

/** stderr without the deprecation notice: what the Inspector reported. */
function reported(run: ProgramRun): string {
  return run.stderr.replace(DEPRECATION_NOTICE, '').trim()
}

/**
 * `mcp-inspector-cli --cli <url> --transport <transport> --method <method> [extra…]`, bounded at 20 s.
 *
 * The working directory is the package's `build/` directory: the CLI finds its own package.json (for its
 * client name and version) at `../package.json` relative to the working directory, and fails with "Cannot
 * find module …/@modelcontextprotocol/package.json" from anywhere else when installed on its own, not
 * inside @modelcontextprotocol/inspector (a packaging bug of inspector-cli 1.0.3, not of the proxy).
 */
async function inspect(url: URL, transport: 'http' | 'sse', method: string, extra: string[] = []): Promise<ProgramRun> {
  return runNode([INSPECTOR_CLI, '--cli', url.href, '--transport', transport, '--method', method, ...extra], {
    cwd: dirname(INSPECTOR_CLI),
    timeoutMs: 20_000,
    leftoverMarks: ['@modelcontextprotocol/inspector-cli/build/', url.href],
  })
}

/** A run that succeeded: exit 0 in time, nothing left running, no error output; returns its JSON result. */
function resultOf(run: ProgramRun): Record<string, unknown> {
  const summary = `exit ${run.code}${run.timedOut ? ' (timed out)' : ''}\nstderr:\n${run.stderr}\nstdout:\n${run.stdout.slice(0, 2000)}`
  expect(run.timedOut, summary).toBe(false)
  expect(run.leftovers, summary).toEqual([])
  expect(reported(run), summary).toBe('')
  expect(run.code, summary).toBe(0)
  return JSON.parse(run.stdout) as Record<string, unknown>
}

function texts(result: Record<string, unknown>): string {
  const content = (result.content ?? []) as Array<{ type: string; text?: string }>
  return content.flatMap((c) => (c.type === 'text' && c.text !== undefined ? [c.text] : [])).join('\n')
}

for (const transport of ['http', 'sse'] as const) {
  describe(`Inspector CLI over ${transport === 'http' ? 'Streamable HTTP (/mcp)' : 'HTTP+SSE (/sse)'}`, { timeout: 30_000 }, () => {
    const url = (): URL => (transport === 'http' ? everything().streamable : everything().sse)

    it('tools/list', async () => {
      const result = resultOf(await inspect(url(), transport, 'tools/list'))
      const names = (result.tools as Array<{ name: string }>).map((t) => t.name)
      expect(names).toEqual(expect.arrayContaining(['echo', 'get-sum']))
    })

    it('tools/call echo', async () => {
      const result = resultOf(await inspect(url(), transport, 'tools/call', ['--tool-name', 'echo', '--tool-arg', `message=hello over ${transport}`]))
      expect(result.isError).not.toBe(true)
      expect(texts(result)).toBe(`Echo: hello over ${transport}`)
    })

    it('resources/list', async () => {
      const result = resultOf(await inspect(url(), transport, 'resources/list'))
      const resources = result.resources as Array<{ uri: string }>
      expect(resources.length).toBeGreaterThan(0)
      expect(resources[0]!.uri).toMatch(/^demo:\/\//)
    })

    it('prompts/list', async () => {
      const result = resultOf(await inspect(url(), transport, 'prompts/list'))
      expect((result.prompts as Array<{ name: string }>).map((p) => p.name)).toEqual(expect.arrayContaining(['simple-prompt', 'args-prompt']))
    })
  })
}

describe('the checks above can fail', { timeout: 30_000 }, () => {
  it('a request the server rejects exits non-zero with the error on stderr', async () => {
    const run = await inspect(everything().streamable, 'http', 'prompts/get', ['--prompt-name', 'no-such-prompt'])
    expect(run.timedOut).toBe(false)
    expect(run.leftovers).toEqual([])
    expect(run.code).not.toBe(0)
    expect(reported(run)).toMatch(/no-such-prompt|not found|error/i)
  })
})
