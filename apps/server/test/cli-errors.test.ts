// Mistakes and start failures of the built CLI: the exit code (2 for usage, 1 for runtime), exactly one
// `mcp-proxy: error: …` line, and never a stack trace.
import { createServer, type Server } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { ECHO, errorLines, hasStackTrace, killAll, marker, runCli } from './helpers.js'

let blocker: Server | undefined
afterEach(async () => {
  await killAll()
  await new Promise((resolve) => (blocker ? blocker.close(resolve) : resolve(undefined)))
  blocker = undefined
})

/** Run the CLI to its end and check the one-line error contract. */
async function fails(args: string[], code: number, message: RegExp, env: Record<string, string> = {}): Promise<void> {
  const result = await runCli(args, env)
  const lines = errorLines(result.stderr)
  expect(lines, result.stderr).toHaveLength(1)
  expect(lines[0]).toMatch(message)
  expect(hasStackTrace(result.stderr), result.stderr).toBe(false)
  expect(result.stdout).toBe('')
  expect(result.code, result.stderr).toBe(code)
}

describe('usage errors exit 2', () => {
  it('an unknown flag', async () => {
    await fails(['--no-such-flag', '--', 'node', ECHO], 2, /unknown flag --no-such-flag/)
  })

  it('a port that is not a number, or out of range', async () => {
    await fails(['--port', 'eighty', '--', 'node', ECHO], 2, /--port takes a whole number, not 'eighty'/)
    await fails(['--port', '65536', '--', 'node', ECHO], 2, /--port/)
  })

  it('a bad value in the environment names the variable', async () => {
    await fails(['--', 'node', ECHO], 2, /MCP_PROXY_PORT/, { MCP_PROXY_PORT: 'eighty' })
  })

  it('no command', async () => {
    await fails(['--port', '0'], 2, /command/)
    await fails([], 2, /command/)
  })

  it('--ssl-cert without --ssl-key', async () => {
    await fails(['--ssl-cert', '/tmp/cert.pem', '--', 'node', ECHO], 2, /--ssl-cert and --ssl-key go together/)
  })

  it('a flag of the original that this proxy does not have', async () => {
    await fails(['--tunnel', '--', 'node', ECHO], 2, /--tunnel is not supported/)
  })
})

describe('runtime errors exit 1', () => {
  it('a command that cannot be spawned', async () => {
    await fails(['--port', '0', '--log-format', 'json', '--', '/nonexistent/bin', marker()], 1, /\/nonexistent\/bin/)
  })

  it('a port already in use', async () => {
    blocker = createServer()
    const port = await new Promise<number>((resolve) =>
      blocker!.listen(0, '127.0.0.1', () => resolve((blocker!.address() as { port: number }).port)),
    )
    await fails(['--port', String(port), '--log-format', 'json', '--', 'node', ECHO, marker()], 1, /in use/)
  })

  it('an HTTPS certificate file that cannot be read', async () => {
    await fails(['--port', '0', '--log-format', 'json', '--ssl-cert', '/nonexistent/cert.pem', '--ssl-key', '/nonexistent/key.pem', '--', 'node', ECHO, marker()], 1, /\/nonexistent\/cert\.pem/)
  })
})
