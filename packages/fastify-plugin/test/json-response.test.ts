// jsonResponse: a POST of requests is answered with one JSON body while its responses are all there is
// to send, and switches to an SSE stream when progress, a server→client request or a log notification
// of the call comes first (so nothing of the call is lost).
import { describe, expect, it } from 'vitest'
import { CreateMessageRequestSchema, ElicitRequestSchema, type Progress } from '@modelcontextprotocol/sdk/types.js'
import { buildApp, listen } from './helpers.js'
import { LATEST, echoCall, initSession, parseSse, post, rpcRequest, sseMessages } from './http-helpers.js'
import { SseReader, connectV1, messageOf, rawPost, textOf, toolCall, within } from './sdk-helpers.js'

type Message = Record<string, unknown> & { id?: unknown; method?: string; params?: Record<string, unknown>; result?: unknown }

function progressCall(id: number, token: string, steps = 3): Record<string, unknown> {
  return rpcRequest(id, 'tools/call', { name: 'progress', arguments: { steps, ms: 10 }, _meta: { progressToken: token } })
}

function toolText(message: { result?: unknown } | undefined): string | undefined {
  return (message?.result as { content?: Array<{ text?: string }> } | undefined)?.content?.[0]?.text
}

/** Progress notifications for `token`, numbered 1..steps, then the result of `id`: nothing else, in that order. */
function expectProgressThenResult(messages: Message[], token: string, id: number, steps = 3): void {
  expect(messages.map((m) => m.method ?? `response ${String(m.id)}`)).toEqual([...Array<string>(steps).fill('notifications/progress'), `response ${id}`])
  expect(messages.slice(0, steps).map((m) => m.params)).toEqual(
    Array.from({ length: steps }, (_, i) => ({ progressToken: token, progress: i + 1, total: steps, message: `step ${i + 1}` })),
  )
  expect(toolText(messages[steps])).toBe('progress done')
}

async function sessionApp(protocolVersion: string, options: Record<string, unknown> = {}) {
  const app = await buildApp({ jsonResponse: true, ...options })
  const { sessionId } = await initSession(app, { protocolVersion })
  return { app, headers: { 'mcp-session-id': sessionId, 'mcp-protocol-version': protocolVersion }, sessionId }
}

describe('jsonResponse: JSON while only responses are sent, SSE once anything else comes first', { timeout: 15_000 }, () => {
  it('a plain call gets the exact JSON body of the child, with the session and CORS headers (no priming event)', async () => {
    const { app, headers, sessionId } = await sessionApp(LATEST, { allowedOrigins: ['http://app.example'] })
    const res = await post(app, echoCall(2, 'plain'), { ...headers, origin: 'http://app.example' })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(res.headers['mcp-session-id']).toBe(sessionId)
    expect(res.headers['access-control-allow-origin']).toBe('http://app.example')
    expect(res.body).toBe('{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"plain"}]}}')
    expect(Number(res.headers['content-length'])).toBe(Buffer.byteLength(res.body))
  })

  it('a progress call switches to SSE: every progress notification, then the result', async () => {
    const { app, headers, sessionId } = await sessionApp('2025-06-18')
    const res = await post(app, progressCall(2, 'p1'), headers)
    expect(res.statusCode, res.body).toBe(200)
    expect(String(res.headers['content-type'])).toMatch(/^text\/event-stream/)
    expect(res.headers['mcp-session-id']).toBe(sessionId)
    const events = parseSse(res.body)
    // Below 2025-11-25 there is no priming event; every event is a message with an id (replayable).
    for (const event of events) {
      expect(event.event).toBe('message')
      expect(event.id).toBeTruthy()
    }
    expectProgressThenResult(sseMessages(res.body) as Message[], 'p1', 2)
  })

  it('the log notifications of a call switch it to SSE too, before its result', async () => {
    const { app, headers } = await sessionApp('2025-06-18')
    const res = await post(app, rpcRequest(2, 'tools/call', { name: 'log', arguments: { message: 'hello', count: 2 } }), headers)
    expect(String(res.headers['content-type'])).toMatch(/^text\/event-stream/)
    const messages = sseMessages(res.body) as Message[]
    expect(messages.map((m) => m.method ?? m.id)).toEqual(['notifications/message', 'notifications/message', 2])
    expect(messages[0]?.params).toEqual({ level: 'info', logger: 'echo', data: 'hello' })
    expect(toolText(messages[2])).toBe('logged')
  })

  it('on a 2025-11-25 session the switched stream starts with the priming event (never part of a JSON body)', async () => {
    const { app, headers } = await sessionApp(LATEST)
    const res = await post(app, progressCall(2, 'p2', 2), headers)
    expect(String(res.headers['content-type'])).toMatch(/^text\/event-stream/)
    const events = parseSse(res.body)
    const [priming, ...rest] = events
    expect(priming).toEqual({ event: undefined, id: expect.any(String), retry: '1000', data: '' })
    expect(rest.length).toBe(3)
    for (const event of rest) expect(event.id).toBeTruthy()
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length)
    expectProgressThenResult(sseMessages(res.body) as Message[], 'p2', 2, 2)
    // A call that stays JSON right after: one object, no trace of its priming event.
    const plain = await post(app, echoCall(3, 'after'), headers)
    expect(plain.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(JSON.parse(plain.body)).toEqual({ jsonrpc: '2.0', id: 3, result: { content: [{ type: 'text', text: 'after' }] } })
  })

  it('a call still undecided when the session ends gets its error as the JSON body', async () => {
    const { app, headers } = await sessionApp(LATEST)
    const call = post(app, rpcRequest(2, 'tools/call', { name: 'slow', arguments: { ms: 10_000 } }), headers)
    await new Promise((resolve) => setTimeout(resolve, 100))
    const deleted = await app.inject({ method: 'DELETE', url: '/mcp', headers })
    expect(deleted.statusCode).toBe(200)
    const res = await call
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8')
    const body = JSON.parse(res.body) as { id: number; error: { message: string } }
    expect(body.id).toBe(2)
    expect(body.error.message).toMatch(/session ended/)
  })

  it('a batch on a 2025-03-26 session: a JSON array while only answers come, SSE with every answer once progress comes', async () => {
    const { app, headers } = await sessionApp('2025-03-26')
    const plain = await post(app, [echoCall(2, 'a'), echoCall(3, 'b')], headers)
    expect(plain.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(JSON.parse(plain.body)).toEqual([
      { jsonrpc: '2.0', id: 2, result: { content: [{ type: 'text', text: 'a' }] } },
      { jsonrpc: '2.0', id: 3, result: { content: [{ type: 'text', text: 'b' }] } },
    ])

    const mixed = await post(app, [echoCall(4, 'first'), progressCall(5, 'p3')], headers)
    expect(mixed.statusCode, mixed.body).toBe(200)
    expect(String(mixed.headers['content-type'])).toMatch(/^text\/event-stream/)
    for (const event of parseSse(mixed.body)) expect(event.id).toBeTruthy()
    const messages = sseMessages(mixed.body) as Message[]
    // The echo answer came first and was held; the first progress notification released it.
    expect(messages[0]).toEqual({ jsonrpc: '2.0', id: 4, result: { content: [{ type: 'text', text: 'first' }] } })
    expectProgressThenResult(messages.slice(1), 'p3', 5)
  })

  it('answers held back for a batch leave in one burst when it switches, even past maxQueuedBytes', async () => {
    // The client could not have read anything yet: what was held is not a sign of a slow reader.
    const { app, base } = await listen({ jsonResponse: true, maxQueuedBytes: 2000 })
    const { sessionId } = await initSession(app, { protocolVersion: '2025-03-26' })
    const payload = rpcRequest(2, 'tools/call', { name: 'payload', arguments: { bytes: 20_000 } })
    const { response, controller } = await rawPost(base, [payload, progressCall(3, 'p5')], { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-03-26' })
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const events = await new SseReader(response, controller).rest()
    const messages = events.map(messageOf) as Message[]
    expect(toolText(messages[0])).toHaveLength(20_000)
    expectProgressThenResult(messages.slice(1), 'p5', 3)
  })

  it('stateless: a plain call is JSON, a progress call switches to SSE (no event ids: nothing is kept)', async () => {
    const app = await buildApp({ stateless: true, jsonResponse: true })
    const plain = await post(app, echoCall(1, 'stateless'))
    expect(plain.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(JSON.parse(plain.body)).toEqual({ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'stateless' }] } })

    const res = await post(app, progressCall(2, 'p4'))
    expect(res.statusCode, res.body).toBe(200)
    expect(String(res.headers['content-type'])).toMatch(/^text\/event-stream/)
    for (const event of parseSse(res.body)) expect(event.id).toBeUndefined()
    expectProgressThenResult(sseMessages(res.body) as Message[], 'p4', 2)
  })

  it('stateless: the shared child’s sampling request reaches the caller on its switched stream', async () => {
    const { base } = await listen({ stateless: true, jsonResponse: true })
    const { response, controller } = await within(rawPost(base, toolCall(7, 'sample', { prompt: 'hi' })), 5000, 'the POST answer head')
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const reader = new SseReader(response, controller)
    const { match: request } = await reader.until((e) => e.data !== '' && messageOf(e).method === 'sampling/createMessage', 5000, 'the sampling request')
    const answer = { jsonrpc: '2.0', id: messageOf(request).id, result: { model: 'm', role: 'assistant', content: { type: 'text', text: 'sampled' } } }
    const accepted = await rawPost(base, answer)
    expect(accepted.response.status).toBe(202)
    const { match } = await reader.responseTo(7)
    expect(toolText(messageOf(match))).toBe('sampled')
    expect(await reader.next()).toBeUndefined()
  })

  it('the v1 SDK client: sampling, elicitation and progress arrive on the call’s own POST, plain calls stay JSON', async () => {
    const { base } = await listen({ jsonResponse: true })
    const answers: Array<[string, string]> = []
    const { client } = await connectV1(base, {
      capabilities: { sampling: {}, elicitation: {} },
      setup: (c) => {
        c.setRequestHandler(CreateMessageRequestSchema, () => ({ model: 'm', role: 'assistant', content: { type: 'text', text: 'on the POST' } }))
        c.setRequestHandler(ElicitRequestSchema, () => ({ action: 'accept', content: { name: 'Ada' } }))
      },
      fetch: async (url, init, next) => {
        // No standalone GET stream: whatever the calls need has to come on their own POST answers.
        if ((init?.method ?? 'GET') === 'GET') return new Response(null, { status: 405 })
        const response = await next(url, init)
        const body = JSON.parse(String(init?.body)) as Message
        const name = (body.params as { name?: string } | undefined)?.name
        if (response.status === 200) answers.push([name ?? body.method ?? '?', response.headers.get('content-type') ?? ''])
        return response
      },
    })
    expect(textOf(await within(client.callTool({ name: 'sample', arguments: { prompt: 'p' } }), 5000, 'the sample call'))).toBe('on the POST')
    const elicited = await within(client.callTool({ name: 'elicit', arguments: { message: 'who?' } }), 5000, 'the elicit call')
    expect(JSON.parse(textOf(elicited))).toEqual({ action: 'accept', content: { name: 'Ada' } })
    const progress: Progress[] = []
    const done = await within(client.callTool({ name: 'progress', arguments: { steps: 3, ms: 10 } }, undefined, { onprogress: (p) => progress.push(p) }), 5000, 'the progress call')
    expect(textOf(done)).toBe('progress done')
    expect(progress.map((p) => p.progress)).toEqual([1, 2, 3])
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'json' } }))).toBe('json')

    const typeOf = (name: string) => answers.find(([n]) => n === name)?.[1]
    expect(typeOf('initialize')).toMatch(/^application\/json/)
    expect(typeOf('echo')).toMatch(/^application\/json/)
    for (const name of ['sample', 'elicit', 'progress']) expect(typeOf(name)).toMatch(/^text\/event-stream/)
  })
})
