// The legacy HTTP+SSE transport (2024-11-05) over raw HTTP: GET /sse opens the stream whose first event
// names the POST URL; POSTs to it get 202 and their answers arrive as `message` events on the stream.
import { describe, expect, it } from 'vitest'
import { buildApp, listen } from './helpers.js'
import {
  asInjectLike,
  echoCall,
  expectJsonRpcError,
  fetchWithin,
  initializeRequest,
  openStream,
  post,
  POST_HEADERS,
  rpcNotification,
  rpcRequest,
  WAIT_MS,
  within,
  type OpenStream,
} from './http-helpers.js'

const SERVER_ERROR = -32000
const SESSION_NOT_FOUND = -32001

interface LegacySession extends OpenStream {
  sessionId: string
  /** The absolute URL to POST messages to, resolved from the `endpoint` event against the SSE URL. */
  endpoint: string
  endpointData: string
}

async function openLegacy(base: string, path = '/sse', headers: Record<string, string> = {}): Promise<LegacySession> {
  const sseUrl = `${base}${path}`
  const stream = await openStream(sseUrl, { headers: { accept: 'text/event-stream', ...headers } })
  expect(stream.response.status).toBe(200)
  const first = await stream.reader.next('the endpoint event')
  if (!first) throw new Error('the SSE stream ended before the endpoint event')
  expect(first.event).toBe('endpoint')
  const endpoint = new URL(first.data, sseUrl)
  const sessionId = endpoint.searchParams.get('sessionId')
  if (!sessionId) throw new Error(`no sessionId in ${first.data}`)
  return { ...stream, sessionId, endpoint: endpoint.href, endpointData: first.data }
}

/** POST one message to the legacy endpoint; the answer is 202 "Accepted" when the message is taken. */
async function send(url: string, message: unknown, headers: Record<string, string> = {}): Promise<{ response: Response; text: string }> {
  return fetchWithin(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(message) })
}

async function nextMessage(session: LegacySession, id: number | string): Promise<Record<string, unknown>> {
  const event = await session.reader.until((e) => e.event === 'message' && (JSON.parse(e.data) as { id?: unknown }).id === id, `the answer to ${id}`)
  return JSON.parse(event.data) as Record<string, unknown>
}

describe('legacy HTTP+SSE over raw HTTP', () => {
  it('GET /sse → 200 text/event-stream whose first event is `endpoint` with /messages?sessionId=…', async () => {
    const { base } = await listen()
    const session = await openLegacy(base)
    const { response } = session
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/)
    expect(response.headers.get('cache-control')).toContain('no-cache')
    expect(response.headers.get('mcp-session-id')).toBe(session.sessionId)
    expect(session.endpointData).toBe(`/messages?sessionId=${encodeURIComponent(session.sessionId)}`)
    // Same origin as the SSE URL (the TS client refuses anything else).
    expect(new URL(session.endpoint).origin).toBe(base)
    expect(session.sessionId).toMatch(/^[\x21-\x7E]+$/)
  })

  it('a full conversation: every POST → 202 "Accepted", answers arrive as `message` events on the stream', async () => {
    const { base } = await listen()
    const session = await openLegacy(base)

    const init = await send(session.endpoint, initializeRequest(1, '2024-11-05'))
    expect(init.response.status).toBe(202)
    expect(init.text).toBe('Accepted')
    expect(init.response.headers.get('content-type')).toMatch(/^text\/plain/)
    const initialized = await nextMessage(session, 1)
    expect(initialized).toMatchObject({ jsonrpc: '2.0', id: 1, result: { protocolVersion: '2024-11-05' } })

    const note = await send(session.endpoint, rpcNotification('notifications/initialized'))
    expect(note.response.status).toBe(202)

    const call = await send(session.endpoint, echoCall(2, 'legacy ✓'))
    expect(call.response.status).toBe(202)
    expect(call.text).toBe('Accepted')
    expect(await nextMessage(session, 2)).toEqual({ jsonrpc: '2.0', id: 2, result: { content: [{ type: 'text', text: 'legacy ✓' }] } })

    expect((await send(session.endpoint, rpcRequest('p', 'ping'))).response.status).toBe(202)
    expect(await nextMessage(session, 'p')).toEqual({ jsonrpc: '2.0', id: 'p', result: {} })
  })

  it('two legacy sessions are independent: each answer goes to its own stream', async () => {
    const { base } = await listen()
    const a = await openLegacy(base)
    const b = await openLegacy(base)
    expect(a.sessionId).not.toBe(b.sessionId)
    for (const s of [a, b]) await send(s.endpoint, initializeRequest(1, '2024-11-05'))
    await nextMessage(a, 1)
    await nextMessage(b, 1)
    await send(b.endpoint, echoCall(7, 'to-b'))
    await send(a.endpoint, echoCall(7, 'to-a'))
    expect(await nextMessage(a, 7)).toMatchObject({ result: { content: [{ text: 'to-a' }] } })
    expect(await nextMessage(b, 7)).toMatchObject({ result: { content: [{ text: 'to-b' }] } })
  })

  it('POST /messages errors: missing sessionId → 400, unknown → 404, malformed JSON → 400 -32700, not JSON-RPC → 400 -32600, text/plain → 415', async () => {
    const { base } = await listen()
    const session = await openLegacy(base)

    const missing = await send(`${base}/messages`, rpcRequest(1, 'ping'))
    expectJsonRpcError(asInjectLike(missing.response, missing.text), 400, SERVER_ERROR)
    const unknown = await send(`${base}/messages?sessionId=nope`, rpcRequest(1, 'ping'))
    expectJsonRpcError(asInjectLike(unknown.response, unknown.text), 404, SESSION_NOT_FOUND)

    const malformed = await fetchWithin(session.endpoint, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"jsonrpc":' })
    expectJsonRpcError(asInjectLike(malformed.response, malformed.text), 400, -32700)
    const invalid = await send(session.endpoint, { jsonrpc: '2.0', id: 5 })
    expectJsonRpcError(asInjectLike(invalid.response, invalid.text), 400, -32600, 5)
    const plain = await fetchWithin(session.endpoint, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(rpcRequest(1, 'ping')) })
    expectJsonRpcError(asInjectLike(plain.response, plain.text), 415, SERVER_ERROR)
    const empty = await fetchWithin(session.endpoint, { method: 'POST' })
    expectJsonRpcError(asInjectLike(empty.response, empty.text), 415, SERVER_ERROR)
  })

  it('closing the SSE stream ends the session: its endpoint then answers 404', async () => {
    const { app, base } = await listen()
    const session = await openLegacy(base)
    expect((await app.inject({ method: 'GET', url: '/ready' })).json()).toMatchObject({ sessions: 1 })
    session.controller.abort()
    // The server learns of the disconnect asynchronously: poll (bounded) until the session is gone.
    await within(
      (async () => {
        for (;;) {
          const res = await post(app, rpcRequest(1, 'ping'), {}, `/messages?sessionId=${encodeURIComponent(session.sessionId)}`)
          if (res.statusCode === 404) return expectJsonRpcError(res, 404, SESSION_NOT_FOUND)
          expect(res.statusCode).toBe(202)
          await new Promise((resolve) => setTimeout(resolve, 20))
        }
      })(),
      'the session to end',
      WAIT_MS,
    )
    expect((await app.inject({ method: 'GET', url: '/ready' })).json()).toMatchObject({ sessions: 0 })
  })

  it('maxSessions: 1 → a second GET /sse gets 503 with Retry-After', async () => {
    const { base } = await listen({ maxSessions: 1 })
    await openLegacy(base)
    const second = await fetchWithin(`${base}/sse`, { headers: { accept: 'text/event-stream' } })
    expectJsonRpcError(asInjectLike(second.response, second.text), 503, SERVER_ERROR)
    expect(Number(second.response.headers.get('retry-after'))).toBeGreaterThan(0)
  })

  it('POST /sse (a Streamable HTTP client probing the SSE URL) → 405 with Allow: GET, so the client falls back', async () => {
    const { base } = await listen()
    const res = await fetchWithin(`${base}/sse`, { method: 'POST', headers: POST_HEADERS, body: JSON.stringify(initializeRequest(1)) })
    expectJsonRpcError(asInjectLike(res.response, res.text), 405, SERVER_ERROR)
    expect(res.response.headers.get('allow')).toBe('GET')
  })

  it('custom messagesEndpoint is named in the endpoint event; sseEndpoint: false disables the transport', async () => {
    const { base } = await listen({ sseEndpoint: '/events', messagesEndpoint: '/rpc' })
    const session = await openLegacy(base, '/events')
    expect(session.endpointData).toBe(`/rpc?sessionId=${encodeURIComponent(session.sessionId)}`)
    expect((await send(session.endpoint, initializeRequest(1, '2024-11-05'))).response.status).toBe(202)
    await nextMessage(session, 1)

    const off = await buildApp({ sseEndpoint: false })
    expect((await off.inject({ method: 'GET', url: '/sse' })).statusCode).toBe(404)
    expect((await post(off, rpcRequest(1, 'ping'), {}, '/messages?sessionId=x')).statusCode).toBe(404)
  })

  it('with an API key, the stream and the endpoint work with the key', async () => {
    const { base } = await listen({ apiKey: 'secret' })
    const session = await openLegacy(base, '/sse', { authorization: 'Bearer secret' })
    const noKey = await send(session.endpoint, initializeRequest(1, '2024-11-05'))
    expectJsonRpcError(asInjectLike(noKey.response, noKey.text), 403, SERVER_ERROR)
    expect((await send(session.endpoint, initializeRequest(1, '2024-11-05'), { 'x-api-key': 'secret' })).response.status).toBe(202)
    expect(await nextMessage(session, 1)).toMatchObject({ id: 1, result: { protocolVersion: '2024-11-05' } })
  })

  it('HEAD /sse is answered (not left hanging) and leaves no session behind', async () => {
    const { app, base } = await listen()
    const head = await fetchWithin(`${base}/sse`, { method: 'HEAD' })
    expect([200, 404, 405]).toContain(head.response.status)
    await within(
      (async () => {
        while (((await app.inject({ method: 'GET', url: '/ready' })).json() as { sessions: number }).sessions !== 0) {
          await new Promise((resolve) => setTimeout(resolve, 20))
        }
      })(),
      'the HEAD request to leave no session',
    )
  })
})

describe('sessions do not cross transports', () => {
  it('POST /mcp with a legacy session id → 404 (not a hang, not an answer on the SSE stream)', async () => {
    const { base } = await listen()
    const session = await openLegacy(base)
    const res = await fetchWithin(`${base}/mcp`, {
      method: 'POST',
      headers: { ...POST_HEADERS, 'mcp-session-id': session.sessionId },
      body: JSON.stringify(rpcRequest(1, 'ping')),
    })
    expectJsonRpcError(asInjectLike(res.response, res.text), 404, SESSION_NOT_FOUND, 1)
  })

  it('GET and DELETE /mcp with a legacy session id → 404, and the legacy stream stays up', async () => {
    const { base } = await listen()
    const session = await openLegacy(base)
    const del = await fetchWithin(`${base}/mcp`, { method: 'DELETE', headers: { 'mcp-session-id': session.sessionId } })
    expectJsonRpcError(asInjectLike(del.response, del.text), 404, SESSION_NOT_FOUND)
    const get = await fetchWithin(`${base}/mcp`, { headers: { accept: 'text/event-stream', 'mcp-session-id': session.sessionId } })
    expectJsonRpcError(asInjectLike(get.response, get.text), 404, SESSION_NOT_FOUND)
    expect((await send(session.endpoint, initializeRequest(1, '2024-11-05'))).response.status).toBe(202)
    expect(await nextMessage(session, 1)).toMatchObject({ id: 1 })
  })
})
