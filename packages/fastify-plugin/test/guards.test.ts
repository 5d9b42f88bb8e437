// The request guards: Origin/Host (DNS rebinding), CORS and the API key. They run in onRequest, so a
// refused request's body is never parsed; CORS headers must reach hijacked (raw) answers too.
import { describe, expect, it } from 'vitest'
import { hostAllowed, originAllowed, resolveOptions } from '../src/index.js'
import { buildApp, listen } from './helpers.js'
import {
  asInjectLike,
  echoCall,
  expectJsonRpcError,
  fetchWithin,
  headerList,
  initializeRequest,
  initSession,
  LATEST,
  openStream,
  post,
  POST_HEADERS,
  rpcNotification,
  rpcRequest,
  sseMessages,
} from './http-helpers.js'

const SERVER_ERROR = -32000
const SESSION_NOT_FOUND = -32001
const MALFORMED = '{"jsonrpc":"2.0","id":1,"method":'

describe('Origin and Host guard, default host 127.0.0.1', () => {
  it('Origin: http://evil.example.com → 403 with a JSON-RPC error and no CORS headers', async () => {
    const app = await buildApp()
    const res = await post(app, initializeRequest(1), { origin: 'http://evil.example.com' })
    const body = expectJsonRpcError(res, 403, SERVER_ERROR)
    expect(body.error.message).toMatch(/origin/i)
    expect(res.headers['access-control-allow-origin']).toBeUndefined()
    expect(res.headers['mcp-session-id']).toBeUndefined()
  })

  it('a bad Origin is refused on every route of the plugin (GET, DELETE, /sse, /messages, OPTIONS)', async () => {
    const app = await buildApp()
    const origin = 'http://evil.example.com'
    const requests = [
      { method: 'GET' as const, url: '/mcp', headers: { origin, accept: 'text/event-stream', 'mcp-session-id': 'x' } },
      { method: 'DELETE' as const, url: '/mcp', headers: { origin, 'mcp-session-id': 'x' } },
      { method: 'GET' as const, url: '/sse', headers: { origin, accept: 'text/event-stream' } },
      { method: 'POST' as const, url: '/messages?sessionId=x', headers: { origin, 'content-type': 'application/json' }, payload: '{}' },
      { method: 'OPTIONS' as const, url: '/mcp', headers: { origin, 'access-control-request-method': 'POST' } },
    ]
    for (const request of requests) expectJsonRpcError(await app.inject(request), 403, SERVER_ERROR)
  })

  it('loopback Origins are allowed, with any port', async () => {
    const app = await buildApp()
    for (const origin of ['http://localhost:5173', 'http://127.0.0.1:3000', 'http://[::1]:8080', 'https://localhost', 'http://LOCALHOST:5173']) {
      const res = await post(app, initializeRequest(1), { origin })
      expect(res.statusCode, `${origin}: ${res.body}`).toBe(200)
      expect(res.headers['access-control-allow-origin']).toBe(origin)
    }
  })

  it('look-alike and opaque Origins are refused', async () => {
    const app = await buildApp()
    for (const origin of ['http://localhost.evil.com', 'http://127.0.0.1.nip.io', 'null', 'file://', 'not a url', 'http://evil.com#localhost']) {
      expectJsonRpcError(await post(app, initializeRequest(1), { origin }), 403, SERVER_ERROR)
    }
  })

  it('Host: evil.example.com → 403; loopback Hosts (any port) pass', async () => {
    const app = await buildApp()
    const res = await post(app, initializeRequest(1), { host: 'evil.example.com' })
    const body = expectJsonRpcError(res, 403, SERVER_ERROR)
    expect(body.error.message).toMatch(/host/i)
    expectJsonRpcError(await post(app, initializeRequest(1), { host: 'evil.example.com:80' }), 403, SERVER_ERROR)
    for (const host of ['localhost', 'localhost:3000', '127.0.0.1:9', '[::1]:9', '[::1]']) {
      expect((await post(app, initializeRequest(1), { host })).statusCode, host).toBe(200)
    }
  })

  it('the conformance DNS-rebinding probe (Host and Origin both evil) → 403', async () => {
    const app = await buildApp()
    expectJsonRpcError(await post(app, initializeRequest(1), { host: 'evil.example.com', origin: 'http://evil.example.com' }), 403, SERVER_ERROR)
  })

  it('a request without an Origin is allowed', async () => {
    const app = await buildApp()
    const res = await post(app, initializeRequest(1))
    expect(res.statusCode, res.body).toBe(200)
    expect(res.headers['access-control-allow-origin']).toBeUndefined()
  })

  it('a 403 is answered before the body is parsed: malformed or oversized JSON still gets 403, not 400/413', async () => {
    const app = await buildApp({ maxBodySize: 1024 })
    expectJsonRpcError(await post(app, MALFORMED, { origin: 'http://evil.example.com' }), 403, SERVER_ERROR)
    expectJsonRpcError(await post(app, MALFORMED, { host: 'evil.example.com' }), 403, SERVER_ERROR)
    expectJsonRpcError(await post(app, MALFORMED, { origin: 'http://evil.example.com', 'content-type': 'text/plain' }), 403, SERVER_ERROR)
    expectJsonRpcError(await post(app, echoCall(1, 'z'.repeat(4096)), { origin: 'http://evil.example.com' }), 403, SERVER_ERROR)
  })

  it('a 403 over real HTTP, before the body is read', async () => {
    const { base } = await listen()
    const { response, text } = await fetchWithin(`${base}/mcp`, {
      method: 'POST',
      headers: { ...POST_HEADERS, origin: 'http://evil.example.com' },
      body: MALFORMED,
    })
    expectJsonRpcError(asInjectLike(response, text), 403, SERVER_ERROR)
  })
})

describe('Origin and Host guard, non-loopback host', () => {
  it("host '0.0.0.0' with allowedOrigins: the listed origin passes, others get 403; any Host passes", async () => {
    const app = await buildApp({ host: '0.0.0.0', allowedOrigins: ['https://app.example.com'] })
    for (const origin of ['https://app.example.com', 'https://app.example.com:8443', 'https://APP.example.com']) {
      const res = await post(app, initializeRequest(1), { origin, host: 'mcp.example.com' })
      expect(res.statusCode, `${origin}: ${res.body}`).toBe(200)
      expect(res.headers['access-control-allow-origin']).toBe(origin)
    }
    for (const origin of ['https://other.example.com', 'http://app.example.com', 'http://localhost:5173', 'https://app.example.com.evil.com']) {
      expectJsonRpcError(await post(app, initializeRequest(1), { origin, host: 'mcp.example.com' }), 403, SERVER_ERROR)
    }
    expect((await post(app, initializeRequest(1), { host: 'anything.example:8080' })).statusCode).toBe(200)
  })

  it('an origin listed with a port allows only that port', async () => {
    const app = await buildApp({ host: '0.0.0.0', allowedOrigins: ['https://app.example.com:8443'] })
    expect((await post(app, initializeRequest(1), { origin: 'https://app.example.com:8443' })).statusCode).toBe(200)
    expectJsonRpcError(await post(app, initializeRequest(1), { origin: 'https://app.example.com:9443' }), 403, SERVER_ERROR)
    expectJsonRpcError(await post(app, initializeRequest(1), { origin: 'https://app.example.com' }), 403, SERVER_ERROR)
  })

  it("host '0.0.0.0' by default allows no Origin at all (but requests without one pass)", async () => {
    const app = await buildApp({ host: '0.0.0.0' })
    expectJsonRpcError(await post(app, initializeRequest(1), { origin: 'http://localhost:5173' }), 403, SERVER_ERROR)
    expect((await post(app, initializeRequest(1), { host: 'mcp.example.com' })).statusCode).toBe(200)
  })

  it("allowedHosts: ['*'] lets any Host through (the Origin is still checked)", async () => {
    const app = await buildApp({ allowedHosts: ['*'] })
    expect((await post(app, initializeRequest(1), { host: 'evil.example.com' })).statusCode).toBe(200)
    expectJsonRpcError(await post(app, initializeRequest(1), { host: 'evil.example.com', origin: 'http://evil.example.com' }), 403, SERVER_ERROR)
  })

  it('allowedHosts with a name allows it on any port and nothing else', async () => {
    const app = await buildApp({ allowedHosts: ['mcp.example.com'] })
    expect((await post(app, initializeRequest(1), { host: 'mcp.example.com:443' })).statusCode).toBe(200)
    expect((await post(app, initializeRequest(1), { host: 'MCP.example.com' })).statusCode).toBe(200)
    expectJsonRpcError(await post(app, initializeRequest(1), { host: 'localhost' }), 403, SERVER_ERROR)
  })

  it("allowedOrigins: ['*'] lets any Origin through", async () => {
    const app = await buildApp({ allowedOrigins: ['*'] })
    const res = await post(app, initializeRequest(1), { origin: 'https://anything.example' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['access-control-allow-credentials']).not.toBe('true')
  })
})

describe('originAllowed / hostAllowed', () => {
  it('match scheme://host for any port and scheme://host:port exactly', () => {
    const allowed = resolveOptions({ command: 'x', host: '0.0.0.0', allowedOrigins: ['http://a.test', 'https://b.test:8443'] }).allowedOrigins
    expect(originAllowed('http://a.test', allowed)).toBe(true)
    expect(originAllowed('http://a.test:1234', allowed)).toBe(true)
    expect(originAllowed('https://a.test', allowed)).toBe(false)
    expect(originAllowed('https://b.test:8443', allowed)).toBe(true)
    expect(originAllowed('https://b.test', allowed)).toBe(false)
    expect(originAllowed('garbage', allowed)).toBe(false)
    expect(originAllowed('anything', undefined)).toBe(true)
  })

  it("an allowed origin written with its scheme's default port matches (browsers omit default ports)", () => {
    const allowed = resolveOptions({ command: 'x', host: '0.0.0.0', allowedOrigins: ['https://app.example.com:443', 'http://web.example.com:80'] }).allowedOrigins
    expect(originAllowed('https://app.example.com', allowed)).toBe(true)
    expect(originAllowed('http://web.example.com', allowed)).toBe(true)
    expect(originAllowed('https://app.example.com:8443', allowed)).toBe(false)
  })

  it('hostAllowed handles ports and IPv6 literals, and refuses a missing Host', () => {
    const allowed = resolveOptions({ command: 'x' }).allowedHosts
    expect(hostAllowed('localhost:80', allowed)).toBe(true)
    expect(hostAllowed('[::1]:3000', allowed)).toBe(true)
    expect(hostAllowed('[::1]', allowed)).toBe(true)
    expect(hostAllowed('127.0.0.1', allowed)).toBe(true)
    expect(hostAllowed('[::2]:3000', allowed)).toBe(false)
    expect(hostAllowed('localhost.evil:80', allowed)).toBe(false)
    expect(hostAllowed(undefined, allowed)).toBe(false)
    expect(hostAllowed(undefined, undefined)).toBe(true)
  })
})

describe('CORS', () => {
  const origin = 'http://localhost:5173'
  it('preflight OPTIONS /mcp with an allowed Origin → 204 allowing DELETE and the MCP headers', async () => {
    const app = await buildApp()
    const res = await app.inject({
      method: 'OPTIONS',
      url: '/mcp',
      headers: { origin, 'access-control-request-method': 'DELETE', 'access-control-request-headers': 'mcp-session-id, mcp-protocol-version' },
    })
    expect(res.statusCode).toBe(204)
    expect(res.body).toBe('')
    expect(res.headers['access-control-allow-origin']).toBe(origin)
    expect(headerList(res.headers['access-control-allow-methods'])).toEqual(expect.arrayContaining(['get', 'post', 'delete']))
    expect(headerList(res.headers['access-control-allow-headers'])).toEqual(
      expect.arrayContaining(['mcp-session-id', 'mcp-protocol-version', 'content-type', 'last-event-id', 'authorization']),
    )
    expect(headerList(res.headers.vary)).toContain('origin')
    expect(res.headers['access-control-allow-credentials']).not.toBe('true')
  })

  it('a preflight for a 2026-07-28 request allows Mcp-Method, Mcp-Name and the Mcp-Param-* headers it asks for, and no other header', async () => {
    const app = await buildApp()
    const res = await app.inject({
      method: 'OPTIONS',
      url: '/mcp',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'mcp-method, mcp-name, Mcp-Param-Region, mcp-param-x y, x-secret' },
    })
    expect(res.statusCode).toBe(204)
    const allowed = headerList(res.headers['access-control-allow-headers'])
    expect(allowed).toEqual(expect.arrayContaining(['mcp-method', 'mcp-name', 'mcp-param-region']))
    expect(allowed).not.toContain('x-secret')
    expect(allowed).not.toContain('mcp-param-x y')
  })

  it("never pairs access-control-allow-origin: * with credentials (allowedOrigins: ['*'])", async () => {
    const app = await buildApp({ allowedOrigins: ['*'] })
    const res = await app.inject({ method: 'OPTIONS', url: '/mcp', headers: { origin: 'https://x.example', 'access-control-request-method': 'POST' } })
    expect(res.statusCode).toBe(204)
    const allowOrigin = res.headers['access-control-allow-origin']
    expect(allowOrigin === '*' || allowOrigin === 'https://x.example').toBe(true)
    if (allowOrigin === '*') expect(res.headers['access-control-allow-credentials']).toBeUndefined()
    expect(res.headers['access-control-allow-credentials']).not.toBe('true')
  })

  it('preflights of the legacy endpoints → 204', async () => {
    const app = await buildApp()
    for (const url of ['/sse', '/messages']) {
      const res = await app.inject({ method: 'OPTIONS', url, headers: { origin, 'access-control-request-method': 'POST' } })
      expect(res.statusCode, url).toBe(204)
      expect(res.headers['access-control-allow-origin']).toBe(origin)
    }
  })

  it('an OPTIONS without Origin → 204 and no CORS headers', async () => {
    const app = await buildApp()
    const res = await app.inject({ method: 'OPTIONS', url: '/mcp' })
    expect(res.statusCode).toBe(204)
    expect(res.headers['access-control-allow-origin']).toBeUndefined()
  })

  it('the SSE answer of POST /mcp (a hijacked raw response) carries the CORS headers, over real HTTP', async () => {
    const { base } = await listen()
    const stream = await openStream(`${base}/mcp`, { method: 'POST', headers: { ...POST_HEADERS, origin }, body: JSON.stringify(initializeRequest(1)) })
    const { response } = stream
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/)
    expect(response.headers.get('access-control-allow-origin')).toBe(origin)
    expect(headerList(response.headers.get('access-control-expose-headers'))).toContain('mcp-session-id')
    expect(headerList(response.headers.get('vary'))).toContain('origin')
    const event = await stream.reader.until((e) => e.data !== '', 'the InitializeResult')
    expect(JSON.parse(event.data)).toMatchObject({ id: 1, result: { protocolVersion: LATEST } })
  })

  it('the JSON answer of POST /mcp (jsonResponse, hijacked) carries the CORS headers, over real HTTP', async () => {
    const { base } = await listen({ jsonResponse: true })
    const { response, text } = await fetchWithin(`${base}/mcp`, {
      method: 'POST',
      headers: { ...POST_HEADERS, origin },
      body: JSON.stringify(initializeRequest(1)),
    })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^application\/json/)
    expect(response.headers.get('access-control-allow-origin')).toBe(origin)
    expect(headerList(response.headers.get('access-control-expose-headers'))).toContain('mcp-session-id')
    expect(JSON.parse(text)).toMatchObject({ id: 1, result: { protocolVersion: LATEST } })
    // The browser can read the session id because it is exposed.
    expect(response.headers.get('mcp-session-id')).toMatch(/^[\x21-\x7E]+$/)
  })

  it('202, error, GET-stream, DELETE and legacy /sse answers carry the CORS headers, over real HTTP', async () => {
    const { app, base } = await listen()
    const { sessionId } = await initSession(app)
    const common = { origin, 'mcp-session-id': sessionId, 'mcp-protocol-version': LATEST }

    const accepted = await fetchWithin(`${base}/mcp`, { method: 'POST', headers: { ...POST_HEADERS, ...common }, body: JSON.stringify(rpcNotification('notifications/initialized')) })
    expect(accepted.response.status).toBe(202)
    expect(accepted.response.headers.get('access-control-allow-origin')).toBe(origin)

    const notFound = await fetchWithin(`${base}/mcp`, { method: 'POST', headers: { ...POST_HEADERS, ...common, 'mcp-session-id': 'nope' }, body: JSON.stringify(rpcRequest(1, 'ping')) })
    expectJsonRpcError(asInjectLike(notFound.response, notFound.text), 404, SESSION_NOT_FOUND, 1)
    expect(notFound.response.headers.get('access-control-allow-origin')).toBe(origin)

    const get = await openStream(`${base}/mcp`, { headers: { ...common, accept: 'text/event-stream' } })
    expect(get.response.status).toBe(200)
    expect(get.response.headers.get('access-control-allow-origin')).toBe(origin)
    expect(headerList(get.response.headers.get('access-control-expose-headers'))).toContain('mcp-session-id')
    get.controller.abort()

    const sse = await openStream(`${base}/sse`, { headers: { origin, accept: 'text/event-stream' } })
    expect(sse.response.status).toBe(200)
    expect(sse.response.headers.get('access-control-allow-origin')).toBe(origin)
    sse.controller.abort()

    const del = await fetchWithin(`${base}/mcp`, { method: 'DELETE', headers: common })
    expect(del.response.status).toBe(200)
    expect(del.response.headers.get('access-control-allow-origin')).toBe(origin)
  })

  it('the answer to a request on an existing session (SSE, hijacked) carries the CORS headers', async () => {
    const { app, base } = await listen()
    const { sessionId } = await initSession(app)
    const stream = await openStream(`${base}/mcp`, {
      method: 'POST',
      headers: { ...POST_HEADERS, origin, 'mcp-session-id': sessionId, 'mcp-protocol-version': LATEST },
      body: JSON.stringify(echoCall(2, 'cors')),
    })
    expect(stream.response.status).toBe(200)
    expect(stream.response.headers.get('access-control-allow-origin')).toBe(origin)
    expect(stream.response.headers.get('mcp-session-id')).toBe(sessionId)
    const event = await stream.reader.until((e) => e.data !== '', 'the echo answer')
    expect(JSON.parse(event.data)).toEqual({ jsonrpc: '2.0', id: 2, result: { content: [{ type: 'text', text: 'cors' }] } })
  })
})

describe('API key', () => {
  // 403, not 401: MCP clients (the SDKs with an auth provider, mcp-remote) start an OAuth login on any 401,
  // and mcp-remote on the word "Unauthorized" anywhere in an error; neither can succeed against a key.
  it('missing → 403 naming the header, with a JSON-RPC body that starts no OAuth login', async () => {
    const app = await buildApp({ apiKey: 'secret' })
    const res = await post(app, initializeRequest(1))
    const body = expectJsonRpcError(res, 403, SERVER_ERROR)
    expect(body.error.message).toBe('API key required: send it in the X-API-Key header, or as Authorization: Bearer <key>')
    expect(body.error.data).toEqual({ reason: 'MCP_PROXY_API_KEY_REQUIRED' })
    expect(res.body).not.toMatch(/Unauthorized|401/)
    expect(res.headers['www-authenticate']).toBe('ApiKey realm="mcp-proxy", header="X-API-Key"')
    expect(res.headers['mcp-session-id']).toBeUndefined()
  })

  it('wrong key → 403 (X-API-Key, Bearer, another scheme, empty)', async () => {
    const app = await buildApp({ apiKey: 'secret' })
    for (const headers of [{ 'x-api-key': 'wrong' }, { authorization: 'Bearer wrong' }, { authorization: 'Basic c2VjcmV0' }, { authorization: 'secret' }, { 'x-api-key': '' }, { 'x-api-key': 'secret2' }]) {
      const res = await post(app, initializeRequest(1), headers)
      expectJsonRpcError(res, 403, SERVER_ERROR)
      expect(res.headers['www-authenticate']).not.toMatch(/^Bearer/)
    }
  })

  it('X-API-Key: secret → ok; Authorization: Bearer secret → ok (scheme case-insensitive)', async () => {
    const app = await buildApp({ apiKey: 'secret' })
    for (const headers of [{ 'x-api-key': 'secret' }, { authorization: 'Bearer secret' }, { authorization: 'bearer secret' }]) {
      const { sessionId } = await initSession(app, { headers })
      const res = await post(app, echoCall(2, 'k'), { ...headers, 'mcp-session-id': sessionId })
      expect(res.statusCode, res.body).toBe(200)
      expect(sseMessages(res.body)).toEqual([{ jsonrpc: '2.0', id: 2, result: { content: [{ type: 'text', text: 'k' }] } }])
    }
  })

  it('a session id is no substitute for the key: a valid session without the key → 403', async () => {
    const app = await buildApp({ apiKey: 'secret' })
    const { sessionId } = await initSession(app, { headers: { 'x-api-key': 'secret' } })
    expectJsonRpcError(await post(app, rpcRequest(3, 'ping'), { 'mcp-session-id': sessionId }), 403, SERVER_ERROR)
    expectJsonRpcError(await app.inject({ method: 'GET', url: '/mcp', headers: { accept: 'text/event-stream', 'mcp-session-id': sessionId } }), 403, SERVER_ERROR)
    expectJsonRpcError(await app.inject({ method: 'DELETE', url: '/mcp', headers: { 'mcp-session-id': sessionId } }), 403, SERVER_ERROR)
  })

  it('the legacy endpoints need the key too', async () => {
    const app = await buildApp({ apiKey: 'secret' })
    expectJsonRpcError(await app.inject({ method: 'GET', url: '/sse', headers: { accept: 'text/event-stream' } }), 403, SERVER_ERROR)
    expectJsonRpcError(await post(app, rpcRequest(1, 'ping'), {}, '/messages?sessionId=x'), 403, SERVER_ERROR)
  })

  it('/ping and /ready are exempt', async () => {
    const app = await buildApp({ apiKey: 'secret' })
    const ping = await app.inject({ method: 'GET', url: '/ping' })
    expect(ping.statusCode).toBe(200)
    expect(ping.body).toBe('pong')
    expect((await app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200)
  })

  it('CORS preflights are exempt (with and without an Origin)', async () => {
    const app = await buildApp({ apiKey: 'secret' })
    const withOrigin = await app.inject({ method: 'OPTIONS', url: '/mcp', headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST' } })
    expect(withOrigin.statusCode).toBe(204)
    expect(headerList(withOrigin.headers['access-control-allow-headers'])).toEqual(expect.arrayContaining(['authorization', 'x-api-key']))
    expect((await app.inject({ method: 'OPTIONS', url: '/mcp' })).statusCode).toBe(204)
  })

  it('the refusal is answered before the body is parsed (malformed, wrong type, oversized)', async () => {
    const app = await buildApp({ apiKey: 'secret', maxBodySize: 1024 })
    expectJsonRpcError(await post(app, MALFORMED), 403, SERVER_ERROR)
    expectJsonRpcError(await post(app, MALFORMED, { 'content-type': 'text/plain' }), 403, SERVER_ERROR)
    expectJsonRpcError(await post(app, echoCall(1, 'z'.repeat(4096))), 403, SERVER_ERROR)
    // With the key, the same bodies get their own errors.
    expectJsonRpcError(await post(app, MALFORMED, { 'x-api-key': 'secret' }), 400, -32700)
    expectJsonRpcError(await post(app, echoCall(1, 'z'.repeat(4096)), { 'x-api-key': 'secret' }), 413, -32600)
  })

  it('the Origin guard runs first: a bad Origin without the key → 403', async () => {
    const app = await buildApp({ apiKey: 'secret' })
    expectJsonRpcError(await post(app, initializeRequest(1), { origin: 'http://evil.example.com' }), 403, SERVER_ERROR)
  })

  it('a refusal to an allowed browser Origin carries CORS headers exposing WWW-Authenticate', async () => {
    const app = await buildApp({ apiKey: 'secret' })
    const res = await post(app, initializeRequest(1), { origin: 'http://localhost:5173' })
    expectJsonRpcError(res, 403, SERVER_ERROR)
    expect(res.headers['access-control-allow-origin']).toBe('http://localhost:5173')
    expect(headerList(res.headers['access-control-expose-headers'])).toContain('www-authenticate')
  })

  it('the refusal over real HTTP, before the body is read', async () => {
    const { base } = await listen({ apiKey: 'secret' })
    const { response, text } = await fetchWithin(`${base}/mcp`, { method: 'POST', headers: POST_HEADERS, body: MALFORMED })
    expectJsonRpcError(asInjectLike(response, text), 403, SERVER_ERROR)
    expect(response.headers.get('www-authenticate')).toMatch(/^ApiKey\b/)
  })
})
