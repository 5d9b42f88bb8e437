// The HTTP status contract of the Streamable HTTP endpoint, the legacy endpoints and the health routes:
// every status gets a test that checks the status and the JSON-RPC error body (code, message, echoed id).
import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import mcpProxy from '../src/index.js'
import { buildApp, listen } from './helpers.js'
import {
  answersOf,
  closeAfterTest,
  echoCall,
  expectJsonRpcError,
  fetchWithin,
  initializeRequest,
  initSession,
  LATEST,
  openStream,
  post,
  POST_HEADERS,
  rawRequest,
  rpcNotification,
  rpcRequest,
  sseMessages,
  parseSse,
  within,
} from './http-helpers.js'

const PARSE_ERROR = -32700
const INVALID_REQUEST = -32600
const SERVER_ERROR = -32000
const SESSION_NOT_FOUND = -32001

describe('POST /mcp: initialize', () => {
  it('answers 200 text/event-stream with a visible-ASCII mcp-session-id and the InitializeResult in a data: line', async () => {
    const app = await buildApp()
    const res = await post(app, initializeRequest(1))
    expect(res.statusCode, res.body).toBe(200)
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/)
    const sessionId = res.headers['mcp-session-id']
    expect(typeof sessionId).toBe('string')
    expect(sessionId).toMatch(/^[\x21-\x7E]+$/)
    const dataLines = res.body.split('\n').filter((line) => line.startsWith('data:') && line.length > 'data: '.length)
    expect(dataLines).toHaveLength(1)
    const answer = JSON.parse(dataLines[0]!.slice('data:'.length)) as { jsonrpc: string; id: number; result: Record<string, unknown> }
    expect(answer.jsonrpc).toBe('2.0')
    expect(answer.id).toBe(1)
    expect(answer.result.protocolVersion).toBe(LATEST)
    expect(answer.result).toHaveProperty('serverInfo')
    expect(answer.result).toHaveProperty('capabilities')
  })

  it('issues a different session id to every session', async () => {
    const app = await buildApp()
    const ids = new Set<string>()
    for (let i = 0; i < 3; i++) ids.add((await initSession(app, { initialized: false })).sessionId)
    expect(ids.size).toBe(3)
  })

  it('instanceId: session ids are <instanceId>.<uuid>, visible ASCII, and every answer names the instance', async () => {
    const app = await buildApp({ instanceId: 'node-a' })
    const { sessionId } = await initSession(app)
    expect(sessionId).toMatch(/^node-a\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    const refused = await post(app, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { 'mcp-session-id': 'node-b.nope' })
    expect(refused.statusCode).toBe(404)
    expect(refused.headers['mcp-proxy-instance']).toBe('node-a')
    const ready = await app.inject({ method: 'GET', url: '/ready' })
    expect(ready.headers['mcp-proxy-instance']).toBe('node-a')
    expect(ready.json()).toMatchObject({ status: 'ready', instance: 'node-a' })
  })

  it('jsonResponse: answers application/json with the InitializeResult as the body', async () => {
    const app = await buildApp({ jsonResponse: true })
    const res = await post(app, initializeRequest(7))
    expect(res.statusCode, res.body).toBe(200)
    expect(res.headers['content-type']).toMatch(/^application\/json/)
    expect(typeof res.headers['mcp-session-id']).toBe('string')
    const body = JSON.parse(res.body) as { jsonrpc: string; id: number; result: { protocolVersion: string } }
    expect(body).toMatchObject({ jsonrpc: '2.0', id: 7, result: { protocolVersion: LATEST } })
  })

  it('initialize on an existing session id → 400 -32600 with the id echoed', async () => {
    const app = await buildApp()
    const { sessionId } = await initSession(app)
    const res = await post(app, initializeRequest('again'), { 'mcp-session-id': sessionId })
    expectJsonRpcError(res, 400, INVALID_REQUEST, 'again')
  })

  it('initialize inside a batch → 400 -32600 (with and without a session)', async () => {
    const app = await buildApp()
    const batch = [initializeRequest(1, '2025-03-26'), rpcRequest(2, 'ping')]
    expectJsonRpcError(await post(app, batch), 400, INVALID_REQUEST, 1)
    const { sessionId } = await initSession(app, { protocolVersion: '2025-03-26' })
    expectJsonRpcError(await post(app, batch, { 'mcp-session-id': sessionId }), 400, INVALID_REQUEST, 1)
  })

  it('maxSessions: 1 → the second initialize gets 503 with Retry-After while the first session is busy', async () => {
    const { app, base } = await listen({ maxSessions: 1 })
    const { sessionId } = await initSession(app)
    // An open GET stream keeps the session from being the idle one that gives way at the cap.
    const stream = await openStream(`${base}/mcp`, { headers: { accept: 'text/event-stream', 'mcp-session-id': sessionId } })
    expect(stream.response.status).toBe(200)
    const res = await post(app, initializeRequest(2))
    expectJsonRpcError(res, 503, SERVER_ERROR, 2)
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0)
  })
})

describe('POST /mcp: 202 for notifications and responses', () => {
  it('notification-only POST (notifications/initialized with the session) → 202 with an empty body', async () => {
    const app = await buildApp()
    const { sessionId } = await initSession(app, { initialized: false })
    const res = await post(app, rpcNotification('notifications/initialized'), { 'mcp-session-id': sessionId })
    expect(res.statusCode).toBe(202)
    expect(res.body).toBe('')
  })

  it('response-only POST → 202 with an empty body', async () => {
    const app = await buildApp()
    const { sessionId } = await initSession(app)
    const res = await post(app, { jsonrpc: '2.0', id: 'srv-1', result: {} }, { 'mcp-session-id': sessionId })
    expect(res.statusCode).toBe(202)
    expect(res.body).toBe('')
  })

  it('a 2025-03-26 batch of notifications only → 202', async () => {
    const app = await buildApp()
    const { sessionId } = await initSession(app, { protocolVersion: '2025-03-26' })
    const res = await post(app, [rpcNotification('notifications/cancelled', { requestId: 99 }), rpcNotification('notifications/roots/list_changed')], {
      'mcp-session-id': sessionId,
    })
    expect(res.statusCode).toBe(202)
    expect(res.body).toBe('')
  })
})

describe('POST /mcp: sessions', () => {
  it('a request with a session → 200 with its answer', async () => {
    const app = await buildApp()
    const { sessionId } = await initSession(app)
    const res = await post(app, echoCall(5, 'hi'), { 'mcp-session-id': sessionId, 'mcp-protocol-version': LATEST })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.headers['mcp-session-id']).toBe(sessionId)
    expect(answersOf(res)).toEqual([{ jsonrpc: '2.0', id: 5, result: { content: [{ type: 'text', text: 'hi' }] } }])
  })

  it('missing session on a non-initialize request → 400 with the id echoed', async () => {
    const app = await buildApp()
    expectJsonRpcError(await post(app, rpcRequest(3, 'tools/list')), 400, SERVER_ERROR, 3)
  })

  it('unknown session → 404 -32001 with the id echoed', async () => {
    const app = await buildApp()
    const body = expectJsonRpcError(await post(app, rpcRequest('abc', 'tools/list'), { 'mcp-session-id': 'no-such-session' }), 404, SESSION_NOT_FOUND, 'abc')
    expect(body.error.data).toEqual({ reason: 'MCP_PROXY_UNKNOWN_SESSION' })
  })

  it('unknown session → 404 also for a notification', async () => {
    const app = await buildApp()
    expectJsonRpcError(await post(app, rpcNotification('notifications/initialized'), { 'mcp-session-id': 'nope' }), 404, SESSION_NOT_FOUND)
  })

  it('unknown session → 404 when an API key is configured and the request carries the right key', async () => {
    const app = await buildApp({ apiKey: 'secret' })
    const res = await post(app, rpcRequest(4, 'tools/list'), { 'mcp-session-id': 'nope', 'x-api-key': 'secret' })
    expectJsonRpcError(res, 404, SESSION_NOT_FOUND, 4)
  })

  it('with the modern leg off, a 2026-07-28 request (protocol version in _meta, no session) → 400 with a legacy error code', async () => {
    const app = await buildApp({ modern: false })
    const modern = rpcRequest(9, 'tools/list', {
      _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} },
    })
    for (const headers of [{}, { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/list' }]) {
      const res = await post(app, modern, headers)
      const body = expectJsonRpcError(res, 400, SERVER_ERROR, 9)
      expect([-32020, -32021, -32022]).not.toContain(body.error.code)
      expect(res.headers['mcp-session-id']).toBeUndefined()
    }
  })
})

describe('POST /mcp: headers and body', () => {
  it('Accept without both types → 406', async () => {
    const app = await buildApp()
    for (const accept of ['application/json', 'text/event-stream', 'text/html']) {
      expectJsonRpcError(await post(app, initializeRequest(1), { accept }), 406, SERVER_ERROR)
    }
    expectJsonRpcError(await post(app, initializeRequest(1), { accept: undefined }), 406, SERVER_ERROR)
  })

  it('Accept: */* (and type wildcards with parameters) are accepted', async () => {
    const app = await buildApp()
    for (const accept of ['*/*', 'application/*;q=0.9, text/*;q=0.8']) {
      const res = await post(app, initializeRequest(1), { accept })
      expect(res.statusCode, `${accept}: ${res.body}`).toBe(200)
      expect(typeof res.headers['mcp-session-id']).toBe('string')
    }
  })

  it('Content-Type: text/plain → 415', async () => {
    const app = await buildApp()
    expectJsonRpcError(await post(app, initializeRequest(1), { 'content-type': 'text/plain' }), 415, SERVER_ERROR)
  })

  it('other JSON-ish media types → 415; the media type is case-insensitive', async () => {
    const app = await buildApp()
    for (const contentType of ['application/json-seq', 'application/jsonx', 'application/vnd.api+json', 'text/json']) {
      expectJsonRpcError(await post(app, initializeRequest(1), { 'content-type': contentType }), 415, SERVER_ERROR)
    }
    expect((await post(app, initializeRequest(1), { 'content-type': 'Application/JSON' })).statusCode).toBe(200)
  })

  it('missing Content-Type with a body → 415', async () => {
    const app = await buildApp()
    const res = await app.inject({
      method: 'POST',
      url: '/mcp',
      headers: { accept: POST_HEADERS.accept },
      payload: Buffer.from(JSON.stringify(initializeRequest(1))),
    })
    expect(res.headers['content-type']).toMatch(/^application\/json/)
    expectJsonRpcError(res, 415, SERVER_ERROR)
  })

  it('missing Content-Type with a body, over real HTTP → 415', async () => {
    const { base } = await listen()
    const body = JSON.stringify(initializeRequest(1))
    const res = await rawRequest(`${base}/mcp`, {
      method: 'POST',
      headers: { accept: POST_HEADERS.accept, 'content-length': Buffer.byteLength(body) },
      chunks: [body],
    })
    expectJsonRpcError(res, 415, SERVER_ERROR)
  })

  it('no body at all → 415 (the body must be application/json)', async () => {
    const app = await buildApp()
    const res = await app.inject({ method: 'POST', url: '/mcp', headers: { accept: POST_HEADERS.accept } })
    expectJsonRpcError(res, 415, SERVER_ERROR)
  })

  it('Content-Type: application/json with an empty body → 400 -32700', async () => {
    const app = await buildApp()
    expectJsonRpcError(await post(app, ''), 400, PARSE_ERROR)
  })

  it('application/json; charset=utf-8 is accepted', async () => {
    const app = await buildApp()
    const res = await post(app, initializeRequest(1), { 'content-type': 'application/json; charset=utf-8' })
    expect(res.statusCode, res.body).toBe(200)
  })

  it('malformed JSON → 400 -32700', async () => {
    const app = await buildApp()
    expectJsonRpcError(await post(app, '{"jsonrpc":"2.0","id":1,"method":'), 400, PARSE_ERROR)
  })

  it('valid JSON but not JSON-RPC → 400 -32600, with the id echoed when there is one', async () => {
    const app = await buildApp()
    expectJsonRpcError(await post(app, { hello: 'world' }), 400, INVALID_REQUEST)
    expectJsonRpcError(await post(app, 42), 400, INVALID_REQUEST)
    expectJsonRpcError(await post(app, []), 400, INVALID_REQUEST)
    expectJsonRpcError(await post(app, { jsonrpc: '2.0', id: 11, params: {} }), 400, INVALID_REQUEST, 11)
    expectJsonRpcError(await post(app, { jsonrpc: '1.0', id: 'x', method: 'tools/list' }), 400, INVALID_REQUEST, 'x')
    expectJsonRpcError(await post(app, { jsonrpc: '2.0', id: 12, method: 7 }), 400, INVALID_REQUEST, 12)
  })

  it('a JSON-RPC id that is an object (or null, or a boolean) → 400 -32600', async () => {
    const app = await buildApp()
    for (const id of [{ a: 1 }, null, true, [1]]) {
      expectJsonRpcError(await post(app, { jsonrpc: '2.0', id, method: 'initialize', params: {} }), 400, INVALID_REQUEST)
    }
  })

  it('one invalid message in a batch refuses the whole POST → 400 -32600', async () => {
    const app = await buildApp()
    const { sessionId } = await initSession(app, { protocolVersion: '2025-03-26' })
    const res = await post(app, [rpcRequest(1, 'ping'), { jsonrpc: '2.0', id: 2 }], { 'mcp-session-id': sessionId })
    expectJsonRpcError(res, 400, INVALID_REQUEST, 2)
  })

  it('unsupported MCP-Protocol-Version → 400 with the id echoed', async () => {
    const app = await buildApp()
    const { sessionId } = await initSession(app)
    const res = await post(app, rpcRequest(21, 'tools/list'), { 'mcp-session-id': sessionId, 'mcp-protocol-version': '1999-01-01' })
    expectJsonRpcError(res, 400, SERVER_ERROR, 21)
    // Every supported revision passes.
    for (const version of ['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25']) {
      const ok = await post(app, rpcRequest(22, 'ping'), { 'mcp-session-id': sessionId, 'mcp-protocol-version': version })
      expect(ok.statusCode, `${version}: ${ok.body}`).toBe(200)
    }
  })

  it('body over maxBodySize with a Content-Length → 413', async () => {
    const app = await buildApp({ maxBodySize: 1024 })
    const big = { ...echoCall(1, 'x'.repeat(4096)) }
    const res = await post(app, big)
    expectJsonRpcError(res, 413, INVALID_REQUEST)
  })

  it('maxBodySize is inclusive: exactly the limit is read, one byte more is 413', async () => {
    const app = await buildApp({ maxBodySize: 1024 })
    const exact = (size: number): string => {
      const base = JSON.stringify(initializeRequest(1))
      return base.slice(0, -1) + ' '.repeat(size - Buffer.byteLength(base)) + '}'
    }
    expect(Buffer.byteLength(exact(1024))).toBe(1024)
    expect((await post(app, exact(1024))).statusCode).toBe(200)
    expectJsonRpcError(await post(app, exact(1025)), 413, INVALID_REQUEST)
  })

  it('a body just under maxBodySize is accepted', async () => {
    const app = await buildApp({ maxBodySize: 1024 })
    const body = JSON.stringify(initializeRequest(1))
    expect(Buffer.byteLength(body)).toBeLessThan(1024)
    expect((await post(app, body)).statusCode).toBe(200)
  })

  it('the default maxBodySize (4 MiB) accepts a 2 MiB body (over Fastify\'s own 1 MiB default)', async () => {
    const app = await buildApp()
    const { sessionId } = await initSession(app)
    const text = 'b'.repeat(2 * 1024 * 1024)
    const res = await post(app, echoCall(1, text), { 'mcp-session-id': sessionId })
    expect(res.statusCode, res.body.slice(0, 300)).toBe(200)
    const [answer] = answersOf(res)
    expect((answer?.result as { content: Array<{ text: string }> }).content[0]?.text.length).toBe(text.length)
  })

  it('body over maxBodySize, chunked (no Content-Length) through inject → 413', async () => {
    const app = await buildApp({ maxBodySize: 1024 })
    const { Readable } = await import('node:stream')
    const chunk = ' '.repeat(512)
    const res = await app.inject({
      method: 'POST',
      url: '/mcp',
      headers: { ...POST_HEADERS },
      payload: Readable.from([`{"jsonrpc":"2.0","id":1,"method":"ping"`, chunk, chunk, chunk, '}']),
    })
    expectJsonRpcError(res, 413, INVALID_REQUEST)
  })

  it('body over maxBodySize, chunked over real HTTP (Content-Length and Transfer-Encoding: chunked) → 413', async () => {
    const { base } = await listen({ maxBodySize: 1024 })
    const withLength = JSON.stringify(echoCall(1, 'y'.repeat(4096)))
    expectJsonRpcError(
      await rawRequest(`${base}/mcp`, { method: 'POST', headers: { ...POST_HEADERS, 'content-length': Buffer.byteLength(withLength) }, chunks: [withLength] }),
      413,
      INVALID_REQUEST,
    )
    const chunk = ' '.repeat(600)
    const chunked = await rawRequest(`${base}/mcp`, {
      method: 'POST',
      headers: { ...POST_HEADERS, 'transfer-encoding': 'chunked' },
      chunks: ['{"jsonrpc":"2.0","id":1,"method":"ping"', chunk, chunk, '}'],
    })
    expectJsonRpcError(chunked, 413, INVALID_REQUEST)
  })
})

describe('POST /mcp: batches', () => {
  it('a batch on a 2025-03-26 session is accepted: both answered on the SSE stream', async () => {
    const app = await buildApp()
    const { sessionId } = await initSession(app, { protocolVersion: '2025-03-26' })
    const res = await post(app, [echoCall(1, 'a'), rpcRequest(2, 'ping'), rpcNotification('notifications/roots/list_changed')], {
      'mcp-session-id': sessionId,
    })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/)
    const answers = sseMessages(res.body)
    expect(answers.map((a) => a.id).sort()).toEqual([1, 2])
    expect(answers.find((a) => a.id === 1)).toEqual({ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'a' }] } })
    expect(answers.find((a) => a.id === 2)).toEqual({ jsonrpc: '2.0', id: 2, result: {} })
  })

  it('a batch on a 2025-03-26 session with jsonResponse → a JSON array of both answers', async () => {
    const app = await buildApp({ jsonResponse: true })
    const { sessionId } = await initSession(app, { protocolVersion: '2025-03-26' })
    const res = await post(app, [echoCall('a', 'x'), echoCall('b', 'y')], { 'mcp-session-id': sessionId })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.headers['content-type']).toMatch(/^application\/json/)
    const body = JSON.parse(res.body) as Array<{ id: string; result: unknown }>
    expect(Array.isArray(body)).toBe(true)
    expect(body.map((m) => m.id).sort()).toEqual(['a', 'b'])
    expect(body.find((m) => m.id === 'b')?.result).toEqual({ content: [{ type: 'text', text: 'y' }] })
  })

  it('a batch on a 2025-06-18 session → 400 -32600 with the first id echoed', async () => {
    const app = await buildApp()
    const { sessionId } = await initSession(app, { protocolVersion: '2025-06-18' })
    const res = await post(app, [rpcRequest(1, 'ping'), rpcRequest(2, 'ping')], { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' })
    expectJsonRpcError(res, 400, INVALID_REQUEST, 1)
  })
})

describe('DELETE /mcp', () => {
  it('DELETE → 200, then the same id → 404 (POST, GET and DELETE)', async () => {
    const app = await buildApp()
    const { sessionId } = await initSession(app)
    const del = await app.inject({ method: 'DELETE', url: '/mcp', headers: { 'mcp-session-id': sessionId } })
    expect(del.statusCode, del.body).toBe(200)
    expectJsonRpcError(await app.inject({ method: 'DELETE', url: '/mcp', headers: { 'mcp-session-id': sessionId } }), 404, SESSION_NOT_FOUND)
    expectJsonRpcError(await post(app, rpcRequest(1, 'ping'), { 'mcp-session-id': sessionId }), 404, SESSION_NOT_FOUND, 1)
    expectJsonRpcError(
      await app.inject({ method: 'GET', url: '/mcp', headers: { accept: 'text/event-stream', 'mcp-session-id': sessionId } }),
      404,
      SESSION_NOT_FOUND,
    )
  })

  it('DELETE with a JSON Content-Type and no body still ends the session', async () => {
    const app = await buildApp()
    const { sessionId } = await initSession(app)
    const del = await app.inject({ method: 'DELETE', url: '/mcp', headers: { 'mcp-session-id': sessionId, 'content-type': 'application/json' } })
    expect(del.statusCode, del.body).toBe(200)
    expectJsonRpcError(await app.inject({ method: 'DELETE', url: '/mcp', headers: { 'mcp-session-id': sessionId } }), 404, SESSION_NOT_FOUND)
  })

  it('DELETE ends the open GET stream of the session', async () => {
    const { app, base } = await listen()
    const { sessionId } = await initSession(app)
    const stream = await openStream(`${base}/mcp`, { headers: { accept: 'text/event-stream', 'mcp-session-id': sessionId } })
    expect(stream.response.status).toBe(200)
    const del = await fetchWithin(`${base}/mcp`, { method: 'DELETE', headers: { 'mcp-session-id': sessionId } })
    expect(del.response.status).toBe(200)
    expect(await stream.reader.ended('the GET stream to end after DELETE')).toBe(true)
  })

  it('DELETE without the session header → 400', async () => {
    const app = await buildApp()
    expectJsonRpcError(await app.inject({ method: 'DELETE', url: '/mcp' }), 400, SERVER_ERROR)
  })

  it('DELETE with an unknown session → 404', async () => {
    const app = await buildApp()
    expectJsonRpcError(await app.inject({ method: 'DELETE', url: '/mcp', headers: { 'mcp-session-id': 'nope' } }), 404, SESSION_NOT_FOUND)
  })
})

describe('GET /mcp', () => {
  it('Accept: application/json only → 406', async () => {
    const app = await buildApp()
    const { sessionId } = await initSession(app)
    const res = await app.inject({ method: 'GET', url: '/mcp', headers: { accept: 'application/json', 'mcp-session-id': sessionId } })
    expectJsonRpcError(res, 406, SERVER_ERROR)
  })

  it('unknown session → 404; missing session → 405 (a GET gets a stream or 405; there is none before initialize)', async () => {
    const app = await buildApp()
    expectJsonRpcError(await app.inject({ method: 'GET', url: '/mcp', headers: { accept: 'text/event-stream', 'mcp-session-id': 'nope' } }), 404, SESSION_NOT_FOUND)
    const missing = await app.inject({ method: 'GET', url: '/mcp', headers: { accept: 'text/event-stream' } })
    expectJsonRpcError(missing, 405, SERVER_ERROR)
    expect(missing.headers.allow).toBe('POST')
  })

  it('unsupported MCP-Protocol-Version → 400', async () => {
    const app = await buildApp()
    const { sessionId } = await initSession(app)
    const res = await app.inject({
      method: 'GET',
      url: '/mcp',
      headers: { accept: 'text/event-stream', 'mcp-session-id': sessionId, 'mcp-protocol-version': '1999-01-01' },
    })
    expectJsonRpcError(res, 400, SERVER_ERROR)
  })

  it('opens the standalone stream (200 text/event-stream); a second concurrent GET is served too', async () => {
    const { app, base } = await listen()
    const { sessionId } = await initSession(app)
    const first = await openStream(`${base}/mcp`, { headers: { accept: 'text/event-stream', 'mcp-session-id': sessionId, 'mcp-protocol-version': LATEST } })
    expect(first.response.status).toBe(200)
    expect(first.response.headers.get('content-type')).toMatch(/^text\/event-stream/)
    expect(first.response.headers.get('mcp-session-id')).toBe(sessionId)
    expect(first.response.headers.get('cache-control')).toContain('no-cache')
    const second = await openStream(`${base}/mcp`, { headers: { accept: 'text/event-stream', 'mcp-session-id': sessionId } })
    expect(second.response.status).toBe(200)
  })

  it('after the first GET stream closes, a new GET is accepted again', async () => {
    const { app, base } = await listen()
    const { sessionId } = await initSession(app)
    const headers = { accept: 'text/event-stream', 'mcp-session-id': sessionId }
    const first = await openStream(`${base}/mcp`, { headers })
    expect(first.response.status).toBe(200)
    first.controller.abort()
    // The server notices the disconnect asynchronously: retry (bounded) until the GET is accepted.
    const reopened = await within(
      (async () => {
        for (;;) {
          const next = await openStream(`${base}/mcp`, { headers })
          if (next.response.status === 200) return next
          throw new Error(`GET answered ${next.response.status}`)
        }
      })(),
      'a second GET to be accepted',
    )
    expect(reopened.response.headers.get('content-type')).toMatch(/^text\/event-stream/)
  })

  it("Last-Event-ID of this session → 200 replay; the same id on another session → 404", async () => {
    const app = await buildApp()
    const a = await initSession(app)
    const b = await initSession(app)
    const call = await post(app, echoCall(4, 'replay me'), { 'mcp-session-id': a.sessionId, 'mcp-protocol-version': LATEST })
    expect(call.statusCode).toBe(200)
    const ids = parseSse(call.body)
      .map((e) => e.id)
      .filter((id): id is string => id !== undefined)
    expect(ids.length).toBeGreaterThan(0)
    const firstId = ids[0]!
    const replay = await app.inject({
      method: 'GET',
      url: '/mcp',
      headers: { accept: 'text/event-stream', 'mcp-session-id': a.sessionId, 'last-event-id': firstId },
    })
    expect(replay.statusCode).toBe(200)
    expect(replay.headers['content-type']).toMatch(/^text\/event-stream/)
    expect(sseMessages(replay.body)).toEqual([{ jsonrpc: '2.0', id: 4, result: { content: [{ type: 'text', text: 'replay me' }] } }])
    const foreign = await app.inject({
      method: 'GET',
      url: '/mcp',
      headers: { accept: 'text/event-stream', 'mcp-session-id': b.sessionId, 'last-event-id': firstId },
    })
    expectJsonRpcError(foreign, 404, SERVER_ERROR)
  })

  it('HEAD /mcp is answered at once and does not take the standalone stream', async () => {
    const { app, base } = await listen()
    const { sessionId } = await initSession(app)
    const headers = { accept: 'text/event-stream', 'mcp-session-id': sessionId }
    const head = await fetchWithin(`${base}/mcp`, { method: 'HEAD', headers })
    expect([200, 404, 405]).toContain(head.response.status)
    const get = await openStream(`${base}/mcp`, { headers })
    expect(get.response.status).toBe(200)
  })

  it('unknown Last-Event-ID → 404', async () => {
    const app = await buildApp()
    const { sessionId } = await initSession(app)
    const res = await app.inject({
      method: 'GET',
      url: '/mcp',
      headers: { accept: 'text/event-stream', 'mcp-session-id': sessionId, 'last-event-id': 'r99_no-such-event' },
    })
    expectJsonRpcError(res, 404, SERVER_ERROR)
    expect(res.headers['mcp-session-id']).toBe(sessionId)
  })
})

describe('legacy endpoints', () => {
  it('POST /sse → 405 with Allow: GET', async () => {
    const app = await buildApp()
    const res = await post(app, initializeRequest(1), {}, '/sse')
    expectJsonRpcError(res, 405, SERVER_ERROR)
    expect(res.headers.allow).toBe('GET')
  })

  it('POST /messages without sessionId → 400; with an unknown one → 404', async () => {
    const app = await buildApp()
    expectJsonRpcError(await post(app, rpcRequest(1, 'ping'), {}, '/messages'), 400, SERVER_ERROR)
    expectJsonRpcError(await post(app, rpcRequest(1, 'ping'), {}, '/messages?sessionId='), 400, SERVER_ERROR)
    expectJsonRpcError(await post(app, rpcRequest(1, 'ping'), {}, '/messages?sessionId=nope'), 404, SESSION_NOT_FOUND)
  })

  it('POST /messages with a Streamable HTTP session id → 404 (sessions do not cross transports)', async () => {
    const app = await buildApp()
    const { sessionId } = await initSession(app)
    expectJsonRpcError(await post(app, rpcRequest(1, 'ping'), {}, `/messages?sessionId=${encodeURIComponent(sessionId)}`), 404, SESSION_NOT_FOUND)
  })
})

describe('health', () => {
  it('GET /ping → 200 "pong", without the API key', async () => {
    const app = await buildApp({ apiKey: 'secret' })
    const res = await app.inject({ method: 'GET', url: '/ping' })
    expect(res.statusCode).toBe(200)
    expect(res.body).toBe('pong')
    expect(res.headers['content-type']).toMatch(/^text\/plain/)
  })

  it('GET /ready → 200 JSON with the session count', async () => {
    const app = await buildApp()
    const before = await app.inject({ method: 'GET', url: '/ready' })
    expect(before.statusCode).toBe(200)
    expect(before.headers['content-type']).toMatch(/^application\/json/)
    expect(before.json()).toMatchObject({ status: 'ready', mode: 'session', sessions: 0 })
    await initSession(app)
    await initSession(app)
    expect((await app.inject({ method: 'GET', url: '/ready' })).json()).toMatchObject({ status: 'ready', mode: 'session', sessions: 2 })
  })

  it('a command that cannot be spawned makes app.ready() reject', async () => {
    const app = closeAfterTest(Fastify({ logger: false, forceCloseConnections: true }))
    await app.register(mcpProxy, { command: '/nonexistent/bin', stopGrace: 100 })
    const error = await app.ready().then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(Error)
    expect(String((error as Error).message)).toMatch(/nonexistent|ENOENT|spawn/i)
  })
})
