// The built CLI's drain, for rolling restarts behind a load balancer: SIGTERM (or POST /drain with the admin
// token) turns /ready 503 and new sessions away, lets open sessions and requests finish, then exits 0.
import { randomUUID } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { callTool, ECHO, environOf, exitOf, initialize, killAll, marker, messageOf, post, processesWith, startCli, waitFor, type Cli } from './helpers.js'

afterEach(killAll)

const INITIALIZE = { jsonrpc: '2.0', id: 'again', method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'late', version: '1' } } }

/** A 2026-07-28 request (the revision's `_meta` envelope and standard headers). */
function modernDiscover(base: string): Promise<Response> {
  const meta = {
    'io.modelcontextprotocol/protocolVersion': '2026-07-28',
    'io.modelcontextprotocol/clientInfo': { name: 'drain-test', version: '1' },
    'io.modelcontextprotocol/clientCapabilities': {},
  }
  return post(`${base}/mcp`, { jsonrpc: '2.0', id: 'discover', method: 'server/discover', params: { _meta: meta } }, { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'server/discover' })
}

async function ready(cli: Cli): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${cli.base}/ready`)
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

const drainedLine = (cli: Cli) => cli.logs().find((l) => /^drained|^drain timeout/.test(l.msg))

describe('drain (built CLI)', () => {
  it('SIGTERM: /ready 503 at once, new sessions 503 + Retry-After, the open session goes on; it ends → exit 0 long before the timeout', async () => {
    const tag = marker()
    const cli = await startCli(['--port', '0', '--log-format', 'json', '--instance-id', 'i7', '--drain-timeout', '20000', '--', 'node', ECHO, tag])
    const url = `${cli.base}/mcp`
    const session = await initialize(url)
    expect(session).toMatch(/^i7\./)
    expect(await ready(cli)).toMatchObject({ status: 200, body: { status: 'ready', instance: 'i7' } })

    cli.proc.kill('SIGTERM')
    await waitFor(() => cli.logs().some((l) => /^draining/.test(l.msg)), 5000, () => 'the "draining" line')
    expect(cli.logs().find((l) => /^draining/.test(l.msg))).toMatchObject({ reason: 'SIGTERM', sessions: 1, timeoutMs: 20000 })
    expect(await ready(cli)).toMatchObject({ status: 503, body: { status: 'draining', instance: 'i7' } })

    // A new session, on either transport, is sent away with a reason a balancer (retry-on 503) can act on.
    const late = await post(url, INITIALIZE)
    expect(late.status).toBe(503)
    expect(late.headers.get('retry-after')).toBe('1')
    expect(await messageOf(late)).toMatchObject({ id: 'again', error: { data: { reason: 'MCP_PROXY_DRAINING' } } })
    const sse = await fetch(`${cli.base}/sse`, { headers: { accept: 'text/event-stream' } })
    expect(sse.status).toBe(503)
    expect(sse.headers.get('retry-after')).toBe('1')
    await sse.body?.cancel()

    // The open session is served as before, and so is 2026-07-28 traffic (no session to wait for).
    expect(await callTool(url, session, 'echo', { text: 'still served' })).toBe('still served')
    const modern = await modernDiscover(cli.base)
    expect(modern.status).toBe(200)
    expect(await messageOf(modern)).toHaveProperty('result')
    expect(cli.proc.exitCode).toBeNull()

    // The client ends its session: nothing is left, the drain ends, the proxy shuts down normally.
    const closed = await fetch(url, { method: 'DELETE', headers: { 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' } })
    expect(closed.status).toBe(200)
    expect(await exitOf(cli, 10_000)).toBe(0)
    expect(drainedLine(cli)).toMatchObject({ outcome: 'idle', sessionsLeft: 0, requestsLeft: 0 })
    expect(drainedLine(cli)!.durationMs as number).toBeLessThan(20_000)
    await waitFor(() => processesWith(ECHO, tag).length === 0, 3000, () => 'no child left')
  })

  it('a second SIGTERM while draining exits at once (143)', async () => {
    const tag = marker()
    const cli = await startCli(['--port', '0', '--log-format', 'json', '--', 'node', ECHO, tag])
    await initialize(`${cli.base}/mcp`)
    cli.proc.kill('SIGTERM')
    await waitFor(() => cli.logs().some((l) => /^draining/.test(l.msg)), 5000, () => 'the "draining" line')
    cli.proc.kill('SIGTERM')
    expect(await exitOf(cli, 4000)).toBe(143)
    await waitFor(() => processesWith(ECHO, tag).length === 0, 3000, () => 'children killed on the way out')
  })

  it('stateless: a call in flight holds the drain; new requests (initialize too) are still served; it answers → exit 0', async () => {
    const tag = marker()
    const cli = await startCli(['--port', '0', '--log-format', 'json', '--verbose', '--stateless', '--drain-timeout', '20000', '--', 'node', ECHO, tag])
    const url = `${cli.base}/mcp`
    const slow = post(url, { jsonrpc: '2.0', id: 'slow', method: 'tools/call', params: { name: 'slow', arguments: { ms: 1500 } } }, { 'mcp-protocol-version': '2025-06-18' })
    await waitFor(() => cli.logs().some((l) => l.msg === 'client messages' && l.requests === 1), 5000, () => 'the slow call to reach the proxy')
    cli.proc.kill('SIGTERM')
    await waitFor(() => cli.logs().some((l) => /^draining/.test(l.msg)), 5000, () => 'the "draining" line')
    expect(cli.logs().find((l) => /^draining/.test(l.msg))).toMatchObject({ sessions: 0, requests: 1 })
    expect((await ready(cli)).status).toBe(503)
    const init = await post(url, INITIALIZE)
    expect(init.status).toBe(200)
    await init.text()
    const answer = await slow
    expect(answer.status).toBe(200)
    expect(await messageOf(answer)).toHaveProperty('result')
    expect(await exitOf(cli, 10_000)).toBe(0)
    expect(drainedLine(cli)).toMatchObject({ outcome: 'idle' })
  })

  it('POST /drain needs the admin token (not the API key); with it: 202, the drain runs, then exit 0; the token never reaches the child', async () => {
    const tag = marker()
    const admin = `admin-${randomUUID()}`
    const key = `key-${randomUUID()}`
    const cli = await startCli(['--port', '0', '--log-format', 'json', '--api-key', key, '--', 'node', ECHO, tag], { env: { MCP_PROXY_ADMIN_TOKEN: admin } })
    const url = `${cli.base}/mcp`
    const session = await initialize(url, { 'x-api-key': key })
    for (const pid of processesWith(ECHO, tag)) expect(Object.values(environOf(pid)).filter((v) => v.includes(admin))).toEqual([])

    for (const authorization of [undefined, 'Bearer wrong', `Bearer ${key}`]) {
      // A body is sent and never read: the token is checked before it.
    const refused = await fetch(`${cli.base}/drain`, { method: 'POST', headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) }, body: 'not json' })
      expect(refused.status).toBe(401)
      expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer/)
      expect(((await refused.json()) as { error: { data: { reason: string } } }).error.data.reason).toBe('MCP_PROXY_ADMIN_UNAUTHORIZED')
    }
    expect((await ready(cli)).status).toBe(200)

    const accepted = await fetch(`${cli.base}/drain`, { method: 'POST', headers: { authorization: `Bearer ${admin}` } })
    expect(accepted.status).toBe(202)
    expect(await accepted.json()).toMatchObject({ status: 'draining', started: true, sessions: 1 })
    const again = await fetch(`${cli.base}/drain`, { method: 'POST', headers: { authorization: `Bearer ${admin}` } })
    expect(await again.json()).toMatchObject({ status: 'draining', started: false })
    expect((await ready(cli)).status).toBe(503)
    expect(cli.logs().some((l) => JSON.stringify(l).includes(admin))).toBe(false)

    // The orchestrator's SIGTERM that follows is a first signal: it waits for the drain, it does not cut it.
    cli.proc.kill('SIGTERM')
    await waitFor(() => cli.logs().some((l) => /^SIGTERM: a drain is already running/.test(l.msg)), 5000, () => 'the SIGTERM line')
    expect(await callTool(url, session, 'echo', { text: 'after SIGTERM' }, { 'x-api-key': key })).toBe('after SIGTERM')

    await fetch(url, { method: 'DELETE', headers: { 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18', 'x-api-key': key } })
    expect(await exitOf(cli, 10_000)).toBe(0)
    expect(drainedLine(cli)).toMatchObject({ reason: 'POST /drain', outcome: 'idle' })
  })

  it('without --admin-token there is no /drain route', async () => {
    const cli = await startCli(['--port', '0', '--log-format', 'json', '--', 'node', ECHO, marker()])
    const res = await fetch(`${cli.base}/drain`, { method: 'POST', headers: { authorization: 'Bearer anything' } })
    expect(res.status).toBe(404)
    expect((await ready(cli)).status).toBe(200)
  })

  it('--drain-timeout 0: SIGTERM shuts down at once, open sessions included', async () => {
    const cli = await startCli(['--port', '0', '--log-format', 'json', '--drain-timeout', '0', '--', 'node', ECHO, marker()])
    await initialize(`${cli.base}/mcp`)
    cli.proc.kill('SIGTERM')
    expect(await exitOf(cli, 8000)).toBe(0)
    expect(drainedLine(cli)).toMatchObject({ outcome: 'timeout', sessionsLeft: 1 })
  })
})
