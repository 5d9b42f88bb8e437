// Bounded fuzzing of the HTTP edge: random bodies (arbitrary text, JSON values, near-valid JSON-RPC
// envelopes, batches) and headers from small pools (garbage included) against POST/GET/DELETE /mcp and
// POST /messages, through `app.inject` (session mode and stateless mode), then random raw requests over
// TCP. The property: every answer is a well-formed HTTP response with an expected status, every error
// body is a JSON-RPC error, never a 500, and the app still answers /ping afterwards. An exception thrown
// anywhere in the server would also fail the run (vitest reports unhandled errors).
import fc from 'fast-check'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { buildApp } from './helpers.js'
import {
  abortAfterTest,
  isJsonRpcError,
  LATEST,
  parseSseBlocks,
  rawSocket,
  SseReader,
  within,
} from './failure-helpers.js'

// FUZZ_SCALE=N multiplies the runs and the time limits (for a longer hunt by hand; the suite runs with 1).
const SCALE = Math.max(1, Number(process.env.FUZZ_SCALE ?? 1) || 1)
// Real children: each test is bounded by 10 s (the project default is 5 s); each property by a time limit.
vi.setConfig({ testTimeout: 10_000 * SCALE })

const ALLOWED = new Set([200, 202, 400, 401, 403, 404, 405, 406, 409, 413, 415, 503])
const PROPERTY_TIME_MS = 5000 * SCALE
/** Statuses seen, per test (printed with FUZZ_STATS=1, to see what the runs reached). */
const stats = new Map<string, number>()
function seen(key: string): void {
  stats.set(key, (stats.get(key) ?? 0) + 1)
}
afterAll(() => {
  if (process.env.FUZZ_STATS) console.log([...stats].sort().map(([k, n]) => `${k}: ${n}`).join('\n'))
})

// ---------------------------------------------------------------------------------------------------------
// Checks.

function isJsonRpcMessage(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const v = value as Record<string, unknown>
  if (v.jsonrpc !== '2.0') return false
  return typeof v.method === 'string' || 'result' in v || isJsonRpcError(v)
}

interface Answer {
  status: number
  contentType: string
  body: string
}

/** The property every answer must satisfy; `what` describes the request for the failure message. */
function checkAnswer(answer: Answer, what: string): void {
  const context = `${what} → ${answer.status} ${answer.contentType} ${answer.body.slice(0, 300)}`
  expect(ALLOWED.has(answer.status), context).toBe(true)
  if (answer.status >= 400) {
    expect(answer.contentType, context).toMatch(/^application\/json/)
    expect(isJsonRpcError(JSON.parse(answer.body)), context).toBe(true)
    return
  }
  if (answer.contentType.startsWith('text/event-stream')) {
    const { events } = parseSseBlocks(answer.body + '\n\n')
    for (const event of events) if (event.data !== '') expect(isJsonRpcMessage(JSON.parse(event.data)), context).toBe(true)
  } else if (answer.contentType.startsWith('application/json') && answer.body !== '') {
    const value = JSON.parse(answer.body) as unknown
    for (const message of Array.isArray(value) ? value : [value]) expect(isJsonRpcMessage(message), context).toBe(true)
  }
}

function fromInject(response: LightMyRequestResponse): Answer {
  return { status: response.statusCode, contentType: String(response.headers['content-type'] ?? ''), body: response.body }
}

// ---------------------------------------------------------------------------------------------------------
// Arbitraries. Tools and methods come from pools that always get an answer quickly (no `slow`, `sample`,
// `elicit`, `roots`, `crash`, unbounded `payload` or `log`): a request that is never answered would hold
// its inject open (requestTimeout bounds it anyway).

const safeToolCall = fc.oneof(
  fc.record({ name: fc.constant('echo'), arguments: fc.record({ text: fc.string({ maxLength: 50 }) }) }),
  fc.record({ name: fc.constant('add'), arguments: fc.record({ a: fc.integer(), b: fc.oneof(fc.integer(), fc.string({ maxLength: 5 })) }) }),
  fc.record({ name: fc.constantFrom('whoami', 'notify', 'no-such-tool'), arguments: fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }) }),
  fc.record({ name: fc.constant('payload'), arguments: fc.record({ bytes: fc.nat({ max: 2000 }) }) }),
  fc.record({ name: fc.constant('log'), arguments: fc.record({ message: fc.string({ maxLength: 20 }), count: fc.nat({ max: 3 }) }) }),
  fc.record({ name: fc.constant('progress'), arguments: fc.record({ steps: fc.nat({ max: 3 }), ms: fc.constant(1) }), _meta: fc.record({ progressToken: fc.oneof(fc.string({ maxLength: 5 }), fc.integer()) }) }),
)

const method = fc.constantFrom(
  'ping',
  'tools/list',
  'resources/list',
  'resources/read',
  'resources/templates/list',
  'prompts/list',
  'prompts/get',
  'completion/complete',
  'logging/setLevel',
  'initialize',
  'notifications/initialized',
  'notifications/cancelled',
  'notifications/progress',
  'no/such/method',
  '',
)

const id = fc.oneof(fc.integer(), fc.string({ maxLength: 8 }), fc.constant(null), fc.constant({}), fc.constant([1]), fc.double(), fc.boolean())

/** An envelope that is valid, or almost: any key may be missing or of the wrong type. */
const envelope: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record(
    {
      jsonrpc: fc.constantFrom('2.0', '2.0', '2.0', '1.0', 2),
      id,
      method,
      params: fc.oneof(
        fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
        fc.record({ protocolVersion: fc.constantFrom(LATEST, '2025-03-26', '1999-01-01'), capabilities: fc.constant({}), clientInfo: fc.constant({ name: 'fuzz', version: '0' }) }),
        fc.jsonValue({ maxDepth: 2 }),
      ),
    },
    { requiredKeys: ['jsonrpc'] },
  ),
  fc.record({ jsonrpc: fc.constant('2.0'), id: fc.oneof(fc.integer(), fc.string({ maxLength: 8 })), method: fc.constant('tools/call'), params: safeToolCall }),
  // Responses (to requests the child never sent) and malformed ones.
  fc.record(
    {
      jsonrpc: fc.constant('2.0'),
      id,
      result: fc.jsonValue({ maxDepth: 2 }),
      error: fc.oneof(fc.record({ code: fc.integer(), message: fc.string({ maxLength: 10 }) }), fc.jsonValue({ maxDepth: 1 })),
    },
    { requiredKeys: ['jsonrpc'] },
  ),
)

const body = fc.oneof(
  { arbitrary: fc.string({ maxLength: 200 }), weight: 1 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 100 }), weight: 1 },
  { arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)), weight: 1 },
  { arbitrary: envelope.map((v) => JSON.stringify(v)), weight: 6 },
  { arbitrary: fc.array(envelope, { minLength: 1, maxLength: 4 }).map((v) => JSON.stringify(v)), weight: 2 },
  { arbitrary: fc.constantFrom('', ' ', '{', '[]', 'null', '{}', '{"jsonrpc":"2.0"}', '{"jsonrpc":"2.0","id":1,"method":"ping"}\n{"x":1}', '\uFEFF{}'), weight: 1 },
)

/** Mostly a valid value (so that runs get past the first check), sometimes garbage, sometimes absent. */
function mostly<T extends string>(valid: T[], garbage: T[]): fc.Arbitrary<T | undefined> {
  return fc.oneof(
    { arbitrary: fc.constantFrom(...valid), weight: 8 },
    { arbitrary: fc.constantFrom(...garbage), weight: 2 },
    { arbitrary: fc.constant(undefined), weight: 1 },
  )
}

type SessionToken = 'valid-a' | 'valid-b' | 'legacy' | 'unknown' | 'empty' | 'long' | 'spaces'

const headers = fc.record({
  contentType: mostly(
    ['application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON'],
    ['application/json; charset=latin1', 'application/json;;', 'text/plain', 'application/jsonx', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', '*/*', ''],
  ),
  accept: mostly(
    ['application/json, text/event-stream', 'text/event-stream, application/json;q=0.5', '*/*', 'application/*, text/*'],
    ['application/json', 'text/event-stream', 'text/html', ',,,', ''],
  ),
  session: mostly<SessionToken>(['valid-a', 'valid-b'], ['legacy', 'unknown', 'empty', 'long', 'spaces']),
  protocolVersion: mostly([LATEST, '2025-06-18', '2025-03-26', '2024-11-05'], ['2099-01-01', 'garbage', '', ' 2025-11-25 ']),
  lastEventId: fc.option(fc.constantFrom('x', 'r1.0', 'r2.1', 'standalone.0', '../../etc/passwd', '9'.repeat(40), '\t'), { freq: 4, nil: undefined }),
})

// Only the routes the plugin registers (others get Fastify's own 404, which is not the proxy's answer).
type Route = ['POST' | 'GET' | 'DELETE', '/mcp' | '/messages' | '/sse']
const route: fc.Arbitrary<Route> = fc.oneof(
  { arbitrary: fc.constant<Route>(['POST', '/mcp']), weight: 12 },
  { arbitrary: fc.constant<Route>(['GET', '/mcp']), weight: 2 },
  { arbitrary: fc.constant<Route>(['DELETE', '/mcp']), weight: 1 },
  { arbitrary: fc.constant<Route>(['POST', '/messages']), weight: 3 },
  { arbitrary: fc.constant<Route>(['POST', '/sse']), weight: 1 },
  { arbitrary: fc.constant<Route>(['GET', '/sse']), weight: 1 },
)

const mcpRequest = fc.record({ route, headers, body }).map(({ route: [verb, target], ...rest }) => ({ verb, target, ...rest }))
type McpRequest = typeof mcpRequest extends fc.Arbitrary<infer T> ? T : never

// ---------------------------------------------------------------------------------------------------------
// Driving the app.

interface Sessions {
  'valid-a': string
  'valid-b': string
  legacy: string
}

function sessionValue(token: SessionToken, sessions: Sessions): string {
  switch (token) {
    case 'valid-a':
    case 'valid-b':
    case 'legacy':
      return sessions[token]
    case 'unknown':
      return '00000000-0000-4000-8000-000000000000'
    case 'empty':
      return ''
    case 'long':
      return 'x'.repeat(2000)
    case 'spaces':
      return '  a  b  '
  }
}

function headerValues(request: McpRequest, sessions: Sessions): Record<string, string> {
  const h = request.headers
  const out: Record<string, string> = {}
  if (h.contentType !== undefined) out['content-type'] = h.contentType
  if (h.accept !== undefined) out.accept = h.accept
  if (h.protocolVersion !== undefined) out['mcp-protocol-version'] = h.protocolVersion
  if (h.lastEventId !== undefined) out['last-event-id'] = h.lastEventId
  if (h.session !== undefined && request.target === '/mcp') out['mcp-session-id'] = sessionValue(h.session, sessions)
  return out
}

function urlOf(request: McpRequest, sessions: Sessions): string {
  if (request.target !== '/messages') return request.target
  const token = request.headers.session
  if (token === undefined) return '/messages'
  // On this route 'valid-a' stands for the legacy session ('valid-b', a Streamable HTTP session, is unknown here).
  const id = token === 'valid-a' ? sessions.legacy : sessionValue(token, sessions)
  return `/messages?sessionId=${encodeURIComponent(id)}`
}

async function injectInitialize(app: FastifyInstance, protocolVersion: string): Promise<string> {
  const response = await app.inject({
    method: 'POST',
    url: '/mcp',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    payload: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion, capabilities: {}, clientInfo: { name: 'fuzz', version: '0' } } }),
  })
  const session = response.headers['mcp-session-id']
  if (response.statusCode !== 200 || typeof session !== 'string') throw new Error(`initialize: ${response.statusCode} ${response.body}`)
  return session
}

/** A GET that may open a stream goes over real HTTP: the head is checked, then the stream is dropped. */
async function realGet(base: string, url: string, headers: Record<string, string>): Promise<Answer> {
  const controller = abortAfterTest()
  const response = await within(fetch(`${base}${url}`, { headers, signal: controller.signal }), `GET ${url}`)
  const contentType = response.headers.get('content-type') ?? ''
  if (response.status === 200 && contentType.startsWith('text/event-stream')) {
    controller.abort()
    return { status: 200, contentType, body: '' }
  }
  return { status: response.status, contentType, body: await within(response.text(), 'a GET body') }
}

/** A legacy /sse session over real HTTP, its stream drained in the background. */
async function legacySession(base: string): Promise<string> {
  const response = await within(fetch(`${base}/sse`, { headers: { accept: 'text/event-stream' }, signal: abortAfterTest().signal }), 'GET /sse')
  const reader = new SseReader(response)
  const endpoint = await reader.next()
  const sessionId = new URL(endpoint?.data ?? '', base).searchParams.get('sessionId')
  if (endpoint?.event !== 'endpoint' || !sessionId) throw new Error(`no endpoint event: ${JSON.stringify(endpoint)}`)
  void (async () => {
    try {
      while (await reader.next(60_000)) {
        // drain
      }
    } catch {
      // aborted after the test
    }
  })()
  return sessionId
}

async function expectPing(app: FastifyInstance): Promise<void> {
  const ping = await app.inject({ method: 'GET', url: '/ping' })
  expect(ping.statusCode).toBe(200)
  expect(ping.body).toBe('pong')
}

describe('fuzz: app.inject', () => {
  it('session mode: random requests always get a well-formed answer, never a 500', async () => {
    const app = await buildApp({ maxSessions: 6, warmChildren: 0, requestTimeout: 2000, sessionIdleTimeout: 0 })
    await app.listen({ host: '127.0.0.1', port: 0 })
    const address = app.server.address()
    if (!address || typeof address === 'string') throw new Error('not listening')
    const base = `http://127.0.0.1:${address.port}`
    const sessions: Sessions = {
      'valid-a': await injectInitialize(app, '2025-03-26'), // batches allowed
      'valid-b': await injectInitialize(app, LATEST),
      legacy: await legacySession(base),
    }
    const known = (value: unknown): boolean => value === sessions['valid-a'] || value === sessions['valid-b'] || value === sessions.legacy
    let runs = 0

    await fc.assert(
      fc.asyncProperty(mcpRequest, async (request) => {
        runs++
        const headers = headerValues(request, sessions)
        const url = urlOf(request, sessions)
        const what = `${request.verb} ${url} ${JSON.stringify(headers).slice(0, 200)} ${JSON.stringify(request.body).slice(0, 200)}`
        let answer: Answer
        let created: unknown
        if (request.verb === 'GET') {
          answer = await realGet(base, url, headers)
        } else {
          const response = await within(
            app.inject({ method: request.verb, url, headers, payload: request.body }),
            `the answer to ${what}`,
          )
          answer = fromInject(response)
          created = response.headers['mcp-session-id']
        }
        seen(`session ${request.verb} ${request.target} ${answer.status}`)
        checkAnswer(answer, what)
        // Keep the fixture sessions alive and the extra ones few: a random initialize made a session.
        if (typeof created === 'string' && !known(created)) {
          await app.inject({ method: 'DELETE', url: '/mcp', headers: { 'mcp-session-id': created } })
        }
        if (request.verb === 'DELETE' && answer.status === 200) {
          const token = request.headers.session
          if (token === 'valid-a') sessions['valid-a'] = await injectInitialize(app, '2025-03-26')
          if (token === 'valid-b') sessions['valid-b'] = await injectInitialize(app, LATEST)
        }
      }),
      { numRuns: 120 * SCALE, plugins: [fc.interruptAfterTimeLimit(PROPERTY_TIME_MS)] },
    )
    expect(runs).toBeGreaterThan(10)
    await expectPing(app)
    // The fixture sessions still work.
    const echo = await app.inject({
      method: 'POST',
      url: '/mcp',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': sessions['valid-b'] },
      payload: JSON.stringify({ jsonrpc: '2.0', id: 'last', method: 'tools/call', params: { name: 'echo', arguments: { text: 'alive' } } }),
    })
    expect(echo.statusCode).toBe(200)
    expect(echo.body).toContain('alive')
  })

  it('stateless mode with JSON answers: random requests always get a well-formed answer, never a 500', async () => {
    const app = await buildApp({ stateless: true, jsonResponse: true, requestTimeout: 2000 })
    const sessions: Sessions = { 'valid-a': 'a', 'valid-b': 'b', legacy: 'c' }
    let runs = 0
    await fc.assert(
      fc.asyncProperty(
        mcpRequest.filter((r) => r.target === '/mcp'), // no legacy routes in stateless mode
        async (request) => {
          runs++
          const headers = headerValues(request, sessions)
          const what = `${request.verb} /mcp ${JSON.stringify(headers).slice(0, 200)} ${JSON.stringify(request.body).slice(0, 200)}`
          // Stateless GET and DELETE are refused (405), so inject is safe for every verb here.
          const response = await within(app.inject({ method: request.verb, url: '/mcp', headers, payload: request.body }), `the answer to ${what}`)
          seen(`stateless ${request.verb} ${response.statusCode}`)
          checkAnswer(fromInject(response), what)
        },
      ),
      { numRuns: 60 * SCALE, plugins: [fc.interruptAfterTimeLimit(PROPERTY_TIME_MS)] },
    )
    expect(runs).toBeGreaterThan(10)
    await expectPing(app)
    const ready = await app.inject({ method: 'GET', url: '/ready' })
    expect(ready.statusCode).toBe(200)
  })
})

// ---------------------------------------------------------------------------------------------------------
// Raw requests over TCP.

const rawRequestArb = fc.record({
  method: mostly(['GET', 'POST', 'POST', 'DELETE', 'OPTIONS'], ['PUT', 'PATCH', 'HEAD', 'TRACE', 'FOO', 'M-SEARCH', 'G ET']).map((m) => m ?? 'POST'),
  path: fc.constantFrom(
    '/mcp',
    '/mcp',
    '/mcp',
    '/mcp',
    '/sse',
    '/messages',
    '/messages?sessionId=nope',
    '/ping',
    '/ready',
    '//',
    '/%',
    '/mcp%ZZ',
    '/mcp?%',
    '*',
    '/mcp/',
    '/MCP',
    '/mcp#frag',
    'http://evil.example/mcp',
    '/\u00e9',
    '/' + 'a'.repeat(10_000),
  ),
  version: mostly(['HTTP/1.1', 'HTTP/1.0'], ['HTTP/2.0', 'HTTP/9.9', 'HTTP/1.1 x', '']).map((v) => v ?? 'HTTP/1.1'),
  host: fc.constantFrom<'ok' | 'evil' | 'none' | 'empty'>('ok', 'ok', 'ok', 'evil', 'none', 'empty'),
  headers: fc.subarray<[string, string]>([
    ['accept', 'application/json, text/event-stream'],
    ['accept', 'text/event-stream'],
    ['content-type', 'application/json'],
    ['content-type', 'text/plain'],
    ['mcp-session-id', 'nope'],
    ['mcp-protocol-version', 'garbage'],
    ['last-event-id', 'r1.0'],
    ['origin', 'http://evil.example'],
    ['origin', 'http://localhost:5173'],
    ['origin', 'null'],
    ['x-api-key', 'k'],
    ['authorization', 'Bearer'],
    ['expect', '100-continue'],
    ['connection', 'close'],
    ['connection', 'upgrade'],
    ['upgrade', 'websocket'],
    ['a'.repeat(100), 'b'.repeat(100)],
  ], { maxLength: 4 }),
  /** A header line that is not a valid header (sometimes). */
  badLine: mostly([''], ['x-\u00ff: latin1', 'no colon here', ' leading-space: x', 'name : space-before-colon', 'x: \u0000']),
  framing: mostly<'length' | 'none' | 'chunked' | 'short' | 'negative' | 'junk' | 'both'>(['length', 'length', 'none', 'chunked'], ['short', 'negative', 'junk', 'both']).map((f) => f ?? 'none'),
  body,
})
type RawRequest = typeof rawRequestArb extends fc.Arbitrary<infer T> ? T : never

function rawText(request: RawRequest, port: number): Buffer {
  const lines = [`${request.method} ${request.path} ${request.version}`.trimEnd()]
  if (request.host === 'ok') lines.push(`host: 127.0.0.1:${port}`)
  else if (request.host === 'evil') lines.push('host: evil.example')
  else if (request.host === 'empty') lines.push('host:')
  for (const [name, value] of request.headers) lines.push(`${name}: ${value}`)
  if (request.badLine) lines.push(request.badLine)
  const payload = Buffer.from(request.body, 'utf8')
  let framed = payload
  switch (request.framing) {
    case 'length':
      lines.push(`content-length: ${payload.length}`)
      break
    case 'chunked':
      lines.push('transfer-encoding: chunked')
      framed = Buffer.concat([Buffer.from(payload.length > 0 ? `${payload.length.toString(16)}\r\n` : ''), payload, Buffer.from(payload.length > 0 ? '\r\n0\r\n\r\n' : '0\r\n\r\n')])
      break
    case 'short':
      lines.push(`content-length: ${Math.floor(payload.length / 2)}`)
      break
    case 'negative':
      lines.push('content-length: -5')
      break
    case 'junk':
      lines.push('content-length: 12abc')
      break
    case 'both':
      lines.push(`content-length: ${payload.length}`, 'transfer-encoding: chunked')
      break
    case 'none':
      break
  }
  return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), framed])
}

/** Send one raw request; resolve once a response head is in, or the connection closed, or 2 s passed. */
async function rawAnswer(port: number, data: Buffer): Promise<{ head: string | undefined; closed: boolean }> {
  const socket = await rawSocket(port)
  socket.on('error', () => {})
  let received = ''
  return new Promise((resolve) => {
    const done = (closed: boolean): void => {
      clearTimeout(timer)
      const end = received.indexOf('\r\n\r\n')
      socket.destroy()
      resolve({ head: end === -1 ? undefined : received.slice(0, end), closed })
    }
    const timer = setTimeout(() => done(false), 2000)
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1')
      // A 100 Continue is not the answer: wait for the final head.
      if (/^HTTP\/1\.[01] 100 /.test(received)) received = received.slice(received.indexOf('\r\n\r\n') + 4)
      if (received.includes('\r\n\r\n')) done(false)
    })
    socket.once('close', () => done(true))
    socket.write(data)
  })
}

describe('fuzz: raw HTTP', () => {
  it('random raw requests are always answered or closed, never a 5xx (but 503/505), and the server lives on', async () => {
    const app = await buildApp({ maxSessions: 4, warmChildren: 0, sessionIdleTimeout: 0 })
    await app.listen({ host: '127.0.0.1', port: 0 })
    const address = app.server.address()
    if (!address || typeof address === 'string') throw new Error('not listening')
    const port = address.port
    let runs = 0
    await fc.assert(
      fc.asyncProperty(rawRequestArb, async (request) => {
        runs++
        const data = rawText(request, port)
        const answer = await rawAnswer(port, data)
        const what = JSON.stringify(data.toString('latin1').slice(0, 300))
        // Answered, or the connection was closed: never left hanging with nothing.
        expect(answer.head !== undefined || answer.closed, `no answer and no close: ${what}`).toBe(true)
        seen(`raw ${answer.head?.slice(9, 12) ?? (answer.closed ? 'closed' : 'none')}`)
        if (answer.head !== undefined) {
          const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(answer.head)?.[1])
          expect(Number.isInteger(status), `${what} → ${answer.head}`).toBe(true)
          expect(status < 500 || status === 503 || status === 505, `${what} → ${answer.head}`).toBe(true)
        }
      }),
      { numRuns: 50 * SCALE, plugins: [fc.interruptAfterTimeLimit(PROPERTY_TIME_MS)] },
    )
    expect(runs).toBeGreaterThan(10)
    await expectPing(app)
    const ready = await app.inject({ method: 'GET', url: '/ready' })
    expect(ready.statusCode).toBe(200)
  })
})
