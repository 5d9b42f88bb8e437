// The 2026-07-28 ("modern") leg over real HTTP, through the real plugin and real child processes: the ladder
// one rung at a time, the shape of answers (JSON until progress or a permitted log, then SSE), the
// translations a client sees, Mcp-Param-* checks, cancellation on close, the modern child's life beside the
// 2025 leg, and the option that turns the leg off. The echo fixture lets a test watch the child (`received`,
// `whoami`, run through `fixture/call` so they never count as a tools/call) and hold requests open without a
// timer (`linger`, `gate`, `hold`); see fixtures/README.md. The classifier's table cell by cell is
// modern-classify.test.ts; `subscriptions/listen` is modern-listen.test.ts.
import type { FastifyInstance } from 'fastify'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { describe, expect, it } from 'vitest'
import {
  alive,
  initialize,
  listenLogged,
  post,
  request,
  SseReader,
  textOf,
  waitFor,
  within,
  type LoggedApp,
  type Message,
} from './failure-helpers.js'
import {
  CLIENT_CAPABILITIES_KEY,
  CLIENT_INFO_KEY,
  ECHO_SERVER_INFO,
  exchange,
  expectModernError,
  fixtureCall,
  LOG_LEVEL_KEY,
  MODERN,
  modernCall,
  modernReport,
  modernRequest,
  postModern,
  PROTOCOL_VERSION_KEY,
  readAnswer,
  resultOf,
  SERVER_INFO_KEY,
  textOfAnswer,
} from './modern-helpers.js'

const HEADER_MISMATCH = -32020
const UNSUPPORTED_VERSION = -32022
const INVALID_PARAMS = -32602
const METHOD_NOT_FOUND = -32601
const SERVER_ERROR = -32000

/** What the child of the modern leg was told at initialize, and its pid (the fixture's `whoami`). */
interface WhoAmI {
  clientInfo: { name: string; version: string }
  protocolVersion: string
  capabilities: Record<string, unknown>
  pid: number
}

/** `whoami` on the modern child. */
async function modernWhoAmI(base: string): Promise<WhoAmI> {
  return JSON.parse(textOfAnswer(await exchange(base, fixtureCall('who', 'whoami'))) ?? '') as WhoAmI
}

/** What the modern child has received of `method` (the fixture's `received`). */
async function modernReceived(base: string, method: string): Promise<Array<Record<string, unknown> | null>> {
  return JSON.parse(textOfAnswer(await exchange(base, fixtureCall('received', 'received', { method }))) ?? '') as Array<Record<string, unknown> | null>
}

/** The same on a 2025 session's child. */
async function sessionReceived(base: string, session: string, method: string): Promise<Array<Record<string, unknown> | null>> {
  const answer = await request(base, session, { jsonrpc: '2.0', id: 'received', method: 'tools/call', params: { name: 'received', arguments: { method } } })
  return JSON.parse(textOf(answer) ?? '') as Array<Record<string, unknown> | null>
}

/**
 * Resolves once the server has closed the response of the request tagged `x-test-tag: <tag>` and every
 * listener of that close has run (the proxy's among them). Call it before sending the request.
 */
function responseClosed(app: FastifyInstance, tag: string): Promise<void> {
  return within(
    new Promise<void>((resolve) => {
      const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
        if (req.headers['x-test-tag'] !== tag) return
        app.server.off('request', onRequest)
        res.once('close', () => setImmediate(resolve))
      }
      app.server.on('request', onRequest)
    }),
    `the close of the response tagged ${tag}`,
  )
}

/**
 * Resolves once the server has read the whole body of the request tagged `x-test-tag: <tag>` and the turn of
 * the event loop that hands it to the route has run: the route's synchronous work and promise callbacks are
 * done by then (nothing in between waits for I/O). Call it before sending the request.
 */
function requestRead(app: FastifyInstance, tag: string): Promise<void> {
  return within(
    new Promise<void>((resolve) => {
      const onRequest = (req: IncomingMessage): void => {
        if (req.headers['x-test-tag'] !== tag) return
        app.server.off('request', onRequest)
        req.once('end', () => setImmediate(() => setImmediate(resolve)))
      }
      app.server.on('request', onRequest)
    }),
    `the body of the request tagged ${tag}`,
  )
}

/** Wait until `count` `linger` calls reached the child; the child's ids of them, from their stderr lines `linger "<id>"`. */
function lingering(proxy: LoggedApp, count = 1): Promise<string[]> {
  return waitFor(() => {
    const ids = proxy.logs.flatMap((line) => {
      const match = typeof line.stderr === 'string' ? /^linger (.+)$/.exec(line.stderr) : null
      return match ? [JSON.parse(match[1]!) as string] : []
    })
    return ids.length >= count ? ids : undefined
  }, `${count} linger call(s) at the child`)
}

describe('the ladder over HTTP', () => {
  it('a claim of another revision: 400 -32022 listing the revision served and the one asked for', async () => {
    const { base } = await listenLogged()
    const body = modernRequest('v-1', 'tools/list', {}, { meta: { [PROTOCOL_VERSION_KEY]: '2099-01-01' } })
    const error = expectModernError(await exchange(base, body, { 'mcp-protocol-version': '2099-01-01' }), 400, UNSUPPORTED_VERSION, 'v-1')
    expect(error.data).toEqual({ supported: [MODERN], requested: '2099-01-01' })
  })

  const headerCases: Array<{ name: string; message: Message; headers: Record<string, string | undefined> }> = [
    { name: 'MCP-Protocol-Version missing', message: modernRequest('h', 'tools/list'), headers: { 'mcp-protocol-version': undefined } },
    { name: 'MCP-Protocol-Version unlike the claim', message: modernRequest('h', 'tools/list'), headers: { 'mcp-protocol-version': '2025-11-25' } },
    { name: 'Mcp-Method missing', message: modernRequest('h', 'tools/list'), headers: { 'mcp-method': undefined } },
    { name: 'Mcp-Method unlike the method', message: modernRequest('h', 'tools/list'), headers: { 'mcp-method': 'prompts/list' } },
    { name: 'Mcp-Name missing on tools/call', message: modernCall('h', 'echo', { text: 'x' }), headers: { 'mcp-name': undefined } },
    { name: 'Mcp-Name unlike params.name', message: modernCall('h', 'echo', { text: 'x' }), headers: { 'mcp-name': 'add' } },
    { name: 'Mcp-Name unlike params.uri', message: modernRequest('h', 'resources/read', { uri: 'test://static' }), headers: { 'mcp-name': 'test://other' } },
  ]
  it.each(headerCases)('$name: 400 -32020, the id echoed', async ({ message, headers }) => {
    const { base } = await listenLogged()
    expectModernError(await exchange(base, message, headers), 400, HEADER_MISMATCH, 'h')
  })

  it('an invalid envelope: 400 -32602 naming the key', async () => {
    const { base } = await listenLogged()
    const noCapabilities = modernRequest(7, 'tools/list', {}, { meta: { [CLIENT_CAPABILITIES_KEY]: undefined } })
    expect(expectModernError(await exchange(base, noCapabilities), 400, INVALID_PARAMS, 7).data).toEqual({ envelope: CLIENT_CAPABILITIES_KEY })
    const loud = modernRequest(8, 'tools/list', {}, { logLevel: 'loud' })
    expect(expectModernError(await exchange(base, loud), 400, INVALID_PARAMS, 8).data).toEqual({ envelope: LOG_LEVEL_KEY })
    const badInfo = modernRequest(9, 'tools/list', {}, { meta: { [CLIENT_INFO_KEY]: { name: 'no version' } } })
    expect(expectModernError(await exchange(base, badInfo), 400, INVALID_PARAMS, 9).data).toEqual({ envelope: `${CLIENT_INFO_KEY}.version` })
  })

  it('an Accept without both types: 406, the id echoed', async () => {
    const { base } = await listenLogged()
    for (const accept of ['application/json', 'text/event-stream', 'text/html']) {
      expectModernError(await exchange(base, modernRequest('a', 'tools/list'), { accept }), 406, SERVER_ERROR, 'a')
    }
    // Wildcards count, as on the 2025 leg.
    resultOf(await exchange(base, modernRequest('a', 'tools/list'), { accept: '*/*' }))
  })

  it('the methods 2026-07-28 removed: 404 -32601 from the proxy; the child never sees them', async () => {
    const { base } = await listenLogged()
    const removed: Array<[string, Record<string, unknown>]> = [
      ['initialize', { protocolVersion: MODERN, capabilities: {}, clientInfo: { name: 'x', version: '1' } }],
      ['ping', {}],
      ['logging/setLevel', { level: 'debug' }],
      ['resources/subscribe', { uri: 'test://static' }],
      ['resources/unsubscribe', { uri: 'test://static' }],
      ['tasks/get', { taskId: 't' }],
      ['tasks/list', {}],
    ]
    for (const [method, params] of removed) {
      expectModernError(await exchange(base, modernRequest(`removed ${method}`, method, params)), 404, METHOD_NOT_FOUND, `removed ${method}`)
    }
    for (const method of ['ping', 'logging/setLevel', 'resources/subscribe', 'resources/unsubscribe', 'tasks/get', 'tasks/list']) {
      expect(await modernReceived(base, method), method).toEqual([])
    }
    // The one initialize the child saw is the proxy's own, at 2025-11-25.
    const initializes = await modernReceived(base, 'initialize')
    expect(initializes).toHaveLength(1)
    expect(initializes[0]).toMatchObject({ protocolVersion: '2025-11-25', clientInfo: { name: 'mcp-proxy' } })
  })

  it('a -32601 of a tools/call on a server that has tools is an error of the call (200), never a 404; other errors are in-band with 200', async () => {
    const { base } = await listenLogged()
    // The server advertises tools: the method exists, whatever a tool's handler answered.
    const early = await exchange(base, modernCall('early', 'fail', { code: METHOD_NOT_FOUND }))
    expect(early.status).toBe(200)
    expect(early.answer).toMatchObject({ id: 'early', error: { code: METHOD_NOT_FOUND } })
    const late = await exchange(base, modernCall('late', 'fail', { code: METHOD_NOT_FOUND }, { meta: { progressToken: 'late' } }))
    expect(late.status).toBe(200)
    expect(late.kind).toBe('sse')
    expect(late.notifications.map((n) => n.method)).toEqual(['notifications/progress'])
    expect(late.answer).toMatchObject({ id: 'late', error: { code: METHOD_NOT_FOUND } })
    const internal = await exchange(base, modernCall('internal', 'fail', { code: -32603, message: 'broken' }))
    expect(internal.status).toBe(200)
    expect(internal.kind).toBe('json')
    expect(internal.answer).toEqual({ jsonrpc: '2.0', id: 'internal', error: { code: -32603, message: 'broken' } })
  })

  it('the MCP server cannot be initialized: 503 with Retry-After, the id echoed', async () => {
    const { base } = await listenLogged({ fixture: 'no-init-server', initializeTimeout: 200 })
    const answer = await exchange(base, modernCall('early', 'echo', { text: 'x' }))
    expectModernError(answer, 503, SERVER_ERROR, 'early')
    expect(answer.headers.get('retry-after')).toBe('2')
  })

  it("a method the child does not know: its -32601 becomes a 404, the id echoed", async () => {
    const { base } = await listenLogged()
    expectModernError(await exchange(base, modernRequest('vendor-1', 'vendor/unknown')), 404, METHOD_NOT_FOUND, 'vendor-1')
    // The child did get it (the 404 is its answer, not a proxy refusal).
    expect(await modernReceived(base, 'vendor/unknown')).toHaveLength(1)
  })
})

describe('a modern request has no session', () => {
  it('no Mcp-Session-Id on any modern answer: JSON, SSE or a refusal', async () => {
    const { base } = await listenLogged()
    const json = await exchange(base, modernCall(1, 'echo', { text: 'x' }))
    expect(json.kind).toBe('json')
    const sse = await exchange(base, modernCall(2, 'progress', { steps: 1, ms: 1 }, { meta: { progressToken: 'p' } }))
    expect(sse.kind).toBe('sse')
    const refused = await exchange(base, modernRequest(3, 'ping'))
    expect(refused.status).toBe(404)
    for (const answer of [json, sse, refused]) expect(answer.headers.get('mcp-session-id')).toBeNull()
  })

  it('a Mcp-Session-Id or Last-Event-ID sent with a modern request is ignored', async () => {
    const { base } = await listenLogged()
    const session = await initialize(base)
    const headers = { 'mcp-session-id': 'no-such-session', 'last-event-id': 'no-such-event' }
    expect(textOfAnswer(await exchange(base, modernCall(1, 'echo', { text: 'still answered' }), headers))).toBe('still answered')
    // Even a live session's id does not send a modern request to that session's child.
    const sessionPid = (JSON.parse(textOf(await request(base, session, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami', arguments: {} } })) ?? '') as WhoAmI).pid
    const answer = await exchange(base, fixtureCall(2, 'whoami'), { 'mcp-session-id': session })
    expect((JSON.parse(textOfAnswer(answer) ?? '') as WhoAmI).pid).not.toBe(sessionPid)
    // The same unknown session id on a 2025 request is refused: the header only matters on that leg.
    const legacy = await post(base, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { session: 'no-such-session' })
    expect(legacy.status).toBe(404)
  })

  it('a modern notification is answered 202 and never reaches the child', async () => {
    const { base } = await listenLogged()
    await modernWhoAmI(base) // the modern child runs
    const claimed = { jsonrpc: '2.0', method: 'notifications/test-probe', params: { _meta: { [PROTOCOL_VERSION_KEY]: MODERN } } }
    const byHeader = { jsonrpc: '2.0', method: 'notifications/test-probe', params: {} }
    for (const body of [claimed, byHeader]) {
      const response = await postModern(base, body, { 'mcp-protocol-version': MODERN, 'mcp-method': 'notifications/test-probe' })
      expect(response.status).toBe(202)
      expect(await within(response.text(), 'the 202 body')).toBe('')
      expect(response.headers.get('mcp-session-id')).toBeNull()
    }
    expect(await modernReceived(base, 'notifications/test-probe')).toEqual([])
    // The probe does see a notification that is forwarded: the same one on a 2025 session reaches its child.
    const session = await initialize(base)
    expect((await post(base, byHeader, { session })).status).toBe(202)
    expect(await sessionReceived(base, session, 'notifications/test-probe')).toEqual([{}])
  })
})

describe('answers: JSON until progress or a permitted log, then SSE', () => {
  it('a result with nothing before it is one JSON body: resultType, serverInfo, no cache hints on tools/call', async () => {
    const { base } = await listenLogged()
    const answer = await exchange(base, modernCall(1, 'echo', { text: 'hello' }))
    expect(answer.kind).toBe('json')
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/)
    expect(answer.messages).toHaveLength(1)
    expect(answer.answer).toMatchObject({ jsonrpc: '2.0', id: 1 })
    const result = resultOf(answer)
    expect(result).toEqual({
      content: [{ type: 'text', text: 'hello' }],
      resultType: 'complete',
      _meta: { [SERVER_INFO_KEY]: ECHO_SERVER_INFO },
    })
    // The progress tool without a token sends nothing before its result: still JSON.
    expect((await exchange(base, modernCall(2, 'progress', { steps: 2, ms: 1 }))).kind).toBe('json')
  })

  it("progress turns the answer into an SSE stream without event ids; each progress carries the caller's own token", async () => {
    const { base } = await listenLogged()
    for (const token of ['caller-token', 42]) {
      const answer = await exchange(base, modernCall(`p-${token}`, 'progress', { steps: 3, ms: 1 }, { meta: { progressToken: token } }))
      expect(answer.status).toBe(200)
      expect(answer.kind).toBe('sse')
      expect(answer.headers.get('content-type')).toMatch(/^text\/event-stream/)
      for (const event of answer.events) expect(event.id, 'an SSE event id on a modern answer').toBeUndefined()
      expect(answer.notifications.map((n) => [n.method, (n.params as { progressToken?: unknown; progress?: unknown }).progressToken, (n.params as { progress?: unknown }).progress])).toEqual([
        ['notifications/progress', token, 1],
        ['notifications/progress', token, 2],
        ['notifications/progress', token, 3],
      ])
      expect(answer.messages.at(-1)).toBe(answer.answer)
      expect(answer.answer).toMatchObject({ id: `p-${token}`, result: { resultType: 'complete', content: [{ text: 'progress done' }] } })
    }
    // The child saw tokens of the proxy's own, and none of the envelope.
    const calls = (await modernReceived(base, 'tools/call')).filter((params) => params?.name === 'progress')
    expect(calls).toHaveLength(2)
    for (const params of calls) {
      const meta = params!._meta as Record<string, unknown>
      expect(meta.progressToken).not.toBe('caller-token')
      expect(meta.progressToken).not.toBe(42)
      expect(Object.keys(meta).filter((key) => key.startsWith('io.modelcontextprotocol/'))).toEqual([])
    }
  })

  it('the rest of _meta passes to the child; the envelope keys do not', async () => {
    const { base } = await listenLogged()
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
    await exchange(base, modernCall(1, 'echo', { text: 'traced' }, { logLevel: 'debug', meta: { traceparent } }))
    const [params] = (await modernReceived(base, 'tools/call')).filter((p) => p?.name === 'echo')
    expect(params?._meta).toEqual({ traceparent })
  })

  it("logLevel: a log at or above it goes on the request's own stream; below it, or without logLevel, none", async () => {
    const { base } = await listenLogged()
    const logged = async (level: string, logLevel: string | undefined) =>
      exchange(base, modernCall(`log-${level}`, 'log', { level, message: `a ${level} log` }, logLevel === undefined ? {} : { logLevel }))

    for (const level of ['warning', 'error']) {
      const answer = await logged(level, 'warning')
      expect(answer.kind, level).toBe('sse')
      expect(answer.notifications).toEqual([{ jsonrpc: '2.0', method: 'notifications/message', params: { level, logger: 'echo', data: `a ${level} log` } }])
      expect(answer.answer).toMatchObject({ id: `log-${level}`, result: { resultType: 'complete' } })
    }
    for (const [level, logLevel] of [['info', 'warning'], ['emergency', undefined]] as const) {
      const answer = await logged(level, logLevel)
      expect(answer.kind, `${level} under ${String(logLevel)}`).toBe('json')
      expect(answer.notifications).toEqual([])
      expect(textOfAnswer(answer)).toBe('logged')
    }
  })

  it("a log goes only to the request that asked for it, not to another client's request in flight", async () => {
    const { base } = await listenLogged()
    // Another client's request waits at a gate in the one child while this one logs there: the log is not
    // that request's to see.
    const waiting = postModern(base, fixtureCall('other', 'gate', { name: 'log-gate', count: 2, text: 'other done' }, { logLevel: 'debug' }))
    await waitFor(async () => (await modernReceived(base, 'fixture/call')).some((p) => p?.name === 'gate'), 'the gated request at the child')
    const logging = await exchange(base, fixtureCall('mine', 'log', { level: 'error', message: 'mine' }, { logLevel: 'debug' }))
    const opener = await exchange(base, fixtureCall('opener', 'gate', { name: 'log-gate', count: 2, text: 'opener done' }))
    expect(textOfAnswer(opener)).toBe('opener done')
    const other = await readAnswer(await waiting)
    expect(textOfAnswer(other)).toBe('other done')
    expect(other.notifications).toEqual([])
    // Two requests were in flight when the child logged: the proxy cannot tell whose log it is, so nobody gets it.
    expect(logging.notifications.filter((n) => n.method === 'notifications/message')).toEqual([])
  })
})

describe('translations a client sees', () => {
  const CACHEABLE: Array<[string, Record<string, unknown>]> = [
    ['tools/list', {}],
    ['prompts/list', {}],
    ['resources/list', {}],
    ['resources/templates/list', {}],
    ['resources/read', { uri: 'test://static' }],
  ]

  it('the five cacheable results get ttlMs 0 and cacheScope private by default; others none', async () => {
    const { base } = await listenLogged()
    for (const [method, params] of CACHEABLE) {
      const result = resultOf(await exchange(base, modernRequest(method, method, params)))
      expect(result, method).toMatchObject({ resultType: 'complete', ttlMs: 0, cacheScope: 'private', _meta: { [SERVER_INFO_KEY]: ECHO_SERVER_INFO } })
    }
    for (const [method, params] of [['prompts/get', { name: 'greet', arguments: { name: 'Ada' } }], ['completion/complete', { ref: { type: 'ref/prompt', name: 'greet' }, argument: { name: 'name', value: '' } }]] as const) {
      const result = resultOf(await exchange(base, modernRequest(method, method, params)))
      expect(result, method).toMatchObject({ resultType: 'complete', _meta: { [SERVER_INFO_KEY]: ECHO_SERVER_INFO } })
      expect(result, method).not.toHaveProperty('ttlMs')
      expect(result, method).not.toHaveProperty('cacheScope')
    }
  })

  it('modernCacheTtl and modernCacheScope set the hints, on discover too', async () => {
    const { base } = await listenLogged({ modernCacheTtl: 60_000, modernCacheScope: 'public' })
    for (const [method, params] of CACHEABLE) {
      expect(resultOf(await exchange(base, modernRequest(method, method, params))), method).toMatchObject({ ttlMs: 60_000, cacheScope: 'public' })
    }
    expect(resultOf(await exchange(base, modernRequest('d', 'server/discover')))).toMatchObject({ ttlMs: 60_000, cacheScope: 'public' })
  })

  it("server/discover is the proxy's, from the child's handshake", async () => {
    const { base } = await listenLogged()
    const answer = await exchange(base, modernRequest('d', 'server/discover'))
    expect(answer.kind).toBe('json')
    expect(answer.answer?.id).toBe('d')
    expect(resultOf(answer)).toEqual({
      resultType: 'complete',
      supportedVersions: [MODERN],
      capabilities: { tools: { listChanged: true }, resources: { subscribe: true, listChanged: true }, prompts: { listChanged: true }, logging: {}, completions: {} },
      instructions: 'Echo fixture for tests.',
      ttlMs: 0,
      cacheScope: 'private',
      _meta: { [SERVER_INFO_KEY]: ECHO_SERVER_INFO },
    })
    expect(await modernReceived(base, 'server/discover')).toEqual([])
  })

  it('a resource not found (-32002 from the child) is -32602 with data.uri, in-band with 200', async () => {
    const { base } = await listenLogged()
    const answer = await exchange(base, modernRequest('r', 'resources/read', { uri: 'test://missing' }))
    expect(answer.status).toBe(200)
    expect(answer.kind).toBe('json')
    expect(answer.answer).toMatchObject({ id: 'r', error: { code: INVALID_PARAMS, data: { uri: 'test://missing' } } })
  })
})

describe('Mcp-Param-* headers against the tool schema', () => {
  it("a header that disagrees with the tool's x-mcp-header: 400 -32020, and the child never runs the call", async () => {
    const { base } = await listenLogged()
    const call = (id: string, region: unknown) => modernCall(id, 'tagged', { region })
    expectModernError(await exchange(base, call('wrong', 'eu-west1'), { 'mcp-param-region': 'us-east1' }), 400, HEADER_MISMATCH, 'wrong')
    expectModernError(await exchange(base, call('missing', 'eu-west1')), 400, HEADER_MISMATCH, 'missing')
    expect(textOfAnswer(await exchange(base, call('right', 'eu-west1'), { 'mcp-param-region': 'eu-west1' }))).toBe('region eu-west1')
    expect(textOfAnswer(await exchange(base, call('sentinel', 'eu-west1'), { 'mcp-param-region': `=?base64?${Buffer.from('eu-west1').toString('base64')}?=` }))).toBe('region eu-west1')
    const runs = (await modernReceived(base, 'tools/call')).filter((params) => params?.name === 'tagged')
    expect(runs.map((params) => (params!.arguments as { region: string }).region)).toEqual(['eu-west1', 'eu-west1'])
  })

  it('after tools/list_changed the schema is read again', async () => {
    const { base } = await listenLogged()
    const call = (id: string) => modernCall(id, 'tagged', { region: 'eu' })
    expect(textOfAnswer(await exchange(base, call('before'), { 'mcp-param-region': 'eu' }))).toBe('region eu')
    // The child renames the annotation to Zone and says its tools changed.
    expect(textOfAnswer(await exchange(base, modernCall('retag', 'retag', { header: 'Zone' })))).toBe('tagged now uses Mcp-Param-Zone')
    expectModernError(await exchange(base, call('stale'), { 'mcp-param-region': 'eu' }), 400, HEADER_MISMATCH, 'stale')
    expect(textOfAnswer(await exchange(base, call('fresh'), { 'mcp-param-zone': 'eu' }))).toBe('region eu')
  })

  it("a tools/call waiting on a tools/list that the child says is outdated before answering it: read again, served", async () => {
    const proxy = await listenLogged()
    const { base } = proxy
    expect(textOfAnswer(await exchange(base, fixtureCall('hold', 'hold', { method: 'tools/list' })))).toBe('holding tools/list')
    // The first tools/call reads the tools (for its Mcp-Param-* check): the child holds that tools/list.
    const first = postModern(base, modernCall('first', 'echo', { text: 'first' }))
    await waitFor(async () => (await modernReceived(base, 'tools/list')).length === 1, 'the held tools/list at the child')
    // A second one, for a tool that list will not name, waits for the same read.
    const read = requestRead(proxy.app, 'second')
    const second = postModern(base, modernCall('second', 'no-such-tool'), { 'x-test-tag': 'second' })
    await read
    // Meanwhile the child says its tools changed; then it answers the list.
    await exchange(base, fixtureCall('announce', 'announce', { method: 'notifications/tools/list_changed' }))
    expect(textOfAnswer(await exchange(base, fixtureCall('release', 'release')))).toBe('released 1')
    expect(textOfAnswer(await readAnswer(await first))).toBe('first')
    // The second lookup missed in an outdated list: it reads the tools again and the call goes to the child.
    const answer = await readAnswer(await second)
    expect(answer.status, JSON.stringify(answer.messages)).toBe(200)
    expect(answer.answer).toMatchObject({ id: 'second', result: { isError: true, content: [{ text: 'unknown tool: no-such-tool' }] } })
    expect(await modernReceived(base, 'tools/list')).toHaveLength(2)
  })
})

describe('closing a request: a modern close cancels, a 2025 one does not', () => {
  it('closed before any answer: the child gets notifications/cancelled with its own id, and its late result is dropped', async () => {
    const proxy = await listenLogged()
    const { base } = proxy
    await modernWhoAmI(base)
    const controller = new AbortController()
    const closed = responseClosed(proxy.app, 'modern-close')
    const pending = postModern(base, modernCall(1, 'linger'), { 'x-test-tag': 'modern-close' }, controller.signal).catch(() => undefined)
    const [childId] = await lingering(proxy)
    expect(childId).not.toBe(1) // rewritten: the child's id, not the client's
    controller.abort()
    await pending
    await closed
    const cancels = await waitFor(async () => {
      const seen = await modernReceived(base, 'notifications/cancelled')
      return seen.length > 0 ? seen : undefined
    }, 'notifications/cancelled at the child')
    expect(cancels).toEqual([{ requestId: childId, reason: expect.any(String) }])
    // The child answers after its cancellation; the proxy drops that answer (nobody asked for it any more).
    await waitFor(() => proxy.logs.some((line) => line.msg === 'MCP server answered a request that is not pending; dropped' && line.id === childId), 'the late answer dropped')
    expect(textOfAnswer(await exchange(base, modernCall(2, 'echo', { text: 'still serving' })))).toBe('still serving')
  })

  it("closed after it became a stream: the same cancellation", async () => {
    const proxy = await listenLogged()
    const { base } = proxy
    const controller = new AbortController()
    const response = await postModern(base, modernCall(1, 'linger', {}, { meta: { progressToken: 'mine' } }), {}, controller.signal)
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const [childId] = await lingering(proxy)
    controller.abort()
    const cancels = await waitFor(async () => {
      const seen = await modernReceived(base, 'notifications/cancelled')
      return seen.length > 0 ? seen : undefined
    }, 'notifications/cancelled at the child')
    expect(cancels.map((params) => params?.requestId)).toEqual([childId])
  })

  it('a 2025 POST stream closed mid-call sends no cancellation', async () => {
    const proxy = await listenLogged()
    const { base } = proxy
    const session = await initialize(base)
    const controller = new AbortController()
    const closed = responseClosed(proxy.app, 'legacy-close')
    const call = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'linger', arguments: {} } }
    const pending = post(base, call, { session, signal: controller.signal, headers: { 'x-test-tag': 'legacy-close' } }).catch(() => undefined)
    await lingering(proxy)
    controller.abort()
    await pending
    await closed
    // Whatever the proxy did on the close was written to the child before this request.
    expect(await sessionReceived(base, session, 'notifications/cancelled')).toEqual([])
  })
})

describe('the modern child beside the 2025 leg', () => {
  it('both eras at once, ids colliding (1 everywhere): every answer reaches its own caller; separate children', async () => {
    const { base } = await listenLogged()
    const [first, second] = [await initialize(base), await initialize(base)]
    const legacyCall = (session: string, text: string) =>
      request(base, session, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'gate', arguments: { name: 'legacy', count: 1, text } } })
    // The two modern requests both wait at one gate in the modern child: both are in flight there at once, both id 1.
    const modernGate = (text: string) => exchange(base, fixtureCall(1, 'gate', { name: 'modern', count: 2, text }))
    const [a, b, c, d] = await Promise.all([modernGate('modern a'), modernGate('modern b'), legacyCall(first, 'legacy first'), legacyCall(second, 'legacy second')])
    expect([a.answer?.id, b.answer?.id, c.id, d.id]).toEqual([1, 1, 1, 1])
    expect([textOfAnswer(a), textOfAnswer(b), textOf(c), textOf(d)]).toEqual(['modern a', 'modern b', 'legacy first', 'legacy second'])

    const whoami = (session: string) => request(base, session, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami', arguments: {} } })
    const sessionChildren = await Promise.all([whoami(first), whoami(second)]).then((answers) => answers.map((answer) => JSON.parse(textOf(answer) ?? '') as WhoAmI))
    const modern = await modernWhoAmI(base)
    expect(new Set([modern.pid, ...sessionChildren.map((child) => child.pid)]).size).toBe(3)
    expect(modern.clientInfo.name).toBe('mcp-proxy')
    expect(modern.protocolVersion).toBe('2025-11-25')
    for (const child of sessionChildren) expect(child.clientInfo.name).toBe('failure-test')
    expect((await modernReport(base))?.pid).toBe(modern.pid)
  })

  it('two callers with the same id and the same progress token in the one child each get only their own progress, and cancel only their own request', async () => {
    const proxy = await listenLogged()
    const { base } = proxy
    const open = async (tag: string) => {
      const controller = new AbortController()
      const closed = responseClosed(proxy.app, tag)
      const response = await postModern(base, fixtureCall(1, 'linger', {}, { meta: { progressToken: 'same' } }), { 'x-test-tag': tag }, controller.signal)
      const reader = new SseReader(response)
      const progress = await reader.until((message) => message.method === 'notifications/progress')
      return { controller, closed, progress }
    }
    const first = await open('first')
    const second = await open('second')
    for (const { progress } of [first, second]) expect(progress.params).toEqual({ progressToken: 'same', progress: 0, message: 'lingering' })
    const childIds = await lingering(proxy, 2)
    expect(new Set(childIds).size).toBe(2)
    first.controller.abort()
    await first.closed
    expect((await modernReceived(base, 'notifications/cancelled')).map((params) => params?.requestId)).toEqual([childIds[0]])
    second.controller.abort()
    await second.closed
    expect((await modernReceived(base, 'notifications/cancelled')).map((params) => params?.requestId)).toEqual(childIds)
  })

  it('stateless mode: the stateless child and the modern child are two processes', async () => {
    const { base } = await listenLogged({ stateless: true })
    const legacy = await post(base, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami', arguments: {} } })
    expect(legacy.status).toBe(200)
    const legacyAnswer = (await readAnswer(legacy)).answer!
    const statelessChild = JSON.parse(textOf(legacyAnswer) ?? '') as WhoAmI
    const modern = await modernWhoAmI(base)
    expect(modern.pid).not.toBe(statelessChild.pid)
    expect(alive(modern.pid) && alive(statelessChild.pid)).toBe(true)
  })

  it('/ready shows the modern child: idle before the first modern request, then up with its pid', async () => {
    const { base } = await listenLogged()
    const before = await modernReport(base)
    expect(before).toMatchObject({ state: 'idle', recentExits: 0, listenStreams: 0 })
    expect(before).not.toHaveProperty('pid')
    const { pid } = await modernWhoAmI(base)
    expect(await modernReport(base)).toMatchObject({ state: 'up', pid, recentExits: 0, listenStreams: 0 })
  })

  it('the modern child crashes: its call fails in-band, a new child (another pid) takes over, /ready shows it', async () => {
    const { base } = await listenLogged()
    const { pid: before } = await modernWhoAmI(base)
    const crashed = await exchange(base, modernCall('crash', 'crash', { code: 3 }))
    expect(crashed.status).toBe(200)
    expect(crashed.answer).toMatchObject({ id: 'crash', error: { code: -32603 } })
    const report = await waitFor(async () => {
      const current = await modernReport(base)
      return current?.state === 'up' && current.pid !== before ? current : undefined
    }, 'the modern child restarted')
    expect(report.recentExits).toBe(1)
    expect(alive(before)).toBe(false)
    const after = await modernWhoAmI(base)
    expect(after.pid).toBe(report.pid)
    expect(after.clientInfo.name).toBe('mcp-proxy') // initialized again by the proxy
  })

  it('modern: false: a modern request gets the 2025 answer to a request without a session (400 -32000), and /ready has no modern leg', async () => {
    const { base } = await listenLogged({ modern: false })
    const answer = await exchange(base, modernCall(1, 'echo', { text: 'x' }))
    expect(answer.status).toBe(400)
    expect(answer.answer).toMatchObject({ id: 1, error: { code: SERVER_ERROR, data: { reason: 'MCP_PROXY_MISSING_SESSION' } } })
    expect(await modernReport(base)).toBeUndefined()
    // server/discover is no method of the 2025 leg either.
    expect((await exchange(base, modernRequest(2, 'server/discover'))).status).toBe(400)
  })
})
