// Stateless mode (`stateless: true`): no sessions, one shared child initialized once; initialize is
// answered locally, every POST stands alone, and GET/DELETE are 405.
import { describe, expect, it } from 'vitest'
import { buildApp, listen } from './helpers.js'
import {
  answersOf,
  echoCall,
  expectJsonRpcError,
  initializeRequest,
  LATEST,
  openStream,
  post,
  POST_HEADERS,
  rpcNotification,
  rpcRequest,
} from './http-helpers.js'

const SERVER_ERROR = -32000

describe('stateless mode', () => {
  it('initialize is answered (SSE) with no session header', async () => {
    const app = await buildApp({ stateless: true })
    const res = await post(app, initializeRequest(1))
    expect(res.statusCode, res.body).toBe(200)
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/)
    expect(res.headers['mcp-session-id']).toBeUndefined()
    const [answer, ...rest] = answersOf(res)
    expect(rest).toEqual([])
    expect(answer).toMatchObject({ jsonrpc: '2.0', id: 1, result: { protocolVersion: LATEST, serverInfo: expect.any(Object) } })
  })

  it('initialize echoes an older supported revision and answers JSON with jsonResponse', async () => {
    const app = await buildApp({ stateless: true, jsonResponse: true })
    const res = await post(app, initializeRequest('i', '2025-03-26'))
    expect(res.statusCode, res.body).toBe(200)
    expect(res.headers['content-type']).toMatch(/^application\/json/)
    expect(res.headers['mcp-session-id']).toBeUndefined()
    expect(JSON.parse(res.body)).toMatchObject({ jsonrpc: '2.0', id: 'i', result: { protocolVersion: '2025-03-26' } })
  })

  it('tools/call works without a session header (and a stray session header is ignored)', async () => {
    const app = await buildApp({ stateless: true })
    const res = await post(app, echoCall(2, 'no session'), { 'mcp-protocol-version': LATEST })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.headers['mcp-session-id']).toBeUndefined()
    expect(answersOf(res)).toEqual([{ jsonrpc: '2.0', id: 2, result: { content: [{ type: 'text', text: 'no session' }] } }])
    const stray = await post(app, echoCall(3, 'stray'), { 'mcp-session-id': 'whatever' })
    expect(stray.statusCode, stray.body).toBe(200)
    expect(answersOf(stray)).toEqual([{ jsonrpc: '2.0', id: 3, result: { content: [{ type: 'text', text: 'stray' }] } }])
  })

  it('concurrent requests with the same JSON-RPC id each get their own answer', async () => {
    const app = await buildApp({ stateless: true, jsonResponse: true })
    const texts = ['a', 'b', 'c', 'd']
    const answers = await Promise.all(texts.map((text) => post(app, echoCall(1, text))))
    answers.forEach((res, i) => {
      expect(res.statusCode).toBe(200)
      expect(JSON.parse(res.body)).toEqual({ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: texts[i] }] } })
    })
  })

  it('a notification-only POST → 202 with an empty body', async () => {
    const app = await buildApp({ stateless: true })
    const res = await post(app, rpcNotification('notifications/initialized'))
    expect(res.statusCode).toBe(202)
    expect(res.body).toBe('')
  })

  it('GET and DELETE → 405 with Allow: POST and a JSON-RPC error', async () => {
    const app = await buildApp({ stateless: true })
    const get = await app.inject({ method: 'GET', url: '/mcp', headers: { accept: 'text/event-stream' } })
    expectJsonRpcError(get, 405, SERVER_ERROR)
    expect(get.headers.allow).toBe('POST')
    const del = await app.inject({ method: 'DELETE', url: '/mcp', headers: { 'mcp-session-id': 'x' } })
    expectJsonRpcError(del, 405, SERVER_ERROR)
    expect(del.headers.allow).toBe('POST')
  })

  it('the legacy HTTP+SSE endpoints are not served', async () => {
    const app = await buildApp({ stateless: true })
    expect((await app.inject({ method: 'GET', url: '/sse' })).statusCode).toBe(404)
    expect((await post(app, rpcRequest(1, 'ping'), {}, '/messages?sessionId=x')).statusCode).toBe(404)
  })

  it('GET /ready → 200 with mode stateless', async () => {
    const app = await buildApp({ stateless: true })
    const res = await app.inject({ method: 'GET', url: '/ready' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({ status: 'ready', mode: 'stateless', child: { state: 'up' } })
  })

  it('the same status contract as session mode for headers and bodies', async () => {
    const app = await buildApp({ stateless: true })
    expectJsonRpcError(await post(app, initializeRequest(1), { accept: 'application/json' }), 406, SERVER_ERROR)
    expectJsonRpcError(await post(app, initializeRequest(1), { 'content-type': 'text/plain' }), 415, SERVER_ERROR)
    expectJsonRpcError(await post(app, '{"jsonrpc":'), 400, -32700)
    expectJsonRpcError(await post(app, { jsonrpc: '2.0', id: 4 }), 400, -32600, 4)
    expectJsonRpcError(await post(app, rpcRequest(5, 'ping'), { 'mcp-protocol-version': '1999-01-01' }), 400, SERVER_ERROR, 5)
    expectJsonRpcError(await post(app, [initializeRequest(6), rpcRequest(7, 'ping')]), 400, -32600, 6)
  })

  it('a batch is answered in full (one JSON array with jsonResponse)', async () => {
    const app = await buildApp({ stateless: true, jsonResponse: true })
    const res = await post(app, [echoCall('x', '1'), rpcRequest('y', 'ping')])
    expect(res.statusCode, res.body).toBe(200)
    const body = JSON.parse(res.body) as Array<{ id: string }>
    expect(body.map((m) => m.id).sort()).toEqual(['x', 'y'])
  })

  it('over real HTTP: the answer streams as SSE and the stream ends after it', async () => {
    const { base } = await listen({ stateless: true })
    const stream = await openStream(`${base}/mcp`, { method: 'POST', headers: POST_HEADERS, body: JSON.stringify(echoCall(9, 'streamed')) })
    expect(stream.response.status).toBe(200)
    expect(stream.response.headers.get('content-type')).toMatch(/^text\/event-stream/)
    expect(stream.response.headers.get('mcp-session-id')).toBeNull()
    const event = await stream.reader.until((e) => e.data !== '', 'the answer')
    expect(event.event).toBe('message')
    expect(JSON.parse(event.data)).toEqual({ jsonrpc: '2.0', id: 9, result: { content: [{ type: 'text', text: 'streamed' }] } })
    expect(await stream.reader.ended()).toBe(true)
  })
})
