// `/metrics` (plugin option `metrics`): known traffic through real children, then one scrape whose exact
// counter values are asserted, and whose text a real Prometheus parser accepts (`promtool check metrics`,
// from Debian's `prometheus` package; `.ci/run` installs it).
import { spawnSync } from 'node:child_process'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { Tap } from '@proxy/core'
import { initialize, messagesOf, post as postHttp, rawRequest, rawSocket, textOf, toolCall, waitFor } from './failure-helpers.js'
import { buildApp, listen } from './helpers.js'
import { answersOf, echoCall, initializeRequest, initSession, parseSse, post, rpcNotification, rpcRequest, within } from './http-helpers.js'

const KEY = 'metrics-test-key'
const AUTH = { 'x-api-key': KEY }

/** One sample of the scrape: `name{label="value",…}` → value (labels sorted by name). */
type Samples = Map<string, number>

/** Read the samples of a Prometheus text exposition (comments skipped; label values have no escapes here). */
function samplesOf(text: string): Samples {
  const samples: Samples = new Map()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!match) throw new Error(`not a sample line: ${line}`)
    const labels = [...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map(([, k, v]) => `${k}="${v}"`).sort()
    samples.set(labels.length ? `${match[1]}{${labels.join(',')}}` : match[1]!, Number(match[3]))
  }
  return samples
}

/** The key of a sample, labels given in any order. */
function series(name: string, labels: Record<string, string> = {}): string {
  const parts = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
  return parts.length ? `${name}{${parts.join(',')}}` : name
}

async function scrape(app: FastifyInstance, headers: Record<string, string> = AUTH): Promise<{ res: LightMyRequestResponse; samples: Samples }> {
  const res = await app.inject({ method: 'GET', url: '/metrics', headers })
  expect(res.statusCode, res.body).toBe(200)
  return { res, samples: samplesOf(res.body) }
}

/** Scrape until `ready` holds (the end of a child is reported when its process is gone). */
async function scrapeUntil(app: FastifyInstance, ready: (samples: Samples) => boolean, what: string): Promise<{ res: LightMyRequestResponse; samples: Samples }> {
  return within(
    (async () => {
      for (;;) {
        const scraped = await scrape(app)
        if (ready(scraped.samples)) return scraped
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    })(),
    what,
    5000,
  )
}

const PROMTOOL = spawnSync('promtool', ['--version']).status === 0
/** The lint promtool reports on prom-client's default metrics: gauges whose names end in _total. */
const PROM_CLIENT_LINT = /^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/

/** `promtool check metrics` on a scrape: its exit status and what it said. */
function promtoolCheck(text: string): { status: number | null; output: string } {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' })
  return { status: run.status, output: `${run.stdout}${run.stderr}` }
}

/** UTF-8 bytes of a JSON body as `post` sends it. */
const size = (body: unknown): number => Buffer.byteLength(JSON.stringify(body))

afterEach(() => {
  vi.restoreAllMocks()
})

describe('/metrics (plugin option `metrics`)', () => {
  it('counts known traffic exactly: operations by method, tool and error type, sessions, children, a crash, a 403 (no API key), a 404 and a 413; promtool accepts the text', async () => {
    // No warm children: every child is spawned by an initialize, so the counts are exact.
    const app = await buildApp({ metrics: true, apiKey: KEY, maxBodySize: 4096, warmChildren: 0 })
    let bytesIn = 0
    let bytesOut = 0
    const send = async (body: unknown, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> => {
      const res = await post(app, body, { ...AUTH, ...headers })
      bytesIn += size(body)
      // Answers come as SSE streams (no jsonResponse); a 202 to a notification carries no MCP answer.
      if (String(res.headers['content-type']).startsWith('text/event-stream')) bytesOut += Buffer.byteLength(res.body)
      return res
    }

    // Session A: two echo calls, a call of a tool that does not exist (a tool error), an unknown method, a ping.
    const a = await send(initializeRequest(1))
    const sessionA = String(a.headers['mcp-session-id'])
    const inA = { 'mcp-session-id': sessionA }
    expect((await send(rpcNotification('notifications/initialized'), inA)).statusCode).toBe(202)
    expect(answersOf(await send(echoCall(2, 'one'), inA)).at(-1)).toMatchObject({ id: 2, result: {} })
    expect(answersOf(await send(echoCall(3, 'two'), inA)).at(-1)).toMatchObject({ id: 3, result: {} })
    expect(answersOf(await send(rpcRequest(4, 'tools/call', { name: 'nope', arguments: {} }), inA)).at(-1)).toMatchObject({ id: 4, result: { isError: true } })
    expect(answersOf(await send(rpcRequest(5, 'no/such-method'), inA)).at(-1)).toMatchObject({ id: 5, error: { code: -32601 } })
    expect(answersOf(await send(rpcRequest(6, 'ping'), inA)).at(-1)).toMatchObject({ id: 6, result: {} })

    // Session B: its child crashes on a call (exit code 5), which ends the session.
    const b = await send(initializeRequest(1))
    const inB = { 'mcp-session-id': String(b.headers['mcp-session-id']) }
    expect(answersOf(await send(rpcRequest(2, 'tools/call', { name: 'crash', arguments: { code: 5 } }), inB)).at(-1)).toMatchObject({ id: 2, error: {} })

    // Refusals: no API key (403, the body is never read), an unknown session (404), a body over the limit (413).
    expect((await post(app, echoCall(7, 'x'), inA)).statusCode).toBe(403)
    const unknown = await send(rpcRequest(8, 'ping'), { 'mcp-session-id': 'no-such-session' })
    expect(unknown.statusCode).toBe(404)
    expect((await post(app, echoCall(9, 'x'.repeat(5000)), { ...AUTH, ...inA })).statusCode).toBe(413)

    const { res, samples } = await scrapeUntil(app, (s) => s.get(series('mcp_proxy_children_exited_total', { role: 'session', reason: 'code' })) === 1 && s.get(series('mcp_proxy_sessions_open', { transport: 'streamable', era: 'legacy' })) === 1, 'the crashed session to end')
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8')
    const value = (name: string, labels?: Record<string, string>): number | undefined => samples.get(series(name, labels))

    // The OpenTelemetry MCP operation histogram: one series per method, tool and error type.
    const operations = (labels: Record<string, string>): number | undefined => value('mcp_server_operation_duration_seconds_count', labels)
    expect(operations({ mcp_method_name: 'initialize', gen_ai_tool_name: '', error_type: '' })).toBe(2)
    expect(operations({ mcp_method_name: 'tools/call', gen_ai_tool_name: 'echo', error_type: '' })).toBe(2)
    // A name becomes a label value only through a call that worked: calls to an unknown tool, or one that
    // only ever failed, are `other` (a client cannot use up the bounded set with made-up names).
    expect(operations({ mcp_method_name: 'tools/call', gen_ai_tool_name: 'other', error_type: 'tool_error' })).toBe(1)
    expect(operations({ mcp_method_name: 'tools/call', gen_ai_tool_name: 'other', error_type: 'child_gone' })).toBe(1)
    expect(operations({ mcp_method_name: 'tools/call', gen_ai_tool_name: 'nope', error_type: 'tool_error' })).toBeUndefined()
    expect(operations({ mcp_method_name: 'other', gen_ai_tool_name: '', error_type: '-32601' })).toBe(1)
    expect(operations({ mcp_method_name: 'ping', gen_ai_tool_name: '', error_type: '' })).toBe(1)
    // Nothing else was observed: refused requests are not operations.
    const observed = [...samples].filter(([key]) => key.startsWith('mcp_server_operation_duration_seconds_count{'))
    expect(observed.reduce((sum, [, n]) => sum + n, 0)).toBe(8)
    expect(value('mcp_server_operation_duration_seconds_bucket', { mcp_method_name: 'ping', gen_ai_tool_name: '', error_type: '', le: '+Inf' })).toBe(1)
    // The advised buckets of the conventions, in seconds.
    const buckets = [...samples.keys()].filter((key) => key.startsWith('mcp_server_operation_duration_seconds_bucket{') && key.includes('mcp_method_name="ping"')).map((key) => /le="([^"]+)"/.exec(key)![1])
    expect(buckets.sort((x, y) => Number(x) - Number(y))).toEqual(['0.01', '0.02', '0.05', '0.1', '0.2', '0.5', '1', '2', '5', '10', '30', '60', '120', '300', '+Inf'])

    // Sessions: A is open, B ended with its child.
    expect(value('mcp_proxy_sessions_open', { transport: 'streamable', era: 'legacy' })).toBe(1)
    expect(value('mcp_server_session_duration_seconds_count', { transport: 'streamable' })).toBe(1)
    expect(value('mcp_proxy_requests_in_flight')).toBe(0)
    expect(value('mcp_proxy_sse_streams_open', { kind: 'post' })).toBe(0)

    // Children: two spawned, one running, one ended on its own with an exit code after its initialize.
    expect(value('mcp_proxy_children_spawned_total', { role: 'session' })).toBe(2)
    expect(value('mcp_proxy_children_running', { role: 'session' })).toBe(1)
    expect(value('mcp_proxy_children_exited_total', { role: 'session', reason: 'code' })).toBe(1)
    expect([...samples.keys()].filter((key) => key.startsWith('mcp_proxy_children_exited_total{'))).toHaveLength(1)
    expect(value('mcp_proxy_child_spawn_failures_total', { role: 'session' })).toBeUndefined()

    // Refusals by stable reason and status; every other known reason is at 0.
    expect(value('mcp_proxy_refusals_total', { reason: 'MCP_PROXY_API_KEY_REQUIRED', status: '403' })).toBe(1)
    expect(value('mcp_proxy_refusals_total', { reason: 'MCP_PROXY_UNKNOWN_SESSION', status: '404' })).toBe(1)
    expect(value('mcp_proxy_refusals_total', { reason: 'MCP_PROXY_BODY_TOO_LARGE', status: '413' })).toBe(1)
    expect(value('mcp_proxy_refusals_total', { reason: 'MCP_PROXY_SESSION_LIMIT', status: '503' })).toBe(0)
    const refusals = [...samples].filter(([key]) => key.startsWith('mcp_proxy_refusals_total{'))
    expect(refusals.reduce((sum, [, n]) => sum + n, 0)).toBe(3)

    // Bytes: every body read (not the 403's nor the 413's), every SSE answer written.
    expect(value('mcp_proxy_bytes_total', { direction: 'in' })).toBe(bytesIn)
    expect(value('mcp_proxy_bytes_total', { direction: 'out' })).toBe(bytesOut)
    expect(value('mcp_proxy_events_dropped_total', { why: 'slow_client' })).toBe(0)
    expect(value('mcp_proxy_event_store_evictions_total')).toBe(0)

    // The process_* and nodejs_* defaults.
    expect(value('process_cpu_user_seconds_total')).toBeGreaterThan(0)
    expect([...samples.keys()].some((key) => key.startsWith('nodejs_heap_size_used_bytes'))).toBe(true)

    if (!PROMTOOL) return console.warn('promtool is not installed (apt-get install prometheus): the text-format check is skipped here; .ci/run installs it')
    const check = promtoolCheck(res.body)
    // Status 1 is a parse error. Status 3 is lint only, accepted for prom-client's own default gauges
    // named *_total (not ours to rename); every metric of the proxy passes the linter.
    const problems = check.output.split('\n').filter((line) => line !== '')
    expect(problems.filter((line) => !PROM_CLIENT_LINT.test(line))).toEqual([])
    expect(check.status).toBe(problems.length === 0 ? 0 : 3)
  })

  it('a child that ends before it answers initialize is a crash before initialize; the client gets an error', async () => {
    const app = await buildApp({ metrics: true, warmChildren: 0, args: ['-e', 'process.exit(3)'] })
    const res = await post(app, initializeRequest(1))
    expect(JSON.stringify(answersOf(res))).toContain('"error"')
    const { samples } = await scrapeUntil(app, (s) => s.has(series('mcp_proxy_children_exited_total', { role: 'session', reason: 'crash_before_initialize' })), 'the exit')
    expect(samples.get(series('mcp_proxy_children_exited_total', { role: 'session', reason: 'crash_before_initialize' }))).toBe(1)
    expect(samples.get(series('mcp_server_operation_duration_seconds_count', { mcp_method_name: 'initialize', gen_ai_tool_name: '', error_type: 'child_gone' }))).toBe(1)
    expect(samples.get(series('mcp_proxy_children_running', { role: 'session' }))).toBe(0)
  })

  it('stateless: a shared child that ends during the proxy\'s own initialize is a crash before initialize', async () => {
    let registry: { metrics(): Promise<string> } | undefined
    const start = buildApp({ metrics: true, stateless: true, args: ['-e', 'process.exit(3)'], onMetricsRegistry: (r) => (registry = r) })
    await expect(start).rejects.toThrow()
    const samples = samplesOf(await registry!.metrics())
    expect(samples.get(series('mcp_proxy_children_exited_total', { role: 'shared', reason: 'crash_before_initialize' }))).toBe(1)
    expect(samples.get(series('mcp_proxy_children_exited_total', { role: 'shared', reason: 'code' }))).toBeUndefined()
  })

  it('stateless: the shared child crashes, is restarted, and comes back', async () => {
    const app = await buildApp({ metrics: true, stateless: true })
    expect((await post(app, initializeRequest(1))).statusCode).toBe(200)
    const res = await post(app, rpcRequest(2, 'tools/call', { name: 'crash', arguments: { code: 4 } }))
    expect(answersOf(res).at(-1)).toMatchObject({ id: 2, error: {} })
    const { samples } = await scrapeUntil(app, (s) => s.get(series('mcp_proxy_children_running', { role: 'shared' })) === 1 && s.get(series('mcp_proxy_children_spawned_total', { role: 'shared' })) === 2, 'the restart')
    expect(samples.get(series('mcp_proxy_child_restarts_total', { role: 'shared' }))).toBe(1)
    expect(samples.get(series('mcp_proxy_children_exited_total', { role: 'shared', reason: 'code' }))).toBe(1)
    // The client's initialize is answered from the shared handshake: the proxy's own is no client operation.
    expect(samples.get(series('mcp_server_operation_duration_seconds_count', { mcp_method_name: 'initialize', gen_ai_tool_name: '', error_type: '' }))).toBeUndefined()
    expect(samples.get(series('mcp_server_operation_duration_seconds_count', { mcp_method_name: 'tools/call', gen_ai_tool_name: 'other', error_type: 'child_gone' }))).toBe(1)
  })

  it('a slow client: its GET stream is counted while open, then cut, and what it had not read counts as dropped', async () => {
    const { app, base } = await listen({ metrics: true, maxQueuedBytes: 65_536, jsonResponse: true, eventStoreMaxEvents: 5000, eventStoreMaxBytes: 32 * 1024 * 1024 })
    const port = Number(new URL(base).port)
    const session = await initialize(base)
    // A GET stream whose reader stops reading once the head is in.
    const socket = await rawSocket(port)
    let closed = false
    socket.on('error', () => {})
    socket.once('close', () => (closed = true))
    const head = new Promise<void>((resolve) => socket.once('data', () => resolve()))
    socket.write(rawRequest('GET', '/mcp', port, { accept: 'text/event-stream', 'mcp-session-id': session })[0]!)
    await within(head, 'the head of the GET stream')
    socket.pause()
    // A call in flight, so the log notifications of the next call go to the GET stream.
    postHttp(base, toolCall(99, 'slow', { ms: 30_000 }), { session }).catch(() => {})
    const during = await scrapeUntil(app, (s) => s.get('mcp_proxy_requests_in_flight') === 1, 'the slow call to be in flight')
    expect(during.samples.get(series('mcp_proxy_sse_streams_open', { kind: 'get' }))).toBe(1)

    // 12 MB of log notifications: more than the kernel buffers of a loopback connection hold. Once the GET
    // stream is cut, the rest go to this call's own stream, under the same bound: a reader in this busy test
    // process may fall behind and be cut too, and then its answer never comes (the call still ends).
    const logged = await postHttp(base, toolCall(1, 'log', { count: 3000, message: 'x'.repeat(4000) }), { session })
    expect(logged.status).toBe(200)
    const answer = (await messagesOf(logged, 10_000).catch(() => [])).find((m) => m.id === 1)
    if (answer) expect(textOf(answer)).toBe('logged')
    socket.resume()
    await waitFor(() => closed, 'the slow socket to be closed')
    const { samples } = await scrapeUntil(app, (s) => s.get('mcp_proxy_requests_in_flight') === 1, 'the log call to end')
    expect(samples.get(series('mcp_proxy_sse_streams_open', { kind: 'get' }))).toBe(0)
    expect(samples.get(series('mcp_proxy_events_dropped_total', { why: 'slow_client' }))).toBeGreaterThanOrEqual(1)
    expect(samples.get(series('mcp_proxy_events_dropped_bytes_total', { why: 'slow_client' }))).toBeGreaterThan(65_536)
  }, 15_000)

  it('counts what a session\'s event store evicts', async () => {
    const app = await buildApp({ metrics: true, eventStoreMaxEvents: 2 })
    const { sessionId, initialize } = await initSession(app)
    const answers = [initialize]
    for (const id of [2, 3, 4]) answers.push(await post(app, echoCall(id, 'e'), { 'mcp-session-id': sessionId }))
    // Every event with an id was stored; the store keeps the last two.
    const stored = answers.flatMap((res) => parseSse(res.body)).filter((event) => event.id !== undefined).length
    expect(stored).toBeGreaterThan(2)
    const { samples } = await scrape(app, {})
    expect(samples.get('mcp_proxy_event_store_evictions_total')).toBe(stored - 2)
    expect(samples.get('mcp_proxy_event_store_evicted_bytes_total')).toBeGreaterThan(0)
  })

  it('is behind the API key unless metricsPublic; tool names can be left out', async () => {
    const guarded = await buildApp({ metrics: true, apiKey: KEY })
    expect((await guarded.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(403)
    expect((await guarded.inject({ method: 'GET', url: '/metrics', headers: AUTH })).statusCode).toBe(200)

    const open = await buildApp({ metrics: true, metricsPublic: true, metricsToolNames: false, apiKey: KEY })
    const { sessionId } = await initSession(open, { headers: AUTH })
    await post(open, echoCall(2, 'x'), { ...AUTH, 'mcp-session-id': sessionId })
    const { samples } = await scrape(open, {})
    expect(samples.get(series('mcp_server_operation_duration_seconds_count', { mcp_method_name: 'tools/call', gen_ai_tool_name: '', error_type: '' }))).toBe(1)
    // The MCP endpoint itself still needs the key.
    expect((await post(open, echoCall(3, 'x'), { 'mcp-session-id': sessionId })).statusCode).toBe(403)
  })

  it('two plugin instances in one process keep their own registries', async () => {
    const one = await buildApp({ metrics: true, warmChildren: 0 })
    const two = await buildApp({ metrics: true, warmChildren: 0 })
    await initSession(one)
    const first = await scrape(one, {})
    const second = await scrape(two, {})
    expect(first.samples.get(series('mcp_proxy_children_spawned_total', { role: 'session' }))).toBe(1)
    expect(second.samples.get(series('mcp_proxy_children_spawned_total', { role: 'session' }))).toBeUndefined()
  })

  it('metricsPath false: nothing served, the registry is handed over', async () => {
    let handed: { metrics(): Promise<string> } | undefined
    const app = await buildApp({ metrics: true, metricsPath: false, onMetricsRegistry: (registry) => (handed = registry) })
    expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(404)
    expect(await handed!.metrics()).toContain('mcp_proxy_requests_in_flight 0')
  })

  it('off by default: no /metrics route and no tap listener', async () => {
    const subscribe = vi.spyOn(Tap.prototype, 'subscribe')
    const app = await buildApp()
    await initSession(app)
    expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(404)
    expect(subscribe).not.toHaveBeenCalled()
  })

  it('refuses metrics settings without metrics', async () => {
    await expect(buildApp({ metricsPublic: true })).rejects.toThrow(/metricsPublic needs metrics/)
  })
})
