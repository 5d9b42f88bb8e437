// HTTP hardening of the plugin's edge, over real HTTP on 127.0.0.1 and raw sockets: GETs that open SSE
// streams must name text/event-stream (a refused /sse spawns no child); health checks without a Host
// header (HTTP/1.0 balancers); malformed Host headers; trailing slashes on the endpoints.
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { describe, expect, it, vi } from 'vitest'
import mcpProxy, { HttpError, type McpProxyOptions } from '../src/index.js'
import { buildApp, fixture, listen, listenOn } from './helpers.js'
import { childPids, getJson, initialize, isJsonRpcError, rawExchange, rawJsonBody, request, sleep, textOf, toolCall, type Message } from './failure-helpers.js'
import { closeAfterTest, expectJsonRpcError, initializeRequest, initSession, post, POST_HEADERS } from './http-helpers.js'

vi.setConfig({ testTimeout: 15_000 })

/** What a browser sends for an `<img>` (Firefox/Chrome) and for a plain navigation. */
const BROWSER_ACCEPTS = ['image/avif,image/webp,*/*;q=0.8', '*/*', 'text/*', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'text/event-stream;q=0, */*']

async function listenWithPort(options: Parameters<typeof listen>[0] = {}): Promise<{ base: string; port: number }> {
  const { base } = await listen(options)
  return { base, port: Number(new URL(base).port) }
}

/** A raw request text; `host` undefined = no Host line at all. */
function raw(method: string, path: string, host: string | undefined, version = '1.1', headers: Record<string, string> = {}, body?: string): string {
  const lines = [`${method} ${path} HTTP/${version}`]
  if (host !== undefined) lines.push(`Host: ${host}`)
  if (version === '1.1') lines.push('Connection: close')
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`)
  if (body !== undefined) lines.push(`Content-Length: ${Buffer.byteLength(body)}`)
  return `${lines.join('\r\n')}\r\n\r\n${body ?? ''}`
}

describe('GET streams need an Accept that names text/event-stream', () => {
  it('GET /mcp with a browser wildcard Accept gets 406 with a JSON-RPC error; naming text/event-stream still works', async () => {
    const app = await buildApp()
    const { sessionId } = await initSession(app)
    for (const accept of BROWSER_ACCEPTS) {
      const res = await app.inject({ method: 'GET', url: '/mcp', headers: { accept, 'mcp-session-id': sessionId } })
      const body = expectJsonRpcError(res, 406, -32000)
      expect(body.error.message, accept).toBe(HttpError.NotAcceptableSse.message)
    }
  })

  it('GET /sse with a wildcard Accept gets 406 and neither spawns nor takes a child', async () => {
    const fixturePath = '/fixtures/echo-server.mjs'
    const { base, port } = await listenWithPort({ warmChildren: 0 })
    for (const accept of [...BROWSER_ACCEPTS, undefined]) {
      const answer = await rawExchange(port, [raw('GET', '/sse', `127.0.0.1:${port}`, '1.1', accept === undefined ? {} : { accept })], { ms: 3000 })
      expect(answer.status, String(accept)).toBe(406)
      const body = rawJsonBody(answer) as Message
      expect(isJsonRpcError(body)).toBe(true)
      expect(body.error?.message).toBe(HttpError.NotAcceptableSse.message)
    }
    await sleep(100)
    expect((await getJson(base, '/ready')).body.sessions).toBe(0)
    expect(childPids(fixturePath)).toEqual([])
  })

  it('GET /sse with a wildcard Accept takes no warm child and no session slot (maxSessions: 1)', async () => {
    const { base, port } = await listenWithPort({ warmChildren: 1, maxSessions: 1 })
    const before = (await getJson(base, '/ready')).body
    const refused = await rawExchange(port, [raw('GET', '/sse', `127.0.0.1:${port}`, '1.1', { accept: '*/*' })], { ms: 3000 })
    expect(refused.status).toBe(406)
    expect((await getJson(base, '/ready')).body).toEqual(before)
    // The one slot is still free for a real client.
    const session = await initialize(base)
    expect(textOf(await request(base, session, toolCall(2, 'echo', { text: 'still free' })))).toBe('still free')
  })

  it('POST /mcp keeps accepting wildcards', async () => {
    const app = await buildApp()
    for (const accept of ['*/*', 'application/*, text/*']) {
      const res = await post(app, initializeRequest(1), { accept })
      expect(res.statusCode, accept).toBe(200)
    }
  })
})

describe('health checks without a Host header', () => {
  it('HTTP/1.0 GET /ping and GET /ready without Host get 200; /mcp without Host stays 403', async () => {
    const { port } = await listenWithPort()
    const ping = await rawExchange(port, ['GET /ping HTTP/1.0\r\n\r\n'], { ms: 3000 })
    expect(ping.status, ping.text).toBe(200)
    expect(ping.text.endsWith('pong')).toBe(true)
    const ready = await rawExchange(port, ['GET /ready HTTP/1.0\r\n\r\n'], { ms: 3000 })
    expect(ready.status, ready.text).toBe(200)
    expect((rawJsonBody(ready) as { status: string }).status).toBe('ready')

    for (const chunk of [
      raw('GET', '/mcp', undefined, '1.0', { accept: 'text/event-stream', 'mcp-session-id': 'x' }),
      raw('POST', '/mcp', undefined, '1.0', { ...POST_HEADERS }, JSON.stringify(initializeRequest(1))),
      raw('GET', '/sse', undefined, '1.0', { accept: 'text/event-stream' }),
    ]) {
      const answer = await rawExchange(port, [chunk], { ms: 3000 })
      expect(answer.status, chunk).toBe(403)
      expect((rawJsonBody(answer) as Message).error?.message).toBe(HttpError.ForbiddenHost.message)
    }
  })

  it('with an API key, the Host-less health checks still need no key', async () => {
    const { port } = await listenWithPort({ apiKey: 'secret' })
    expect((await rawExchange(port, ['GET /ping HTTP/1.0\r\n\r\n'], { ms: 3000 })).status).toBe(200)
    expect((await rawExchange(port, [raw('GET', '/mcp', undefined, '1.0', { accept: 'text/event-stream' })], { ms: 3000 })).status).toBe(403)
  })
})

describe('a malformed Host header gets 400 on every route', () => {
  const MALFORMED = ['localhost:abc', '[::1]:evil', 'localhost:99999', 'localhost:0', 'a b', '', '[::1', '[evil]', 'localhost:', ':8080', 'localhost:80:80', 'user@localhost', 'localhost/x']
  const routes: Array<[string, string, Record<string, string>, string | undefined]> = [
    ['GET', '/ping', {}, undefined],
    ['GET', '/ready', {}, undefined],
    ['POST', '/mcp', { ...POST_HEADERS }, JSON.stringify(initializeRequest(1))],
    ['GET', '/mcp', { accept: 'text/event-stream', 'mcp-session-id': 'x' }, undefined],
    ['DELETE', '/mcp', { 'mcp-session-id': 'x' }, undefined],
    ['GET', '/sse', { accept: 'text/event-stream' }, undefined],
    ['POST', '/messages?sessionId=x', { 'content-type': 'application/json' }, '{}'],
    ['OPTIONS', '/mcp', { origin: 'http://localhost:5173', 'access-control-request-method': 'POST' }, undefined],
  ]

  const setups: Array<[string, Partial<McpProxyOptions>]> = [
    ['loopback defaults', {}],
    ["allowedHosts: ['*']", { allowedHosts: ['*'] }],
    ["host '0.0.0.0' (any Host allowed)", { host: '0.0.0.0' }],
  ]
  for (const [label, options] of setups) {
    it(`${label}: 400 with a stable JSON-RPC error, before any other check`, async () => {
      const { base, port } = await listenWithPort({ ...options, warmChildren: 0 })
      for (const host of MALFORMED) {
        for (const [method, path, headers, body] of routes) {
          const answer = await rawExchange(port, [raw(method, path, host, '1.1', headers, body)], { ms: 3000 })
          expect(answer.status, `${method} ${path} Host: '${host}'`).toBe(400)
          const error = rawJsonBody(answer) as Message
          expect(isJsonRpcError(error)).toBe(true)
          expect(error.error?.message).toBe(HttpError.MalformedHost.message)
        }
      }
      expect((await getJson(base, '/ready')).body.sessions).toBe(0)
    })
  }

  it('well-formed hosts pass the shape check (names, name:port, IPv4, [IPv6], [IPv6]:port)', async () => {
    const { port } = await listenWithPort({ allowedHosts: ['*'] })
    for (const host of ['localhost', 'localhost:3000', 'mcp.example.com:65535', '127.0.0.1', '127.0.0.1:1', '[::1]', '[::1]:8080', '[2001:db8::1]:443', 'my_service.internal']) {
      const answer = await rawExchange(port, [raw('GET', '/ping', host)], { ms: 3000 })
      expect(answer.status, host).toBe(200)
    }
  })

  it('a well-formed Host that is not allowed still gets 403 (the allow-list is unchanged)', async () => {
    const { port } = await listenWithPort()
    const answer = await rawExchange(port, [raw('GET', '/ping', 'evil.example.com:8080')], { ms: 3000 })
    expect(answer.status).toBe(403)
  })
})

describe('trailing slashes', () => {
  it('/mcp/, /sse/ and /messages/ are served like /mcp, /sse and /messages', async () => {
    const { base } = await listen()
    const init = await fetch(`${base}/mcp/`, { method: 'POST', headers: POST_HEADERS, body: JSON.stringify(initializeRequest(1)) })
    expect(init.status).toBe(200)
    const session = init.headers.get('mcp-session-id') ?? ''
    await init.text()
    const headers = { ...POST_HEADERS, 'mcp-session-id': session }
    expect((await fetch(`${base}/mcp/`, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) })).status).toBe(202)
    const call = await fetch(`${base}/mcp/`, { method: 'POST', headers, body: JSON.stringify(toolCall(2, 'echo', { text: 'slash' })) })
    expect(call.status).toBe(200)
    expect(await call.text()).toContain('"text":"slash"')
    const preflight = await fetch(`${base}/mcp/`, { method: 'OPTIONS', headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'DELETE' } })
    expect(preflight.status).toBe(204)
    expect((await fetch(`${base}/mcp/`, { method: 'DELETE', headers: { 'mcp-session-id': session } })).status).toBe(200)

    const controller = new AbortController()
    try {
      const sse = await fetch(`${base}/sse/`, { headers: { accept: 'text/event-stream' }, signal: controller.signal })
      expect(sse.status).toBe(200)
      const reader = sse.body!.getReader()
      let text = ''
      while (!text.includes('\n\n')) text += new TextDecoder().decode((await reader.read()).value)
      const endpoint = /data: (\S+)/.exec(text)?.[1] ?? ''
      const slashed = endpoint.replace('/messages?', '/messages/?')
      const sent = await fetch(new URL(slashed, base), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(initializeRequest(1, '2024-11-05')) })
      expect(sent.status).toBe(202)
      expect((await fetch(`${base}/sse/`, { method: 'POST', headers: POST_HEADERS, body: '{}' })).status).toBe(405)
    } finally {
      controller.abort()
    }
  })

  it('with a prefix: /x/mcp/ and /x/sse/ are served', async () => {
    const app = await proxyApp({ prefix: '/x' })
    const base = await listenOn(app)
    const init = await fetch(`${base}/x/mcp/`, { method: 'POST', headers: POST_HEADERS, body: JSON.stringify(initializeRequest(1)) })
    expect(init.status).toBe(200)
    await init.text()
    const controller = new AbortController()
    try {
      const sse = await fetch(`${base}/x/sse/`, { headers: { accept: 'text/event-stream' }, signal: controller.signal })
      expect(sse.status).toBe(200)
      expect(sse.headers.get('mcp-session-id')).toBeTruthy()
    } finally {
      controller.abort()
    }
    expect((await app.inject({ method: 'GET', url: '/x/nothing/' })).statusCode).toBe(404)
  })

  it('on a server that ignores trailing slashes itself, the plugin registers and serves both forms', async () => {
    const app = await proxyApp({ prefix: '/p', warmChildren: 0 }, { routerOptions: { ignoreTrailingSlash: true } })
    expect((await post(app, initializeRequest(1), {}, '/p/mcp/')).statusCode).toBe(200)
    expect((await post(app, initializeRequest(1), {}, '/p/mcp')).statusCode).toBe(200)
  })
})

/** The proxy in front of the echo fixture, registered with `prefix` on a server built with `server` options. */
async function proxyApp(options: Partial<McpProxyOptions> & { prefix: string }, server: FastifyServerOptions = {}): Promise<FastifyInstance> {
  const app = closeAfterTest(Fastify({ logger: false, forceCloseConnections: true, ...server }))
  await app.register(mcpProxy, { command: process.execPath, args: [fixture('echo-server')], stopGrace: 200, ...options })
  await app.ready()
  return app
}

