// Stream hand-over and shutdown over real HTTP: a client that drops its standalone GET stream and opens a
// new one at once is served, and so is a second concurrent GET (the newest open stream gets each message);
// while the app closes, every request gets a JSON-RPC 503.
import Fastify, { type FastifyInstance } from 'fastify'
import { describe, expect, it, vi } from 'vitest'
import mcpProxy, { HttpError, type McpProxyOptions } from '../src/index.js'
import { listen, fixture } from './helpers.js'
import { abortAfterTest, initialize, isJsonRpcError, openGet, post, rawExchange, rawJsonBody, rawRequest, sleep, SseReader, toolCall, within, type Message } from './failure-helpers.js'
import { closeAfterTest } from './http-helpers.js'

vi.setConfig({ testTimeout: 30_000 })

describe('the standalone GET stream changes hands', () => {
  it('100 times abort-then-reopen over real HTTP: never a 409', async () => {
    const { base } = await listen()
    const session = await initialize(base)
    const statuses: number[] = []
    let previous = abortAfterTest()
    let response = await openGet(base, session, undefined, previous.signal)
    expect(response.status).toBe(200)
    for (let i = 0; i < 100; i++) {
      previous.abort()
      const next = abortAfterTest()
      response = await openGet(base, session, undefined, next.signal)
      statuses.push(response.status)
      if (response.status !== 200) await response.text()
      previous = next
    }
    previous.abort()
    expect(statuses.filter((s) => s !== 200)).toEqual([])
  })

  it('a second GET while the first is open is served: messages go to the newest open stream only, then back to the first', async () => {
    const { base } = await listen()
    const session = await initialize(base)
    const first = new SseReader(await openGet(base, session))
    const secondResponse = await openGet(base, session)
    expect(secondResponse.status).toBe(200)
    const second = new SseReader(secondResponse)
    // With two calls in flight, a call's notification goes to the GET stream.
    post(base, toolCall(90, 'slow', { ms: 30_000 }), { session }).catch(() => {})
    expect((await post(base, toolCall(1, 'log', { message: 'to the newest' }), { session })).status).toBe(200)
    expect(((await second.until((m) => m.method === 'notifications/message')).params as { data: string }).data).toBe('to the newest')
    second.cancel()
    await sleep(100) // the closed connection is noticed; the first stream takes over
    expect((await post(base, toolCall(2, 'log', { message: 'to the first' }), { session })).status).toBe(200)
    const received = await first.until((m) => m.method === 'notifications/message')
    expect((received.params as { data: string }).data).toBe('to the first') // never 'to the newest': exactly one stream each
    first.cancel()
  })

  it('past four open GET streams of one session, a fifth gets 409', async () => {
    const { base } = await listen()
    const session = await initialize(base)
    for (let i = 0; i < 4; i++) expect((await openGet(base, session)).status).toBe(200)
    const fifth = await openGet(base, session)
    expect(fifth.status).toBe(409)
    const body = JSON.parse(await fifth.text()) as Message
    expect(body.error?.message).toBe(HttpError.StreamConflict.message)
  })

  it('two GETs racing right after the first was dropped are both served', async () => {
    const { base } = await listen()
    const session = await initialize(base)
    const first = abortAfterTest()
    expect((await openGet(base, session, undefined, first.signal)).status).toBe(200)
    first.abort()
    const [a, b] = await Promise.all([openGet(base, session), openGet(base, session)])
    expect([a.status, b.status]).toEqual([200, 200])
  })

  it('a GET without a session is answered 405 (no stream before initialize), as the spec asks of a GET', async () => {
    const { base } = await listen()
    const response = await within(fetch(`${base}/mcp`, { headers: { accept: 'text/event-stream' }, signal: abortAfterTest().signal }), 'GET')
    expect(response.status).toBe(405)
    expect(response.headers.get('allow')).toBe('POST')
    expect(isJsonRpcError(JSON.parse(await response.text()))).toBe(true)
  })
})

/** The proxy on a server set up as the README asks library users to (`return503OnClosing: false`). */
async function closingApp(options: Partial<McpProxyOptions> = {}): Promise<{ app: FastifyInstance; port: number; base: string }> {
  const app = closeAfterTest(Fastify({ logger: false, forceCloseConnections: true, return503OnClosing: false }))
  // A child that ignores SIGTERM and stdin end keeps preClose busy for a while (stop ladder: 2 × stopGrace, then SIGKILL).
  await app.register(mcpProxy, { command: process.execPath, args: [fixture('ignore-sigterm-server')], stopGrace: 1000, ...options })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (!address || typeof address === 'string') throw new Error('not listening')
  return { app, port: address.port, base: `http://127.0.0.1:${address.port}` }
}

describe('while the app closes', () => {
  it('every request, /ping and /ready included, gets 503 + Retry-After + Connection: close and a JSON-RPC error', async () => {
    const { app, port, base } = await closingApp()
    const session = await initialize(base)
    const stream = await openGet(base, session)
    expect(stream.status).toBe(200)
    const closed = app.close()
    // The open stream is ended by preClose (the stop ladder of the child keeps close() busy meanwhile).
    await within(new SseReader(stream).next().then(() => undefined), 'the stream to end')
    const requests: Array<[string, Array<string | Buffer>]> = [
      ['GET /ping', rawRequest('GET', '/ping', port)],
      ['GET /ready', rawRequest('GET', '/ready', port)],
      ['POST /mcp', rawRequest('POST', '/mcp', port, { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }))],
      ['GET /mcp', rawRequest('GET', '/mcp', port, { accept: 'text/event-stream', 'mcp-session-id': session })],
      ['GET /sse', rawRequest('GET', '/sse', port, { accept: 'text/event-stream' })],
    ]
    for (const [what, chunks] of requests) {
      const answer = await rawExchange(port, chunks, { ms: 3000 })
      expect(answer.status, `${what}: ${answer.text}`).toBe(503)
      const head = answer.text.toLowerCase()
      expect(head, what).toContain('\r\nretry-after: ')
      expect(head, what).toContain('\r\nconnection: close\r\n')
      const body = rawJsonBody(answer) as Message
      expect(isJsonRpcError(body), what).toBe(true)
      expect(body.error?.message, what).toBe(HttpError.ShuttingDown.message)
    }
    await within(closed, 'close() to finish', 10_000)
  })
})
