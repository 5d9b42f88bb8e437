// Resumability (SSE event ids, priming, Last-Event-ID) and server→client routing, checked at the raw
// HTTP level (the SDK hides which stream carried what), plus the v1 SDK client's own resumption.
import { describe, expect, it } from 'vitest'
import { listen } from './helpers.js'
import {
  connectV1,
  getStream,
  messageOf,
  messagesOf,
  openRawSession,
  postAccepted,
  postStream,
  rawGet,
  rid,
  sleep,
  textOf,
  toolCall,
  within,
  type SseEvent,
} from './sdk-helpers.js'

const isPriming = (event: SseEvent): boolean => event.data === '' && event.id !== undefined
const resultText = (message: ReturnType<typeof messageOf>): string => textOf(message.result)

/** The answer a client POSTs to a sampling request. */
function samplingAnswer(id: unknown, text: string): unknown {
  return { jsonrpc: '2.0', id, result: { model: 'raw-model', role: 'assistant', content: { type: 'text', text } } }
}

// A tiny stdio child for the cases where no request stream can carry a server request: `trigger` is
// answered and, in the same write, the child sends sampling request `later-N`; `wait` is answered only
// once the client answers one of them.
const LATER_CHILD = `
const rl = require('node:readline').createInterface({ input: process.stdin })
const out = (...m) => process.stdout.write(m.map((x) => JSON.stringify(x) + '\\n').join(''))
let waiting
let asked = 0
rl.on('line', (line) => {
  const m = JSON.parse(line)
  if (m.method === 'initialize') return out({ jsonrpc: '2.0', id: m.id, result: { protocolVersion: m.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'later', version: '1' } } })
  if (m.method === 'tools/call' && m.params.name === 'wait') { waiting = m.id; return }
  if (m.method === 'tools/call' && m.params.name === 'trigger') return out(
    { jsonrpc: '2.0', id: m.id, result: { content: [{ type: 'text', text: 'triggered' }] } },
    { jsonrpc: '2.0', id: 'later-' + ++asked, method: 'sampling/createMessage', params: { messages: [{ role: 'user', content: { type: 'text', text: 'late' } }], maxTokens: 5 } },
  )
  if (String(m.id).startsWith('later-') && m.result) return out({ jsonrpc: '2.0', id: waiting, result: { content: [{ type: 'text', text: 'waited for ' + m.result.content.text }] } })
  if (m.id !== undefined && m.method) out({ jsonrpc: '2.0', id: m.id, result: {} })
})
rl.on('close', () => process.exit(0))
`

describe('resumability (raw HTTP)', { timeout: 10_000 }, () => {
  it('a 2025-11-25 session: a request stream starts with a priming event (id, retry, empty data)', async () => {
    const { base } = await listen({ retryInterval: 250 })
    const session = await openRawSession(base, '2025-11-25')
    const id = rid()
    const stream = await postStream(session, toolCall(id, 'echo', { text: 'primed' }))
    const events = await stream.rest()
    expect(events.length).toBe(2)
    const [priming, answer] = events as [SseEvent, SseEvent]
    expect(isPriming(priming)).toBe(true)
    expect(priming.retry).toBe(250)
    expect(answer.id).toBeDefined()
    expect(answer.id).not.toBe(priming.id)
    expect(messageOf(answer)).toMatchObject({ id, result: { content: [{ type: 'text', text: 'primed' }] } })
    // The priming event really is first on the wire.
    expect(stream.text.trimStart().startsWith(`id: ${priming.id}\n`)).toBe(true)
  })

  it('a dropped POST stream resumes on GET with Last-Event-ID: the answer arrives, then the stream ends', async () => {
    const { base } = await listen()
    const session = await openRawSession(base, '2025-11-25')
    const id = rid()
    const stream = await postStream(session, toolCall(id, 'slow', { ms: 600 }))
    const priming = await stream.next(3000, 'the priming event')
    expect(priming && isPriming(priming)).toBe(true)
    stream.abort()

    const resumed = await getStream(session, priming!.id, 5000)
    expect(resumed.response.headers.get('content-type')).toMatch(/^text\/event-stream/)
    expect(resumed.response.headers.get('mcp-session-id')).toBe(session.id)
    const events = await resumed.rest(5000)
    // The disconnect was not a cancellation: the child finished the call and its answer was kept.
    expect(messagesOf(events)).toEqual([{ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: 'done after 600ms' }] } }])
    expect(events.every((event) => event.id !== undefined)).toBe(true)

    // The session is unharmed.
    const next = await postStream(session, toolCall(rid(), 'echo', { text: 'after resume' }))
    expect(resultText(messagesOf(await next.rest()).at(-1)!)).toBe('after resume')
  })

  it('resuming after the answer was sent replays it and ends the stream', async () => {
    const { base } = await listen()
    const session = await openRawSession(base, '2025-11-25')
    const id = rid()
    const stream = await postStream(session, toolCall(id, 'progress', { steps: 2, ms: 5 }, { progressToken: 'tok' }))
    const all = await stream.rest()
    const priming = all[0]!
    expect(isPriming(priming)).toBe(true)
    // Replay from the priming event: everything after it on this stream, in order, with the same ids.
    const replay = await (await getStream(session, priming.id)).rest()
    expect(replay).toEqual(all.slice(1))
    // Replay from the first progress event: the rest only.
    const fromFirst = await (await getStream(session, all[1]!.id)).rest()
    expect(fromFirst).toEqual(all.slice(2))
    expect(messagesOf(fromFirst).map((m) => m.method ?? 'response')).toEqual(['notifications/progress', 'response'])
  })

  it('a resumed stream that is still waiting gets its response head before the answer', async () => {
    const { base } = await listen()
    const session = await openRawSession(base, '2025-11-25')
    const id = rid()
    const stream = await postStream(session, toolCall(id, 'slow', { ms: 4000 }))
    const priming = await stream.next(3000, 'the priming event')
    stream.abort()
    // Nothing to replay yet and the call runs for 4 s: the head must not wait for the answer.
    const { response } = await within(rawGet(session, priming!.id), 2500, 'the head of the resumed stream')
    expect(response.status).toBe(200)
    // Let the call finish quickly.
    await postAccepted(session, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id } })
  })

  it('a replay never carries events of another stream', async () => {
    const { base } = await listen()
    const session = await openRawSession(base, '2025-11-25')
    const slowId = rid()
    const progressId = rid()
    const slow = await postStream(session, toolCall(slowId, 'slow', { ms: 700 }))
    const slowPriming = (await slow.next(3000, 'the priming event of the slow call'))!
    const progress = await postStream(session, toolCall(progressId, 'progress', { steps: 3, ms: 20 }, { progressToken: 'p' }))
    const progressPriming = (await progress.next(3000, 'the priming event of the progress call'))!
    expect(isPriming(slowPriming) && isPriming(progressPriming)).toBe(true)
    slow.abort()
    progress.abort()

    // The progress stream's events were recorded after the slow stream's priming event.
    const progressReplay = messagesOf(await (await getStream(session, progressPriming.id)).rest())
    expect(progressReplay.map((m) => m.method ?? `response ${String(m.id)}`)).toEqual([
      'notifications/progress',
      'notifications/progress',
      'notifications/progress',
      `response ${progressId}`,
    ])
    const slowReplay = messagesOf(await (await getStream(session, slowPriming.id)).rest())
    expect(slowReplay).toEqual([{ jsonrpc: '2.0', id: slowId, result: { content: [{ type: 'text', text: 'done after 700ms' }] } }])
  })

  it('a 2025-06-18 session gets no priming event (events still carry ids)', async () => {
    const { base } = await listen()
    const session = await openRawSession(base, '2025-06-18')
    expect(session.protocolVersion).toBe('2025-06-18')
    const id = rid()
    const events = await (await postStream(session, toolCall(id, 'slow', { ms: 150 }))).rest()
    expect(events.length).toBe(1)
    expect(events[0]!.data).not.toBe('')
    expect(events[0]!.id).toBeDefined()
    expect(events.some((event) => event.retry !== undefined)).toBe(false)
    expect(messageOf(events[0]!).id).toBe(id)
  })

  it('an unknown Last-Event-ID, or one of another session, gets 404', async () => {
    const { base } = await listen()
    const a = await openRawSession(base, '2025-11-25')
    const b = await openRawSession(base, '2025-11-25')
    const unknown = await rawGet(a, 'r999.12345')
    expect(unknown.response.status).toBe(404)
    expect(await unknown.response.json()).toMatchObject({ jsonrpc: '2.0', error: { message: expect.stringMatching(/Last-Event-ID/) } })

    const events = await (await postStream(b, toolCall(rid(), 'echo', { text: 'b' }))).rest()
    const foreign = await rawGet(a, events[0]!.id)
    expect(foreign.response.status).toBe(404)
    await foreign.response.body?.cancel()
  })

  it('eventStoreMaxEvents: 0 turns resumability off: no ids, no priming, Last-Event-ID is unknown', async () => {
    const { base } = await listen({ eventStoreMaxEvents: 0 })
    const session = await openRawSession(base, '2025-11-25')
    const stream = await postStream(session, toolCall(rid(), 'progress', { steps: 2, ms: 5 }, { progressToken: 1 }))
    const events = await stream.rest()
    expect(events.length).toBe(3)
    expect(stream.text).not.toMatch(/^id:/m)
    expect(stream.text).not.toMatch(/^retry:/m)
    const { response } = await rawGet(session, 'r1.0')
    expect(response.status).toBe(404)
    await response.body?.cancel()
  })

  it('notifications/cancelled ends the POST stream of the call without an answer', async () => {
    const { base } = await listen()
    const session = await openRawSession(base, '2025-11-25')
    const id = rid()
    const stream = await postStream(session, toolCall(id, 'slow', { ms: 5000 }))
    await stream.next(3000, 'the priming event')
    await postAccepted(session, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: 'test' } })
    expect(messagesOf(await stream.rest(3000))).toEqual([])
    // The child dropped the call and still serves the session.
    const events = await (await postStream(session, toolCall(rid(), 'echo', { text: 'ok' }))).rest()
    expect(resultText(messagesOf(events)[0]!)).toBe('ok')
  })

  it('the standalone GET stream is resumable too', async () => {
    const { base } = await listen({ args: ['-e', LATER_CHILD] })
    const session = await openRawSession(base, '2025-11-25')
    const get = await getStream(session)
    // `trigger` is answered first, so its sampling request is unrelated to any open call: the GET stream gets it.
    await (await postStream(session, toolCall(rid(), 'trigger'))).rest()
    const first = (await get.next(3000, 'the first sampling request'))!
    expect(messageOf(first)).toMatchObject({ id: 'later-1', method: 'sampling/createMessage' })
    expect(first.id).toBeDefined()
    get.abort()
    await sleep(100) // let the proxy see the closed connection

    // Sent while no stream is connected: kept for the GET stream.
    await (await postStream(session, toolCall(rid(), 'trigger'))).rest()
    const resumed = await getStream(session, first.id)
    const replayed = (await resumed.next(3000, 'the replayed sampling request'))!
    expect(messageOf(replayed)).toMatchObject({ id: 'later-2', method: 'sampling/createMessage' })
    // Live again: the next one arrives on the resumed stream, and nothing was delivered twice.
    await (await postStream(session, toolCall(rid(), 'trigger'))).rest()
    const live = (await resumed.next(3000, 'a live sampling request'))!
    expect(messageOf(live)).toMatchObject({ id: 'later-3', method: 'sampling/createMessage' })
    // A plain GET later gets no stale backlog (the replay consumed it).
    resumed.abort()
    await sleep(100)
    const again = await getStream(session)
    await (await postStream(session, toolCall(rid(), 'trigger'))).rest()
    expect(messageOf((await again.next(3000, 'the fourth sampling request'))!)).toMatchObject({ id: 'later-4' })
  })

  it('the v1 SDK client resumes a dropped POST stream by itself (GET with Last-Event-ID)', async () => {
    const { base } = await listen({ retryInterval: 50 })
    const resumedWith: string[] = []
    let dropped = false
    const { client } = await connectV1(base, {
      reconnectionOptions: { initialReconnectionDelay: 50, maxReconnectionDelay: 200, reconnectionDelayGrowFactor: 1.5, maxRetries: 3 },
      fetch: async (url, init, next) => {
        const lastEventId = new Headers(init?.headers).get('last-event-id')
        if (lastEventId) resumedWith.push(lastEventId)
        const response = await next(url, init)
        const body = typeof init?.body === 'string' ? init.body : ''
        if (dropped || init?.method !== 'POST' || !body.includes('"slow"') || !response.body) return response
        dropped = true
        // Pass the priming event through, then fail the stream as a network error would.
        const reader = response.body.getReader()
        const decoder = new TextDecoder()
        let seen = ''
        const failing = new ReadableStream<Uint8Array>({
          async pull(controller) {
            const chunk = await reader.read()
            if (chunk.done) return controller.close()
            controller.enqueue(chunk.value)
            seen += decoder.decode(chunk.value, { stream: true })
            if (/^id: /m.test(seen)) {
              await reader.cancel()
              controller.error(new TypeError('terminated'))
            }
          },
        })
        return new Response(failing, { status: response.status, headers: response.headers })
      },
    })
    const result = await within(client.callTool({ name: 'slow', arguments: { ms: 500 } }), 5000, 'the resumed call')
    expect(textOf(result)).toBe('done after 500ms')
    expect(dropped).toBe(true)
    expect(resumedWith.length).toBeGreaterThan(0)
  })
})

describe('server→client routing (raw HTTP)', { timeout: 10_000 }, () => {
  it('one call in flight with a GET stream open: its sampling request goes on the POST stream of the call', async () => {
    const { base } = await listen()
    const session = await openRawSession(base, '2025-11-25')
    const get = await getStream(session)
    const id = rid()
    const call = await postStream(session, toolCall(id, 'sample', { prompt: 'on the post stream' }))
    const { match: request } = await call.until((e) => e.data !== '' && messageOf(e).method === 'sampling/createMessage', 3000, 'the sampling request')
    await postAccepted(session, samplingAnswer(messageOf(request).id, 'answered'))
    const { match: answer } = await call.responseTo(id, 3000)
    expect(resultText(messageOf(answer))).toBe('answered')
    expect(await call.rest()).toEqual([])

    // Fence through the GET stream: the first thing it carries is this log message, so it never carried the sampling request.
    const slow = await postStream(session, toolCall(rid(), 'slow', { ms: 150 }))
    const log = await postStream(session, toolCall(rid(), 'log', { message: 'fence' }))
    const first = await get.next(3000, 'the fence on the GET stream')
    expect(messageOf(first!)).toMatchObject({ method: 'notifications/message', params: { data: 'fence' } })
    expect(messagesOf(await log.rest()).map((m) => m.method ?? 'response')).toEqual(['response'])
    await slow.rest()
  })

  it('list_changed and resources/updated from the one call in flight go on its stream, never also on the GET stream', async () => {
    const { base } = await listen()
    const session = await openRawSession(base, '2025-11-25')
    const get = await getStream(session)
    const notify = await postStream(session, toolCall(rid(), 'notify'))
    expect(messagesOf(await notify.rest()).map((m) => m.method ?? 'response')).toEqual([
      'notifications/tools/list_changed',
      'notifications/resources/updated',
      'response',
    ])
    const slow = await postStream(session, toolCall(rid(), 'slow', { ms: 150 }))
    const log = await postStream(session, toolCall(rid(), 'log', { message: 'fence' }))
    expect(messageOf((await get.next(3000, 'the fence on the GET stream'))!)).toMatchObject({ method: 'notifications/message', params: { data: 'fence' } })
    await Promise.all([slow.rest(), log.rest()])
  })

  it('two calls in flight with a GET stream open: the sampling request goes on the GET stream', async () => {
    const { base } = await listen()
    const session = await openRawSession(base, '2025-11-25')
    const get = await getStream(session)
    const slowId = rid()
    const slow = await postStream(session, toolCall(slowId, 'slow', { ms: 800 }))
    const sampleId = rid()
    const sample = await postStream(session, toolCall(sampleId, 'sample', { prompt: 'on the get stream' }))
    const request = (await get.next(3000, 'the sampling request on the GET stream'))!
    expect(messageOf(request)).toMatchObject({ method: 'sampling/createMessage', params: { messages: [{ content: { text: 'on the get stream' } }] } })
    await postAccepted(session, samplingAnswer(messageOf(request).id, 'via get'))
    const sampleEvents = await sample.rest(3000)
    // The call's own stream carried only its answer.
    expect(messagesOf(sampleEvents)).toEqual([{ jsonrpc: '2.0', id: sampleId, result: { content: [{ type: 'text', text: 'via get' }] } }])
    const slowEvents = messagesOf(await slow.rest(3000))
    expect(slowEvents).toEqual([{ jsonrpc: '2.0', id: slowId, result: { content: [{ type: 'text', text: 'done after 800ms' }] } }])
  })

  it('two calls in flight and no GET stream: the sampling request goes on exactly one POST stream', async () => {
    const { base } = await listen()
    const session = await openRawSession(base, '2025-11-25')
    const slow = await postStream(session, toolCall(rid(), 'slow', { ms: 300 }))
    const sampleId = rid()
    const sample = await postStream(session, toolCall(sampleId, 'sample', { prompt: 'somewhere' }))
    const carrier = await Promise.race([
      sample.until((e) => e.data !== '' && messageOf(e).method === 'sampling/createMessage', 3000).then((r) => ({ which: 'sample', event: r.match })),
      slow.until((e) => e.data !== '' && messageOf(e).method === 'sampling/createMessage', 3000).then((r) => ({ which: 'slow', event: r.match })),
    ])
    await postAccepted(session, samplingAnswer(messageOf(carrier.event).id, 'ok'))
    const rest = [...(await sample.rest()), ...(await slow.rest())]
    const requests = messagesOf(rest).filter((m) => m.method === 'sampling/createMessage')
    expect(requests).toEqual([])
    expect(messagesOf(rest).filter((m) => m.id === sampleId).map(resultText)).toEqual(['ok'])
  })

  it('no GET stream and the POST connection dropped: the sampling request waits for the next GET', async () => {
    const { base } = await listen({ args: ['-e', LATER_CHILD] })
    const session = await openRawSession(base, '2025-11-25')
    const waitId = rid()
    const wait = await postStream(session, toolCall(waitId, 'wait'))
    const priming = (await wait.next(3000, 'the priming event of wait'))!
    expect(isPriming(priming)).toBe(true)
    wait.abort()
    await sleep(100) // let the proxy see the closed connection

    // `trigger` is answered, and in the same write the child asks for sampling: no stream can carry it now.
    const triggerId = rid()
    const trigger = await postStream(session, toolCall(triggerId, 'trigger'))
    expect(messagesOf(await trigger.rest())).toEqual([{ jsonrpc: '2.0', id: triggerId, result: { content: [{ type: 'text', text: 'triggered' }] } }])

    const get = await getStream(session)
    const request = (await get.next(3000, 'the waiting sampling request'))!
    expect(messageOf(request)).toMatchObject({ id: 'later-1', method: 'sampling/createMessage' })
    await postAccepted(session, samplingAnswer('later-1', 'the late answer'))

    // The answer to `wait` went to its (disconnected) stream; resuming that stream delivers it.
    const resumed = await getStream(session, priming.id)
    expect(messagesOf(await resumed.rest())).toEqual([{ jsonrpc: '2.0', id: waitId, result: { content: [{ type: 'text', text: 'waited for the late answer' }] } }])
  })
})
