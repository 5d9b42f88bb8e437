// Stream hand-over and shutdown over real HTTP: a client that drops its standalone GET stream and opens a
// new one at once is served (the old connection's close is waited for, briefly), a really concurrent
// second GET still gets 409; while the app closes, every request gets a JSON-RPC 503.
import Fastify, { type FastifyInstance } from 'fastify'
import { describe, expect, it, vi } from 'vitest'
import mcpProxy, { HttpError, type McpProxyOptions } from '../src/index.js'
import { listen, fixture } from './helpers.js'
import { abortAfterTest, initialize, isJsonRpcError, openGet, post, rawExchange, rawJsonBody, rawRequest, SseReader, within, type Message } from './failure-helpers.js'
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

  it('a second GET while the first stream is really open gets 409 (after the short wait)', async () => {
    const { base } = await listen()
    const session = await initialize(base)
    const first = await openGet(base, session)
    expect(first.status).toBe(200)
    const second = await openGet(base, session)
    expect(second.status).toBe(409)
    const body = JSON.parse(await second.text()) as Message
    expect(body.error?.message).toBe(HttpError.StreamConflict.message)
    // The first stream is still the session's: it gets the server's messages.
    const reader = new SseReader(first)
    const call = await post(base, { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'echo', arguments: { text: 'x' } } }, { session })
    expect(call.status).toBe(200)
    await call.text()
    reader.cancel()
  })

  it('two GETs racing for a freed stream: one is served, the other gets 409', async () => {
    const { base } = await listen()
    const session = await initialize(base)
    const first = abortAfterTest()
    expect((await openGet(base, session, undefined, first.signal)).status).toBe(200)
    first.abort()
    const [a, b] = await Promise.all([openGet(base, session), openGet(base, session)])
    expect([a.status, b.status].sort()).toEqual([200, 409])
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
