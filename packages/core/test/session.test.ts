import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  ChildPool,
  ErrorCode,
  MemoryEventStore,
  Session,
  type ChildCommand,
  type ChildUpstreamOptions,
  type InboundMessage,
  type JsonRpcId,
  type JsonRpcMessage,
  type JsonRpcResponse,
  type SessionTransport,
} from '../src/index.js'
import {
  FakeSink,
  childOptions,
  cleanup,
  errorOf,
  eventually,
  fixtureCommand,
  initializeRequest,
  isAlive,
  isProgress,
  logged,
  notification,
  onCleanup,
  recordingLogger,
  textOf,
  toolCall,
} from './helpers.js'

afterEach(cleanup)

interface SessionSetup {
  command?: ChildCommand
  transport?: SessionTransport
  withStore?: boolean
  initializeTimeoutMs?: number
  child?: Partial<ChildUpstreamOptions>
}

/** A session over a child taken from a ChildPool, with an event store unless told otherwise. */
function openSession(setup: SessionSetup = {}) {
  const { command = fixtureCommand('echo-server'), transport = 'streamable', withStore = true, initializeTimeoutMs = 5000, child = {} } = setup
  const logger = recordingLogger()
  const pool = new ChildPool(childOptions(command, { shared: false, logger, ...child }), 0)
  const store = new MemoryEventStore({ maxEvents: 1000, maxBytes: 1 << 20 })
  const onClosed = vi.fn<(session: Session) => void>()
  const session = new Session({
    id: 'session-1',
    transport,
    backend: pool.take(logger),
    store: withStore ? store : undefined,
    initializeTimeoutMs,
    logger,
    onClosed,
  })
  onCleanup(() => session.close())
  return { session, store, onClosed, logger }
}

/** As the HTTP route hands messages over: parsed, with the text they arrived as. */
function inbound<M extends JsonRpcMessage>(message: M): InboundMessage<M> {
  return { message, text: JSON.stringify(message) }
}

function sampledReply(id: JsonRpcId, text: string): JsonRpcResponse {
  return { jsonrpc: '2.0', id, result: { role: 'assistant', model: 'test', content: { type: 'text', text } } }
}

/** The initialize handshake on its own POST. */
async function initialize(session: Session, protocolVersion = '2025-06-18'): Promise<FakeSink> {
  const sink = new FakeSink()
  session.serve([inbound(initializeRequest(0, protocolVersion))], sink)
  await sink.response(0)
  session.forward([inbound(notification('notifications/initialized'))])
  return sink
}

describe('Session initialize', () => {
  it('answers on the POST stream, ends it, and records the protocol version the child agreed to', async () => {
    const { session } = openSession()
    const sink = await initialize(session, '2025-06-18')
    expect(sink.responses).toMatchObject([{ id: 0, result: { protocolVersion: '2025-06-18' } }])
    expect(sink.events.map((event) => event.kind)).toEqual(['response'])
    expect(sink.ended).toBe(1)
    expect(session.protocolVersion).toBe('2025-06-18')
    expect(session.supports('2025-06-18')).toBe(true)
    expect(session.supports('2025-11-25')).toBe(false)
  })

  it('records the version of the child answer, not the one the client asked for', async () => {
    const { session } = openSession()
    await initialize(session, '2099-01-01')
    expect(session.protocolVersion).toBe('2025-11-25')
  })

  it('closes the session once the client has the error of an initialize that failed', async () => {
    // requestTimeoutMs only makes the timeout sweep tick fast enough for a short initializeTimeoutMs.
    const { session, onClosed } = openSession({ command: fixtureCommand('no-init-server'), initializeTimeoutMs: 200, child: { requestTimeoutMs: 200 } })
    const sink = new FakeSink()
    session.serve([inbound(initializeRequest(0))], sink)
    expect(errorOf(await sink.response(0)).code).toBe(ErrorCode.RequestTimeout)
    await eventually(() => expect(onClosed).toHaveBeenCalledTimes(1))
    expect(session.closed).toBe(true)
  })
})

describe('Session request streams', () => {
  it('sends each answer to the stream of its POST and ends that stream when all its requests are answered', async () => {
    const { session } = openSession()
    await initialize(session)
    const both = new FakeSink()
    const single = new FakeSink()
    session.serve([inbound(toolCall(1, 'echo', { text: 'one' })), inbound(toolCall(2, 'slow', { ms: 200 }))], both)
    session.serve([inbound(toolCall(3, 'echo', { text: 'three' }))], single)

    expect(textOf(await both.response(1))).toBe('one')
    expect(both.ended).toBe(0)
    expect(textOf(await single.response(3))).toBe('three')
    expect(single.ended).toBe(1)
    expect(textOf(await both.response(2))).toBe('done after 200ms')
    expect(both.ended).toBe(1)

    expect(both.responses.map((response) => response.id)).toEqual([1, 2])
    expect(single.responses.map((response) => response.id)).toEqual([3])
    expect([...both.lateSends, ...single.lateSends]).toEqual([])
  })

  it('sends progress to the stream of the request that carries the token', async () => {
    const { session } = openSession()
    await initialize(session)
    const sink = new FakeSink()
    const other = new FakeSink()
    session.serve([inbound(toolCall(1, 'progress', { steps: 3, ms: 10 }, { progressToken: 'tok' }))], sink)
    session.serve([inbound(toolCall(2, 'slow', { ms: 50 }))], other)
    await Promise.all([sink.response(1), other.response(2)])
    expect(sink.messages.filter(isProgress)).toHaveLength(3)
    expect(other.messages.filter(isProgress)).toEqual([])
  })

  it('keeps only answers on a JSON (non-streaming) sink and ends it after the last one', async () => {
    const { session } = openSession()
    await initialize(session)
    const json = new FakeSink(false)
    session.serve([inbound(toolCall(1, 'echo', { text: 'json' }))], json)
    expect(textOf(await json.response(1))).toBe('json')
    expect(json.ended).toBe(1)
  })
})

describe('Session server→client requests', () => {
  it('go to the request stream when it is the only request in flight, and the POSTed answer reaches the child', async () => {
    const { session } = openSession()
    await initialize(session)
    const standalone = new FakeSink()
    session.attachStandalone(standalone)
    const post = new FakeSink()
    session.serve([inbound(toolCall(5, 'sample', { prompt: 'hi' }))], post)

    const sampling = await post.request('sampling/createMessage')
    expect(standalone.events).toEqual([])
    session.forward([inbound(sampledReply(sampling.id, 'sampled!'))])
    expect(textOf(await post.response(5))).toBe('sampled!')
    expect(post.ended).toBe(1)
  })

  it('go to the standalone stream when several requests are in flight', async () => {
    const { session } = openSession()
    await initialize(session)
    const standalone = new FakeSink()
    session.attachStandalone(standalone)
    const slow = new FakeSink()
    const sample = new FakeSink()
    session.serve([inbound(toolCall(1, 'slow', { ms: 200 }))], slow)
    session.serve([inbound(toolCall(2, 'sample', { prompt: 'which stream?' }))], sample)

    const sampling = await standalone.request('sampling/createMessage')
    expect(sample.messages).toEqual([])
    expect(slow.messages).toEqual([])
    session.forward([inbound(sampledReply(sampling.id, 'via standalone'))])
    expect(textOf(await sample.response(2))).toBe('via standalone')
    await slow.response(1)
  })

  it('go to the newest request stream when several are in flight and no standalone stream is open', async () => {
    const { session } = openSession()
    await initialize(session)
    const slow = new FakeSink()
    const sample = new FakeSink()
    session.serve([inbound(toolCall(1, 'slow', { ms: 200 }))], slow)
    session.serve([inbound(toolCall(2, 'sample', { prompt: 'newest' }))], sample)
    const sampling = await sample.request('sampling/createMessage')
    session.forward([inbound(sampledReply(sampling.id, 'newest'))])
    expect(textOf(await sample.response(2))).toBe('newest')
    expect(slow.messages.filter((message) => 'method' in message)).toEqual([])
  })

  it('wait for the next GET when no open stream can carry them', async () => {
    const { session, logger } = openSession()
    await initialize(session)
    const json = new FakeSink(false)
    session.serve([inbound(toolCall(3, 'sample', { prompt: 'later' }))], json)
    await eventually(() => expect(logged(logger.debug)).toContain('server message routed to the standalone stream'))

    const get = new FakeSink()
    session.attachStandalone(get)
    const sampling = await get.request('sampling/createMessage')
    session.forward([inbound(sampledReply(sampling.id, 'answered after GET'))])
    expect(textOf(await json.response(3))).toBe('answered after GET')
    expect(json.messages.filter((message) => 'method' in message)).toEqual([])
  })
})

describe('Session resumability', () => {
  it('primes a streaming POST of a 2025-11-25 session with an event id and empty data', async () => {
    const { session } = openSession()
    await initialize(session, '2025-11-25')
    const sink = new FakeSink()
    session.serve([inbound(toolCall(1, 'echo', { text: 'primed' }))], sink)
    await sink.response(1)
    expect(sink.events[0]).toEqual({ eventId: expect.any(String), data: '', kind: 'message' })
    expect(sink.events[1]).toMatchObject({ eventId: expect.any(String), kind: 'response' })
  })

  it('does not prime older sessions, nor sinks that cannot stream', async () => {
    const older = openSession().session
    await initialize(older, '2025-06-18')
    const sink = new FakeSink()
    older.serve([inbound(toolCall(1, 'echo', { text: 'x' }))], sink)
    await sink.response(1)
    expect(sink.events.map((event) => event.data === '')).toEqual([false])

    const newer = openSession().session
    await initialize(newer, '2025-11-25')
    const json = new FakeSink(false)
    newer.serve([inbound(toolCall(1, 'echo', { text: 'x' }))], json)
    await json.response(1)
    expect(json.events.map((event) => event.data === '')).toEqual([false])
  })

  it('replays only the later events of the resumed stream, then keeps delivering it while it is open', async () => {
    const { session, store } = openSession()
    await initialize(session, '2025-11-25')
    const first = new FakeSink()
    session.serve([inbound(toolCall(1, 'progress', { steps: 4, ms: 120 }, { progressToken: 'tok' }))], first)
    await eventually(() => expect(first.messages.filter(isProgress)).toHaveLength(1))
    first.disconnect()
    const lastEventId = first.events.at(-1)!.eventId!

    // Events of another stream are stored meanwhile; they must not be replayed on this one.
    const other = new FakeSink()
    session.serve([inbound(toolCall(2, 'echo', { text: 'other stream' }))], other)
    await other.response(2)
    // Wait until at least one event of the first stream was stored while nobody was attached.
    await eventually(() => {
      let missed = 0
      store.replayAfter(lastEventId, () => missed++)
      expect(missed).toBeGreaterThan(0)
    })

    const resumed = new FakeSink()
    expect(await session.resume(lastEventId, resumed)).toBe(true)
    expect(textOf(await resumed.response(1))).toBe('progress done')
    expect(resumed.ended).toBe(1)

    const progress = [...first.messages, ...resumed.messages].filter(isProgress).map((message) => (message.params as { progress: number }).progress)
    expect(progress).toEqual([1, 2, 3, 4])
    expect(resumed.messages.some((message) => JSON.stringify(message).includes('other stream'))).toBe(false)
    expect(resumed.events.every((event) => event.eventId !== undefined)).toBe(true)
    expect(first.lateSends).toEqual([])
  })

  it('replays a finished stream and ends the resumed connection', async () => {
    const { session } = openSession()
    await initialize(session, '2025-11-25')
    const sink = new FakeSink()
    session.serve([inbound(toolCall(1, 'progress', { steps: 2, ms: 5 }, { progressToken: 'tok' }))], sink)
    await sink.response(1)
    const primingId = sink.events[0]!.eventId!

    const again = new FakeSink()
    expect(await session.resume(primingId, again)).toBe(true)
    expect(again.messages).toEqual(sink.messages)
    expect(again.ended).toBe(1)
  })

  it('refuses an unknown event id, and every id when the session keeps no events', async () => {
    const { session } = openSession()
    const sink = new FakeSink()
    expect(await session.resume('no-such-event', sink)).toBe(false)
    expect(sink.events).toEqual([])

    const storeless = openSession({ withStore: false }).session
    const initialized = await initialize(storeless, '2025-11-25')
    expect(initialized.events[0]!.eventId).toBeUndefined()
    expect(await storeless.resume('standalone.0', new FakeSink())).toBe(false)
  })
})

describe('Session end', () => {
  it('closes when its child crashes, after answering the request in flight with the exit', async () => {
    const { session, onClosed } = openSession({ command: fixtureCommand('crash-server') })
    await initialize(session)
    const sink = new FakeSink()
    session.serve([inbound(toolCall(1, 'echo', { text: 'boom' }))], sink)
    const error = errorOf(await sink.response(1))
    expect(error.code).toBe(ErrorCode.InternalError)
    expect(error.message).toMatch(/exited \(code 7\)/)
    expect(sink.ended).toBe(1)
    await eventually(() => expect(onClosed).toHaveBeenCalledTimes(1))
    expect(onClosed).toHaveBeenCalledWith(session)
    expect(session.closed).toBe(true)
  })

  it('close() ends every open stream, stops the child and reports once', async () => {
    const { session, onClosed } = openSession()
    await initialize(session)
    const standalone = new FakeSink()
    session.attachStandalone(standalone)
    const pid = session.backend.pid!
    await Promise.all([session.close(), session.close()])
    expect(standalone.ended).toBe(1)
    expect(onClosed).toHaveBeenCalledTimes(1)
    expect(isAlive(pid)).toBe(false)
  })

  it('legacy HTTP+SSE: answers go to the one SSE stream, and closing it closes the session', async () => {
    const { session, onClosed } = openSession({ transport: 'legacy-sse' })
    const sse = new FakeSink()
    session.attachStandalone(sse)
    const post = new FakeSink(false)
    session.serve([inbound(initializeRequest(0))], post)
    await sse.response(0)
    expect(post.events).toEqual([])

    sse.disconnect()
    expect(session.closed).toBe(true)
    expect(onClosed).toHaveBeenCalledTimes(1)
  })
})
