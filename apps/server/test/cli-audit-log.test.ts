// `--audit-log FILE|-` on the built CLI: lines in a file (also through MCP_PROXY_AUDIT_LOG), lines on stdout
// with `-` (the logs stay on stderr), a stdout nobody reads any more (EPIPE: one error line, the proxy
// goes on serving), and a file that cannot be opened (exit 1 with the reason).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { callTool, ECHO, exitOf, initialize, killAll, marker, runCli, startCli, waitFor } from './helpers.js'

const dirs: string[] = []
afterEach(async () => {
  await killAll()
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

function tempFile(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'cli-audit-log-'))
  dirs.push(dir)
  return join(dir, name)
}

const jsonLines = (text: string): Array<Record<string, unknown>> =>
  text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>)

describe('--audit-log', () => {
  it('--audit-log FILE: one line per finished request, written by the time the proxy has exited', async () => {
    const path = tempFile('audit.log')
    const cli = await startCli(['--port', '0', '--log-format', 'json', '--drain-timeout', '0', '--audit-log', path, '--', 'node', ECHO, marker()])
    const url = `${cli.base}/mcp`
    const session = await initialize(url)
    expect(await callTool(url, session, 'echo', { text: 'not in the audit log' })).toBe('not in the audit log')
    cli.proc.kill('SIGTERM')
    expect(await exitOf(cli)).toBe(0)
    const text = readFileSync(path, 'utf8')
    expect(text).not.toContain('not in the audit log')
    expect(jsonLines(text)).toEqual([
      expect.objectContaining({ era: 'legacy', session, method: 'initialize', outcome: 'ok' }),
      expect.objectContaining({ era: 'legacy', session, method: 'tools/call', target: 'echo', outcome: 'ok', bytesIn: expect.any(Number), bytesOut: expect.any(Number) }),
    ])
    expect(cli.stdout()).toBe('')
  })

  it('MCP_PROXY_AUDIT_LOG=- writes the lines to stdout; the logs stay on stderr', async () => {
    const cli = await startCli(['--port', '0', '--log-format', 'json', '--', 'node', ECHO, marker()], { env: { MCP_PROXY_AUDIT_LOG: '-' } })
    const url = `${cli.base}/mcp`
    const session = await initialize(url)
    await callTool(url, session, 'add', { a: 1, b: 2 })
    await waitFor(() => cli.stdout().split('\n').length > 2, 5000, () => `two audit lines on stdout; got:\n${cli.stdout()}`)
    expect(jsonLines(cli.stdout()).map((line) => [line.method, line.target])).toEqual([
      ['initialize', undefined],
      ['tools/call', 'add'],
    ])
    expect(cli.stdout()).not.toContain('"msg"')
  })

  it('--audit-log - with a stdout nobody reads any more: one error line, the proxy goes on serving', async () => {
    const cli = await startCli(['--port', '0', '--log-format', 'json', '--audit-log', '-', '--', 'node', ECHO, marker()])
    cli.proc.stdout!.destroy()
    const url = `${cli.base}/mcp`
    const session = await initialize(url)
    for (let i = 0; i < 5; i++) expect(await callTool(url, session, 'echo', { text: `call ${i}` })).toBe(`call ${i}`)
    await waitFor(() => cli.logs().some((line) => line.msg.startsWith('audit log cannot be written')), 5000, () => 'the audit error line')
    const errors = cli.logs().filter((line) => line.msg.startsWith('audit log cannot be written'))
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ auditLog: 'stdout', code: 'EPIPE' })
    expect(cli.proc.exitCode).toBeNull()
  })

  it('a file that cannot be opened: exit 1 with the path and the reason, before listening', async () => {
    const path = join(tempFile('no-such-dir'), 'audit.log')
    const result = await runCli(['--port', '0', '--audit-log', path, '--', 'node', ECHO, marker()])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`mcp-proxy: error: cannot open the audit log ${path}: its directory does not exist`)
  })
})
