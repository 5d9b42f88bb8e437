// The built CLI in front of the echo fixture: every flag of the original port, the command forms,
// camelCase aliases, the environment, --help/--version and the log levels.
import { afterEach, describe, expect, it } from 'vitest'
import { envNames, FLAGS } from '../src/flags.js'
import { callTool, ECHO, FIXTURES, freePort, initialize, killAll, marker, post, runCli, startCli, waitFor } from './helpers.js'

afterEach(killAll)

describe('the command', () => {
  it('runs `-- <command> [args…]` and relays a tool call', async () => {
    const cli = await startCli(['--port', '0', '--log-format', 'json', '--', 'node', ECHO, marker()])
    const ping = await fetch(`${cli.base}/ping`)
    expect(ping.status).toBe(200)
    expect(await ping.text()).toBe('pong')
    const session = await initialize(`${cli.base}/mcp`)
    expect(await callTool(`${cli.base}/mcp`, session, 'echo', { text: 'hello' })).toBe('hello')
  })

  it('runs the bare form `mcp-proxy <command> [args…]`', async () => {
    const cli = await startCli(['--port=0', '--log-format=json', 'node', ECHO, marker()])
    const session = await initialize(`${cli.base}/mcp`)
    expect(await callTool(`${cli.base}/mcp`, session, 'add', { a: 2, b: 3 })).toBe('5')
  })

  it('runs --command with --args as a comma list', async () => {
    const cli = await startCli(['--port', '0', '--log-format', 'json', '--command', 'node', '--args', `${ECHO},${marker()}`])
    const session = await initialize(`${cli.base}/mcp`)
    expect(await callTool(`${cli.base}/mcp`, session, 'echo', { text: 'via --args' })).toBe('via --args')
  })

  it('starts the child in --cwd (a relative script path resolves there)', async () => {
    const cli = await startCli(['--port', '0', '--log-format', 'json', '--cwd', FIXTURES, '--', 'node', 'echo-server.mjs', marker()])
    const session = await initialize(`${cli.base}/mcp`)
    expect(await callTool(`${cli.base}/mcp`, session, 'echo', { text: 'in cwd' })).toBe('in cwd')
  })

  it('adds --env KEY=VALUE entries (comma list) to the child environment', async () => {
    const cli = await startCli(['--port', '0', '--log-format', 'json', '--env', 'FIRST=one,SECOND=two=2', '--', 'node', ECHO, marker()])
    const session = await initialize(`${cli.base}/mcp`)
    expect(await callTool(`${cli.base}/mcp`, session, 'env', { name: 'FIRST' })).toBe('one')
    expect(await callTool(`${cli.base}/mcp`, session, 'env', { name: 'SECOND' })).toBe('two=2')
  })
})

describe('--host and --port', () => {
  it('listens on the --host and --port given', async () => {
    const port = await freePort()
    const cli = await startCli(['--host', '127.0.0.1', '--port', String(port), '--log-format', 'json', '--', 'node', ECHO, marker()])
    expect(cli.port).toBe(port)
    expect(cli.base).toBe(`http://127.0.0.1:${port}`)
    expect((await fetch(`http://127.0.0.1:${port}/ping`)).status).toBe(200)
  })

  it('reads MCP_PROXY_PORT; a --port flag wins over it', async () => {
    const port = await freePort()
    const fromEnv = await startCli(['--log-format', 'json', '--', 'node', ECHO, marker()], { env: { MCP_PROXY_PORT: String(port) } })
    expect(fromEnv.port).toBe(port)
    const other = await startCli(['--port', '0', '--log-format', 'json', '--', 'node', ECHO, marker()], { env: { MCP_PROXY_PORT: String(port) } })
    expect(other.port).not.toBe(port)
  })
})

describe('transports', () => {
  it('--stateless answers POST without a session and GET /mcp with 405', async () => {
    const cli = await startCli(['--port', '0', '--log-format', 'json', '--stateless', '--', 'node', ECHO, marker()])
    const get = await fetch(`${cli.base}/mcp`, { headers: { accept: 'text/event-stream' } })
    expect(get.status).toBe(405)
    await get.body?.cancel()
    expect(await callTool(`${cli.base}/mcp`, undefined, 'echo', { text: 'stateless' })).toBe('stateless')
  })

  it('--server sse serves only /sse (+ /messages): /mcp is 404', async () => {
    const cli = await startCli(['--port', '0', '--log-format', 'json', '--server', 'sse', '--', 'node', ECHO, marker()])
    const mcp = await post(`${cli.base}/mcp`, { jsonrpc: '2.0', id: 1, method: 'ping' })
    expect(mcp.status).toBe(404)
    await mcp.body?.cancel()
    const sse = await openSse(`${cli.base}/sse`)
    expect(sse.endpoint).toMatch(/^\/messages\?sessionId=/)
    sse.close()
  })

  it('--server stream serves only /mcp: /sse is 404', async () => {
    const cli = await startCli(['--port', '0', '--log-format', 'json', '--server', 'stream', '--', 'node', ECHO, marker()])
    const sse = await fetch(`${cli.base}/sse`, { headers: { accept: 'text/event-stream' } })
    expect(sse.status).toBe(404)
    await sse.body?.cancel()
    const session = await initialize(`${cli.base}/mcp`)
    expect(await callTool(`${cli.base}/mcp`, session, 'echo', { text: 'stream' })).toBe('stream')
  })

  it('takes the camelCase --streamEndpoint and --sseEndpoint of the original', async () => {
    const cli = await startCli(['--port', '0', '--log-format', 'json', '--streamEndpoint', '/rpc', '--sseEndpoint', '/events', '--', 'node', ECHO, marker()])
    const session = await initialize(`${cli.base}/rpc`)
    expect(await callTool(`${cli.base}/rpc`, session, 'echo', { text: 'rpc' })).toBe('rpc')
    const old = await post(`${cli.base}/mcp`, { jsonrpc: '2.0', id: 1, method: 'ping' })
    expect(old.status).toBe(404)
    await old.body?.cancel()
    const sse = await openSse(`${cli.base}/events`)
    expect(sse.endpoint).toMatch(/^\/messages\?sessionId=/)
    sse.close()
  })

  it('--maxBodySize: a body above it gets 413, one below is served', async () => {
    const cli = await startCli(['--port', '0', '--log-format', 'json', '--maxBodySize', '2000', '--', 'node', ECHO, marker()])
    const session = await initialize(`${cli.base}/mcp`)
    const headers = { 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' }
    const big = await post(`${cli.base}/mcp`, { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'echo', arguments: { text: 'x'.repeat(3000) } } }, headers)
    expect(big.status).toBe(413)
    await big.body?.cancel()
    expect(await callTool(`${cli.base}/mcp`, session, 'echo', { text: 'x'.repeat(1000) })).toBe('x'.repeat(1000))
  })
})

describe('--api-key', () => {
  it('requires the key as X-API-Key or Bearer on /mcp, not on /ping (--apiKey alias)', async () => {
    const cli = await startCli(['--port', '0', '--log-format', 'json', '--apiKey', 'sekret-1', '--', 'node', ECHO, marker()])
    const without = await post(`${cli.base}/mcp`, { jsonrpc: '2.0', id: 1, method: 'ping' })
    // 403 naming the header, never 401 (which makes MCP clients start an OAuth login).
    expect(without.status).toBe(403)
    expect(without.headers.get('www-authenticate')).toBe('ApiKey realm="mcp-proxy", header="X-API-Key"')
    await without.body?.cancel()
    const wrong = await post(`${cli.base}/mcp`, { jsonrpc: '2.0', id: 1, method: 'ping' }, { 'x-api-key': 'sekret-2' })
    expect(wrong.status).toBe(403)
    await wrong.body?.cancel()
    const ping = await fetch(`${cli.base}/ping`)
    expect(ping.status).toBe(200)
    await ping.body?.cancel()
    const viaHeader = await initialize(`${cli.base}/mcp`, { 'x-api-key': 'sekret-1' })
    expect(await callTool(`${cli.base}/mcp`, viaHeader, 'echo', { text: 'x-api-key' }, { 'x-api-key': 'sekret-1' })).toBe('x-api-key')
    const viaBearer = await initialize(`${cli.base}/mcp`, { authorization: 'Bearer sekret-1' })
    expect(await callTool(`${cli.base}/mcp`, viaBearer, 'echo', { text: 'bearer' }, { authorization: 'Bearer sekret-1' })).toBe('bearer')
  })

  it('reads MCP_PROXY_API_KEY; an --api-key flag wins over it', async () => {
    const fromEnv = await startCli(['--port', '0', '--log-format', 'json', '--', 'node', ECHO, marker()], { env: { MCP_PROXY_API_KEY: 'env-key' } })
    expect((await post(`${fromEnv.base}/mcp`, { jsonrpc: '2.0', id: 1, method: 'ping' })).status).toBe(403)
    await initialize(`${fromEnv.base}/mcp`, { 'x-api-key': 'env-key' })

    const both = await startCli(['--port', '0', '--log-format', 'json', '--api-key', 'flag-key', '--', 'node', ECHO, marker()], { env: { MCP_PROXY_API_KEY: 'env-key' } })
    const envKey = await post(`${both.base}/mcp`, { jsonrpc: '2.0', id: 1, method: 'ping' }, { 'x-api-key': 'env-key' })
    expect(envKey.status).toBe(403)
    await envKey.body?.cancel()
    await initialize(`${both.base}/mcp`, { 'x-api-key': 'flag-key' })
  })
})

describe('--help and --version', () => {
  it('--help exits 0 and lists every flag with its environment variable', async () => {
    const { code, stdout, stderr } = await runCli(['--help'])
    expect(code).toBe(0)
    expect(stderr).toBe('')
    for (const flag of FLAGS) {
      expect(stdout).toContain(`--${flag.name}`)
      if (envNames(flag).length > 0) expect(stdout).toContain(envNames(flag)[0])
    }
    expect(stdout).toContain('MCP_PROXY_API_KEY')
  })

  it('--version prints the version, the commit and the Node version, and exits 0', async () => {
    const { code, stdout } = await runCli(['--version'])
    expect(code).toBe(0)
    expect(stdout).toMatch(/^mcp-proxy \d+\.\d+\.\d+\S* \(commit [^,\s]+,.*node v\d+\.\d+\.\d+/)
    expect(stdout).toContain(process.version)
  })
})

describe('logging', () => {
  it('--verbose and --debug write debug lines', async () => {
    for (const flag of ['--verbose', '--debug']) {
      const cli = await startCli(['--port', '0', '--log-format', 'json', flag, '--', 'node', ECHO, marker()])
      await initialize(`${cli.base}/mcp`)
      await waitFor(() => cli.logs().some((l) => l.level === 20), 5000, () => `a debug line with ${flag}`)
    }
  })

  it('without --verbose: info lines, no debug lines', async () => {
    const cli = await startCli(['--port', '0', '--log-format', 'json', '--', 'node', ECHO, marker()])
    await initialize(`${cli.base}/mcp`)
    expect(cli.logs().some((l) => l.level === 30)).toBe(true)
    expect(cli.logs().some((l) => l.level <= 20)).toBe(false)
  })

  it('--quiet writes no info lines', async () => {
    const port = await freePort()
    const cli = await startCli(['--port', String(port), '--log-format', 'json', '--quiet', '--', 'node', ECHO, marker()], { waitListening: false })
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/ping`).catch(() => undefined))?.status === 200, 10_000, () => `/ping; stderr:\n${cli.stderr()}`)
    const session = await initialize(`http://127.0.0.1:${port}/mcp`)
    expect(await callTool(`http://127.0.0.1:${port}/mcp`, session, 'stderr', { text: 'to the log' })).toBeTypeOf('string')
    expect(cli.logs().filter((l) => l.level < 50)).toEqual([])
  })
})

/** Open a legacy SSE stream and read its `endpoint` event. */
async function openSse(url: string): Promise<{ endpoint: string; close: () => void }> {
  const controller = new AbortController()
  const res = await fetch(url, { headers: { accept: 'text/event-stream' }, signal: controller.signal })
  expect(res.status).toBe(200)
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
  let text = ''
  for (;;) {
    const match = /event: endpoint\ndata: (.+)\n/.exec(text)
    if (match) return { endpoint: match[1]!, close: () => controller.abort() }
    const { value, done } = await reader.read()
    if (done) throw new Error(`SSE ended before the endpoint event: ${text}`)
    text += value
  }
}
