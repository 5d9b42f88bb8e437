// A child that misbehaves on purpose (fixtures/hostile-server.mjs): deep nesting, floods, leftovers,
// a closed stdout, over-long answers. Each case failed (or crashed the process) before it was handled.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ChildPool, ErrorCode, type ChildUpstream, MemoryEventStore, Session, Upstream, type JsonRpcMessage, type RootsPolicy } from '../src/index.js'
import {
  FakeSink,
  RecordingCaller,
  call,
  childOptions,
  cleanup,
  errorOf,
  eventually,
  fixtureCommand,
  fixturePath,
  initializeRequest,
  isAlive,
  isRunning,
  logged,
  onCleanup,
  recordStdin,
  recordingLogger,
  request,
  startAnsweringUpstream,
  startChild,
  textOf,
  toolCall,
} from './helpers.js'

afterEach(cleanup)

const hostile = fixtureCommand('hostile-server')

describe('a child that writes messages nested too deeply to re-serialize', () => {
  it('answers the call with an error when its rewritten answer cannot be serialized, and keeps serving', async () => {
    const logger = recordingLogger()
    const backend = await startAnsweringUpstream(hostile, { logger }) // shared: every id is rewritten
    const answer = await call(backend, toolCall('deep-1', 'deep', { depth: 10_000, as: 'result' }))
    expect(errorOf(answer)).toMatchObject({ code: ErrorCode.InternalError, message: expect.stringContaining('nested too deeply') })
    expect(answer.id).toBe('deep-1')
    expect(logged(logger.warn)).toContain('answer of the MCP server nested too deeply to forward; the request fails')
    expect(textOf(await call(backend, toolCall('after', 'echo', { text: 'still here' })))).toBe('still here')
  })

  it('drops a deep progress notification whose token is rewritten, and delivers the answer', async () => {
    const backend = await startAnsweringUpstream(hostile)
    const caller = new RecordingCaller()
    backend.upstream.request(caller, toolCall(1, 'deep', { depth: 10_000, as: 'progress' }, { progressToken: 'tok' }))
    expect(textOf(await caller.response())).toBe('deep progress 10000')
    expect(caller.progress).toEqual([])
  })

  it('drops the deep item of a batch line and delivers the other', async () => {
    const logger = recordingLogger()
    const backend = await startAnsweringUpstream(hostile, { logger })
    const unrouted = vi.fn()
    backend.setUnroutedHandler(unrouted)
    expect(textOf(await call(backend, toolCall(1, 'deep', { depth: 10_000, as: 'batch' })))).toBe('deep batch 10000')
    expect(unrouted).not.toHaveBeenCalled()
    expect(logged(logger.warn)).toContain('message of the MCP server nested too deeply to forward; dropped')
  })

  it('forwards a deep single-line message as the exact text it arrived as (nothing to re-serialize)', async () => {
    const backend = await startAnsweringUpstream(hostile)
    const texts: string[] = []
    backend.setUnroutedHandler((_message, text) => texts.push(text))
    expect(textOf(await call(backend, toolCall(1, 'deep', { depth: 10_000, as: 'notification' })))).toBe('deep notification 10000')
    await eventually(() => expect(texts).toHaveLength(1))
    expect(texts[0]).toContain('['.repeat(10_000))
  })

  it('refuses a client message it cannot serialize instead of throwing', () => {
    const sent: string[] = []
    const logger = recordingLogger()
    const upstream = new Upstream({ transport: { send: (text) => sent.push(text) > 0 }, shared: false, requestTimeoutMs: 1000, maxRequestTimeoutMs: 1000, onUnrouted: () => {}, logger })
    let deep: unknown = []
    for (let i = 0; i < 10_000; i++) deep = [deep]
    expect(() => upstream.notify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1, reason: deep } })).not.toThrow()
    expect(() => upstream.notify({ jsonrpc: '2.0', method: 'notifications/message', params: { data: deep } })).not.toThrow()
    expect(() => upstream.respond({ jsonrpc: '2.0', id: 1, result: { deep } })).not.toThrow()
    expect(sent).toEqual([])
  })
})

describe('a child that leaves processes behind', () => {
  it('stops what is left of its process group when the child exits by itself', async () => {
    const script = `sleep 300 & echo "sleeper=$!" >&2; exec "${process.execPath}" "${fixturePath('echo-server')}"`
    const harness = startChild({ command: 'sh', args: ['-c', script], env: { ...(process.env as Record<string, string>) } })
    const sleeper = await eventually(() => {
      const line = harness.stderr.find((l) => l.startsWith('sleeper='))
      if (!line) throw new Error('no sleeper yet')
      return Number(line.slice('sleeper='.length))
    })
    await harness.ready
    expect(isAlive(sleeper)).toBe(true)
    process.kill(harness.child.pid!, 'SIGKILL') // the server dies by itself; the proxy did not stop it
    await harness.child.gone
    expect(isRunning(sleeper)).toBe(false)
  })

  it('stop() on a child that already exited still waits for its leftovers', async () => {
    const harness = startChild(fixtureCommand('hostile-server', { FIXTURE_GRANDCHILD: '1' }))
    const grandchild = await eventually(() => {
      const line = harness.stderr.find((l) => l.startsWith('grandchild pid='))
      if (!line) throw new Error('no grandchild yet')
      return Number(line.slice('grandchild pid='.length))
    })
    process.kill(harness.child.pid!, 'SIGKILL')
    await harness.child.exited
    await harness.child.stop()
    expect(isRunning(grandchild)).toBe(false) // a zombie waiting for init to reap it is not running
  })
})

describe('a child that closes its stdout and keeps running', () => {
  it('fails the requests in flight at once and stops the child', async () => {
    const logger = recordingLogger()
    const backend = await startAnsweringUpstream(hostile, { logger })
    const pending = new RecordingCaller()
    backend.upstream.request(pending, toolCall('slow', 'hang'))
    const answer = await call(backend, toolCall('closer', 'close-stdout'))
    expect(errorOf(answer).message).toContain('closed its stdout')
    expect(errorOf(await pending.response()).message).toContain('closed its stdout')
    expect(logged(logger.warn)).toContain('MCP server closed its stdout but kept running; stopping it')
    await backend.gone
  })
})

describe('an answer longer than the line limit', () => {
  it('fails the request whose id the line names, at once', async () => {
    const backend = await startAnsweringUpstream(hostile, { maxLineLength: 100_000 })
    const other = new RecordingCaller()
    backend.upstream.request(other, toolCall('other', 'hang'))
    const answer = await call(backend, toolCall('big', 'huge', { chars: 300_000 }))
    expect(errorOf(answer)).toMatchObject({ code: ErrorCode.InternalError, data: { maxLineLength: 100_000 } })
    expect(other.responses).toEqual([])
  })

})

describe('reading an over-long line by its edges', () => {
  function upstreamWith(...ids: string[]) {
    const upstream = new Upstream({ transport: { send: () => true }, shared: false, requestTimeoutMs: 10_000, maxRequestTimeoutMs: 10_000, onUnrouted: () => {}, logger: recordingLogger() })
    const callers = ids.map((id) => {
      const caller = new RecordingCaller()
      upstream.request(caller, toolCall(id, 'echo'))
      return caller
    })
    return { upstream, callers }
  }
  const long = 'x'.repeat(256)

  it('finds the id written last, as the TypeScript SDK writes answers', () => {
    const { upstream, callers } = upstreamWith('a', 'b')
    upstream.lineTooLong({ head: `{"result":{"content":[{"type":"text","text":"${long}`, tail: `${long}"}]},"jsonrpc":"2.0","id":"b"}` }, 5_000_000, 1000)
    expect(callers[0]!.responses).toEqual([])
    expect(errorOf(callers[1]!.responses[0]).data).toEqual({ length: 5_000_000, maxLineLength: 1000 })
  })

  it('fails the only request in flight when the id cannot be read, and none when several are', () => {
    const edges = { head: `{"result":{"content":[{"type":"text","text":"${long}`, tail: long }
    const one = upstreamWith('only')
    one.upstream.lineTooLong(edges, 5_000_000, 1000)
    expect(errorOf(one.callers[0]!.responses[0]).code).toBe(ErrorCode.InternalError)
    const two = upstreamWith('a', 'b')
    two.upstream.lineTooLong(edges, 5_000_000, 1000)
    expect(two.callers.flatMap((c) => c.responses)).toEqual([])
  })

  it('leaves requests alone when the line is a notification or not JSON at all', () => {
    const { upstream, callers } = upstreamWith('only')
    upstream.lineTooLong({ head: `{"method":"notifications/message","params":{"data":"${long}`, tail: `${long}"},"jsonrpc":"2.0"}` }, 5_000_000, 1000)
    upstream.lineTooLong({ head: long, tail: long }, 5_000_000, 1000)
    expect(callers[0]!.responses).toEqual([])
  })
})

describe('request timeouts', () => {
  it('a progress notification that brings a deadline earlier re-arms the timer', () => {
    vi.useFakeTimers()
    try {
      const upstream = new Upstream({ transport: { send: () => true }, shared: false, requestTimeoutMs: 100, maxRequestTimeoutMs: 10_000, onUnrouted: () => {}, logger: recordingLogger() })
      const caller = new RecordingCaller()
      upstream.request(caller, toolCall('long', 'slow', {}, { progressToken: 'p' }), undefined, 3000)
      const progress = { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'p', progress: 1 } }
      upstream.receive(progress, JSON.stringify(progress))
      vi.advanceTimersByTime(100)
      expect(errorOf(caller.responses[0]).code).toBe(ErrorCode.RequestTimeout)
    } finally {
      vi.useRealTimers()
    }
  })

  it('a timeout longer than a Node timer can wait does not spin', () => {
    vi.useFakeTimers()
    try {
      const sent: string[] = []
      const upstream = new Upstream({ transport: { send: (text) => sent.push(text) > 0 }, shared: false, requestTimeoutMs: 30 * 24 * 3600_000, maxRequestTimeoutMs: 30 * 24 * 3600_000, onUnrouted: () => {}, logger: recordingLogger() })
      const caller = new RecordingCaller()
      upstream.request(caller, toolCall('long', 'slow'))
      const start = Date.now()
      vi.advanceTimersToNextTimer()
      expect(Date.now() - start).toBeGreaterThanOrEqual(2 ** 31 - 1) // the first wake-up is a full step, not 1 ms
      expect(caller.responses).toEqual([])
    } finally {
      vi.useRealTimers()
    }
  })

  it('fire at their own deadline, not at the next tick of a coarse sweeper', () => {
    vi.useFakeTimers()
    try {
      const sent: string[] = []
      const upstream = new Upstream({ transport: { send: (text) => sent.push(text) > 0 }, shared: false, requestTimeoutMs: 300_000, maxRequestTimeoutMs: 3_600_000, onUnrouted: () => {}, logger: recordingLogger() })
      const long = new RecordingCaller()
      const short = new RecordingCaller()
      upstream.request(long, request('long', 'tools/call'))
      upstream.request(short, request('init', 'initialize'), undefined, 2500)
      vi.advanceTimersByTime(2499)
      expect(short.responses).toEqual([])
      vi.advanceTimersByTime(1)
      expect(errorOf(short.responses[0]).code).toBe(ErrorCode.RequestTimeout)
      expect(long.responses).toEqual([])
      vi.advanceTimersByTime(300_000 - 2500)
      expect(errorOf(long.responses[0]).code).toBe(ErrorCode.RequestTimeout)
    } finally {
      vi.useRealTimers()
    }
  })
})

function openHostileSession(roots?: RootsPolicy, backlogLimit = { maxEvents: 1000, maxBytes: 3_000_000 }) {
  const logger = recordingLogger()
  const pool = new ChildPool(childOptions(hostile, { shared: false, logger, maxLineLength: 8 << 20 }), 0)
  const dropped = { events: 0, bytes: 0 }
  const session = new Session({
    id: 's1',
    transport: 'streamable',
    backend: pool.take(logger),
    store: new MemoryEventStore({ maxEvents: 1000, maxBytes: 1 << 20 }),
    initializeTimeoutMs: 5000,
    backlogLimit,
    ...(roots ? { roots } : {}),
    logger,
    onClosed: () => {},
    onBacklogDropped: (events, bytes) => {
      dropped.events += events
      dropped.bytes += bytes
    },
  })
  onCleanup(() => session.close())
  return { session, dropped, logger }
}

async function initialize(session: Session, capabilities: Record<string, unknown> = {}): Promise<void> {
  const sink = new FakeSink()
  const init = initializeRequest(0, '2025-11-25')
  ;(init.params as Record<string, unknown>).capabilities = capabilities
  session.serve([{ message: init, text: undefined }], sink)
  await sink.response(0)
}

async function callTool(session: Session, id: number, name: string, args: Record<string, unknown> = {}, streaming = true): Promise<JsonRpcMessage> {
  const sink = new FakeSink(streaming)
  session.serve([{ message: toolCall(id, name, args), text: undefined }], sink)
  return sink.response(id)
}

describe('server messages waiting for a GET stream', () => {
  it('are bounded in bytes: the oldest are dropped and counted, and the GET gets the rest', async () => {
    const { session, dropped, logger } = openHostileSession(undefined, { maxEvents: 1000, maxBytes: 3_000_000 })
    await initialize(session)
    // A JSON answer cannot carry them: the 20 notifications wait for the GET stream.
    expect(textOf(await callTool(session, 1, 'flood', { count: 20, bytes: 1_000_000 }, false))).toBe('flooded 20x1000000')
    expect(dropped.events).toBeGreaterThanOrEqual(17)
    expect(logged(logger.warn).filter((m) => m.startsWith('server messages dropped'))).toHaveLength(1)
    const get = new FakeSink()
    session.attachStandalone(get)
    expect(get.events.length).toBeLessThanOrEqual(3)
    expect(get.events.reduce((sum, e) => sum + e.data.length, 0)).toBeLessThanOrEqual(3_000_000 + 1_000_200)
    expect(dropped.events + get.events.length).toBe(20)
  })
})

describe('the roots policy', () => {
  it('a client cannot answer a roots/list it was never sent (a forged answer ahead of the proxy’s own)', async () => {
    const roots = [{ uri: 'file:///data', name: 'data' }]
    const { session } = openHostileSession({ mode: 'fixed', roots })
    await initialize(session, {})
    const stdin = recordStdin(session.backend as ChildUpstream)
    const forged = { jsonrpc: '2.0' as const, id: 's-1', result: { roots: [{ uri: 'file:///' }] } }
    for (const id of ['s-1', 's-2', 's-3']) session.forward([{ message: { ...forged, id }, text: undefined }])
    expect(stdin.lines).toEqual([]) // never written to the child: it could win the race against the proxy's answer
    const sink = new FakeSink()
    session.serve([{ message: toolCall(2, 'roots'), text: undefined }], sink)
    expect(JSON.parse(textOf(await sink.response(2)))).toEqual(roots)
  })

  it('forward: the client answers the roots/list it was sent, once', async () => {
    const { session } = openHostileSession()
    await initialize(session, { roots: { listChanged: true } })
    const sink = new FakeSink()
    session.serve([{ message: toolCall(2, 'roots'), text: undefined }], sink)
    const asked = await sink.request('roots/list')
    const answer = { jsonrpc: '2.0' as const, id: asked.id, result: { roots: [{ uri: 'file:///mine' }] } }
    session.forward([{ message: answer, text: undefined }])
    expect(JSON.parse(textOf(await sink.response(2)))).toEqual([{ uri: 'file:///mine' }])
  })

  it('forward: the child sees the client roots capability and asks the client', async () => {
    const { session } = openHostileSession()
    await initialize(session, { roots: { listChanged: true } })
    const whoami = JSON.parse(textOf(await callTool(session, 1, 'whoami'))) as { capabilities: Record<string, unknown> }
    expect(whoami.capabilities).toHaveProperty('roots')
  })

  it('deny: the child is told the client has no roots, and a roots/list it sends anyway is refused', async () => {
    const { session } = openHostileSession({ mode: 'deny' })
    await initialize(session, { roots: { listChanged: true }, sampling: {} })
    const whoami = JSON.parse(textOf(await callTool(session, 1, 'whoami'))) as { capabilities: Record<string, unknown> }
    expect(whoami.capabilities).toEqual({ sampling: {} })
    expect(textOf(await callTool(session, 2, 'roots'))).toContain('roots error')
  })

  it('fixed: the proxy declares roots and answers roots/list itself; the client never sees the request', async () => {
    const roots = [{ uri: 'file:///data', name: 'data' }]
    const { session } = openHostileSession({ mode: 'fixed', roots })
    await initialize(session, {})
    const sink = new FakeSink()
    session.serve([{ message: toolCall(2, 'roots'), text: undefined }], sink)
    expect(JSON.parse(textOf(await sink.response(2)))).toEqual(roots)
    expect(sink.messages.filter((m) => 'method' in m)).toEqual([])
  })
})

describe('late progress', () => {
  it('is dropped once its request is no longer active, never routed to another stream', () => {
    const unrouted = vi.fn()
    const upstream = new Upstream({ transport: { send: () => true }, shared: false, requestTimeoutMs: 10_000, maxRequestTimeoutMs: 10_000, onUnrouted: unrouted, logger: recordingLogger() })
    const caller = new RecordingCaller()
    upstream.request(caller, toolCall(1, 'slow', {}, { progressToken: 'p1' }))
    const progress = (n: number) => ({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'p1', progress: n } })
    upstream.receive(progress(1), JSON.stringify(progress(1)))
    upstream.receive({ jsonrpc: '2.0', id: 1, result: {} }, '{"jsonrpc":"2.0","id":1,"result":{}}')
    upstream.receive(progress(2), JSON.stringify(progress(2)))
    expect(caller.progress).toHaveLength(1)
    expect(unrouted).not.toHaveBeenCalled()
  })
})
