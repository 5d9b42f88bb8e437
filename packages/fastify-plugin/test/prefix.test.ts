// The plugin registered under a prefix next to the host app's own routes: its routes move, its hooks
// (Origin/Host guard, CORS, API key), body parser and error handler stay inside its encapsulation context.
import Fastify, { type FastifyInstance } from 'fastify'
import { describe, expect, it } from 'vitest'
import mcpProxy, { type McpProxyOptions } from '../src/index.js'
import { fixture, listenOn } from './helpers.js'
import {
  closeAfterTest,
  echoCall,
  expectJsonRpcError,
  fetchWithin,
  initializeRequest,
  initSession,
  openStream,
  post,
  rpcRequest,
} from './http-helpers.js'

/** A host app with its own routes and the proxy under `prefix` (or several proxies). */
async function hostApp(mounts: Array<{ prefix: string; options?: Partial<McpProxyOptions> }>): Promise<FastifyInstance> {
  const app = closeAfterTest(Fastify({ logger: false, forceCloseConnections: true }))
  app.get('/hello', async () => ({ hello: 'world' }))
  app.post('/echo', async (request) => ({ body: request.body as unknown }))
  app.get('/boom', async () => {
    throw new Error('host failure')
  })
  for (const { prefix, options } of mounts) {
    await app.register(mcpProxy, { prefix, command: process.execPath, args: [fixture('echo-server')], stopGrace: 200, ...options })
  }
  await app.ready()
  return app
}


describe("registered with prefix '/proxy'", () => {
  it('/proxy/mcp works and /mcp is 404', async () => {
    const app = await hostApp([{ prefix: '/proxy' }])
    const { sessionId } = await initSession(app, { url: '/proxy/mcp' })
    const res = await post(app, echoCall(2, 'prefixed'), { 'mcp-session-id': sessionId }, '/proxy/mcp')
    expect(res.statusCode, res.body).toBe(200)
    expect((await post(app, initializeRequest(1))).statusCode).toBe(404)
    expect((await app.inject({ method: 'DELETE', url: '/proxy/mcp', headers: { 'mcp-session-id': sessionId } })).statusCode).toBe(200)
  })

  it('the health routes move under the prefix too', async () => {
    const app = await hostApp([{ prefix: '/proxy' }])
    const ping = await app.inject({ method: 'GET', url: '/proxy/ping' })
    expect(ping.statusCode).toBe(200)
    expect(ping.body).toBe('pong')
    expect((await app.inject({ method: 'GET', url: '/proxy/ready' })).json()).toMatchObject({ status: 'ready' })
    expect((await app.inject({ method: 'GET', url: '/ping' })).statusCode).toBe(404)
  })

  it('the host routes are not affected by the guard or the API key', async () => {
    const app = await hostApp([{ prefix: '/proxy', options: { apiKey: 'secret' } }])
    for (const headers of [{}, { origin: 'http://evil.example.com' }, { host: 'evil.example.com' }, { 'x-api-key': 'wrong' }]) {
      const res = await app.inject({ method: 'GET', url: '/hello', headers })
      expect(res.statusCode, JSON.stringify(headers)).toBe(200)
      expect(res.json()).toEqual({ hello: 'world' })
      expect(res.headers['access-control-allow-origin']).toBeUndefined()
    }
    // The proxy's own routes are guarded.
    expectJsonRpcError(await post(app, initializeRequest(1), {}, '/proxy/mcp'), 403, -32000)
    expectJsonRpcError(await post(app, initializeRequest(1), { origin: 'http://evil.example.com', 'x-api-key': 'secret' }, '/proxy/mcp'), 403, -32000)
    expect((await post(app, initializeRequest(1), { 'x-api-key': 'secret' }, '/proxy/mcp')).statusCode).toBe(200)
  })

  it("the host routes keep Fastify's body parsers and error handler", async () => {
    const app = await hostApp([{ prefix: '/proxy' }])
    const json = await app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'application/json' }, payload: '{"a":1}' })
    expect(json.statusCode).toBe(200)
    expect(json.json()).toEqual({ body: { a: 1 } })
    const text = await app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'text/plain' }, payload: 'plain' })
    expect(text.statusCode).toBe(200)
    expect(text.json()).toEqual({ body: 'plain' })
    const boom = await app.inject({ method: 'GET', url: '/boom' })
    expect(boom.statusCode).toBe(500)
    expect(boom.json()).toMatchObject({ statusCode: 500, message: 'host failure' })
    expect(boom.json()).not.toHaveProperty('jsonrpc')
  })

  it("the legacy endpoint event names '/proxy/messages?sessionId=…', and that URL works", async () => {
    const app = await hostApp([{ prefix: '/proxy' }])
    const base = await listenOn(app)
    const stream = await openStream(`${base}/proxy/sse`, { headers: { accept: 'text/event-stream' } })
    expect(stream.response.status).toBe(200)
    const endpoint = await stream.reader.next('the endpoint event')
    expect(endpoint?.event).toBe('endpoint')
    const sessionId = stream.response.headers.get('mcp-session-id')
    if (!sessionId) throw new Error('no session id header')
    expect(endpoint?.data).toBe(`/proxy/messages?sessionId=${encodeURIComponent(sessionId)}`)

    const url = new URL(endpoint?.data ?? '', `${base}/proxy/sse`).href
    const accepted = await fetchWithin(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(initializeRequest(1, '2024-11-05')) })
    expect(accepted.response.status).toBe(202)
    const answer = await stream.reader.until((e) => e.event === 'message', 'the InitializeResult')
    expect(JSON.parse(answer.data)).toMatchObject({ id: 1, result: { protocolVersion: '2024-11-05' } })
    // The unprefixed message URL does not exist.
    expect((await post(app, rpcRequest(2, 'ping'), {}, `/messages?sessionId=${encodeURIComponent(sessionId)}`)).statusCode).toBe(404)
  })

  it('a preflight of /proxy/mcp is answered by the plugin; the host routes get no CORS headers', async () => {
    const app = await hostApp([{ prefix: '/proxy' }])
    const preflight = await app.inject({ method: 'OPTIONS', url: '/proxy/mcp', headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST' } })
    expect(preflight.statusCode).toBe(204)
    expect(preflight.headers['access-control-allow-origin']).toBe('http://localhost:5173')
    const host = await app.inject({ method: 'GET', url: '/hello', headers: { origin: 'http://localhost:5173' } })
    expect(host.headers['access-control-allow-origin']).toBeUndefined()
  })

  it('two proxies under different prefixes live side by side with their own options', async () => {
    const app = await hostApp([
      { prefix: '/a', options: { apiKey: 'key-a' } },
      { prefix: '/b', options: { jsonResponse: true } },
    ])
    expectJsonRpcError(await post(app, initializeRequest(1), {}, '/a/mcp'), 403, -32000)
    const a = await initSession(app, { url: '/a/mcp', headers: { 'x-api-key': 'key-a' } })
    const b = await initSession(app, { url: '/b/mcp' })
    expect(b.initialize.headers['content-type']).toMatch(/^application\/json/)
    expect(a.initialize.headers['content-type']).toMatch(/^text\/event-stream/)
    // A session of one instance is unknown to the other.
    expectJsonRpcError(await post(app, rpcRequest(3, 'ping'), { 'mcp-session-id': a.sessionId }, '/b/mcp'), 404, -32001, 3)
  })

  it('nested prefixes: the endpoint event carries the full prefix', async () => {
    const app = closeAfterTest(Fastify({ logger: false, forceCloseConnections: true }))
    await app.register(
      async (outer) => {
        await outer.register(mcpProxy, { prefix: '/inner', command: process.execPath, args: [fixture('echo-server')], stopGrace: 200 })
      },
      { prefix: '/outer' },
    )
    await app.ready()
    const base = await listenOn(app)
    const stream = await openStream(`${base}/outer/inner/sse`, { headers: { accept: 'text/event-stream' } })
    expect(stream.response.status).toBe(200)
    const endpoint = await stream.reader.next('the endpoint event')
    expect(endpoint?.data).toMatch(/^\/outer\/inner\/messages\?sessionId=/)
    expect((await initSession(app, { url: '/outer/inner/mcp' })).sessionId).toMatch(/^[\x21-\x7E]+$/)
  })
})
