// `--metrics`, `--metrics-public`, `--metrics-port` and `--metrics-tool-names`: the parser's decisions, and
// the built CLI serving /metrics on its main port (behind the API key) or on a loopback port of its own.
import { get } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { callTool, ECHO, exitOf, freePort, initialize, killAll, marker, runCli, startCli, waitFor, type Cli } from './helpers.js'
import { run, usage } from './parse-helpers.js'

afterEach(async () => {
  await killAll()
})

/** The URL the CLI logged for its metrics listener. */
async function metricsUrl(cli: Cli): Promise<string> {
  await waitFor(() => cli.logs().some((line) => typeof line.metrics === 'string'), 5000, () => `the metrics line; stderr:\n${cli.stderr()}`)
  return String(cli.logs().find((line) => typeof line.metrics === 'string')!.metrics)
}

/** The status of a GET sent with this Host header (fetch does not let a caller set Host). */
function statusWithHost(url: string, host: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    get(url, { headers: { host } }, (res) => {
      res.resume()
      resolve(res.statusCode)
    }).once('error', reject)
  })
}

/** A sample's value in a scrape (the line `name{labels} value`, labels as the client library writes them). */
function sample(text: string, line: string): number | undefined {
  const found = text.split('\n').find((l) => l.startsWith(`${line} `))
  return found === undefined ? undefined : Number(found.slice(line.length + 1))
}

describe('metrics flags (parser)', () => {
  it('--metrics, --metrics-public and --no-metrics-tool-names become plugin options', () => {
    expect(run(['--metrics', '--metrics-public', '--no-metrics-tool-names', '--', 'cmd']).plugin).toMatchObject({ metrics: true, metricsPublic: true, metricsToolNames: false })
    expect(run(['cmd'], { MCP_PROXY_METRICS: 'true' }).resolved.metrics).toMatchObject({ path: '/metrics', public: false, toolNames: true })
    expect(run(['cmd']).resolved.metrics).toBe(false)
  })

  it('--metrics-port turns metrics on and keeps them off the main port', () => {
    const config = run(['--metrics-port', '9464', '--', 'cmd'])
    expect(config.metricsPort).toBe(9464)
    expect(config.plugin).toMatchObject({ metrics: true, metricsPath: false })
  })

  it('refuses what makes no sense', () => {
    expect(usage(['--metrics-public', '--', 'cmd'])).toMatch(/^--metrics-public needs metrics/)
    expect(usage(['--metrics-port', '9464', '--no-metrics', '--', 'cmd'])).toMatch(/--metrics-port cannot be combined with --no-metrics/)
    expect(usage(['--metrics-port', '9464', '--metrics-public', '--', 'cmd'])).toMatch(/--metrics-public has no use with --metrics-port/)
    expect(usage(['--metrics-port', '70000', '--', 'cmd'])).toMatch(/--metrics-port must be a port number/)
  })
})

describe('metrics (built CLI)', () => {
  it('--metrics: /metrics on the main port, behind the API key', async () => {
    const cli = await startCli(['--port', '0', '--log-format', 'json', '--metrics', '--api-key', 'k', '--', 'node', ECHO, marker()])
    const url = `${cli.base}/mcp`
    const session = await initialize(url, { 'x-api-key': 'k' })
    expect(await callTool(url, session, 'echo', { text: 'hi' }, { 'x-api-key': 'k' })).toBe('hi')
    expect((await fetch(`${cli.base}/metrics`)).status).toBe(403)
    const res = await fetch(`${cli.base}/metrics`, { headers: { 'x-api-key': 'k' } })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
    const text = await res.text()
    expect(sample(text, 'mcp_server_operation_duration_seconds_count{mcp_method_name="tools/call",gen_ai_tool_name="echo",error_type=""}')).toBe(1)
    expect(sample(text, 'mcp_proxy_refusals_total{reason="MCP_PROXY_API_KEY_REQUIRED",status="403"}')).toBe(1)
  })

  it('--metrics-port: /metrics on 127.0.0.1 at that port without the key, not on the main port; closed with the proxy', async () => {
    const cli = await startCli(['--port', '0', '--log-format', 'json', '--drain-timeout', '0', '--metrics-port', '0', '--api-key', 'k', '--', 'node', ECHO, marker()])
    const metrics = await metricsUrl(cli)
    expect(metrics).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
    const url = `${cli.base}/mcp`
    const session = await initialize(url, { 'x-api-key': 'k' })
    await callTool(url, session, 'add', { a: 1, b: 2 }, { 'x-api-key': 'k' })
    const res = await fetch(metrics)
    expect(res.status).toBe(200)
    const text = await res.text()
    expect(sample(text, 'mcp_server_operation_duration_seconds_count{mcp_method_name="tools/call",gen_ai_tool_name="add",error_type=""}')).toBe(1)
    expect(sample(text, 'mcp_proxy_sessions_open{transport="streamable",era="legacy"}')).toBe(1)
    expect((await fetch(`${cli.base}/metrics`, { headers: { 'x-api-key': 'k' } })).status).toBe(404)
    // A name that is not loopback (a DNS-rebound page) is refused.
    expect(await statusWithHost(metrics, 'evil.example')).toBe(403)
    expect(await statusWithHost(metrics, 'localhost')).toBe(200)
    cli.proc.kill('SIGTERM')
    expect(await exitOf(cli)).toBe(0)
    await expect(fetch(metrics)).rejects.toThrow()
  })

  it('--metrics-port on a port in use: exit 1 with the reason', async () => {
    const busy = await startCli(['--port', '0', '--log-format', 'json', '--', 'node', ECHO, marker()])
    const result = await runCli(['--port', String(await freePort()), '--metrics-port', String(busy.port), '--', 'node', ECHO, marker()])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`cannot serve metrics on 127.0.0.1:${busy.port} (--metrics-port): the port is already in use`)
  })
})
