import { afterEach, describe, expect, it } from 'vitest'
import type { JsonRpcId } from '../src/index.js'
import { RecordingCaller, cleanup, fixtureCommand, recordStdin, startUpstream, textOf, toolCall } from './helpers.js'

afterEach(cleanup)

/** Ids that many callers pick at once: mostly 1, some the same string, some 0 (falsy). */
function collidingId(index: number): JsonRpcId {
  if (index % 10 === 0) return 'same'
  if (index % 10 === 5) return 0
  return 1
}

describe('Upstream id mapping, shared by many callers', () => {
  it('gives each of 100 concurrent callers with colliding ids exactly its own answer, under its own id', async () => {
    const backend = startUpstream(fixtureCommand('echo-server'), { shared: true })
    const stdin = recordStdin(backend)
    const callers = Array.from({ length: 100 }, () => new RecordingCaller())
    callers.forEach((caller, index) => backend.upstream.request(caller, toolCall(collidingId(index), 'echo', { text: `caller ${index}` })))
    expect(backend.upstream.pendingCount).toBe(100)

    const sentIds = stdin.messages().map((message) => (message as { id: JsonRpcId }).id)
    expect(new Set(sentIds).size).toBe(100)

    await Promise.all(callers.map((caller) => caller.response()))
    callers.forEach((caller, index) => {
      expect(caller.delivered).toHaveLength(1)
      const [response] = caller.responses
      expect(response!.id).toBe(collidingId(index))
      expect(textOf(response)).toBe(`caller ${index}`)
      // The text delivered is the restored message, not the child's line with the upstream id.
      expect(JSON.parse(caller.texts[0]!)).toEqual(response)
    })
    expect(backend.upstream.pendingCount).toBe(0)
  })

  it('gives two callers that both use progress token "p" only their own progress, under "p"', async () => {
    const backend = startUpstream(fixtureCommand('echo-server'), { shared: true })
    const three = new RecordingCaller()
    const five = new RecordingCaller()
    backend.upstream.request(three, toolCall(1, 'progress', { steps: 3, ms: 20 }, { progressToken: 'p' }))
    backend.upstream.request(five, toolCall(1, 'progress', { steps: 5, ms: 12 }, { progressToken: 'p' }))
    await Promise.all([three.response(), five.response()])

    for (const [caller, steps] of [[three, 3], [five, 5]] as const) {
      expect(caller.progress.map((message) => message.params)).toEqual(
        Array.from({ length: steps }, (_, step) => expect.objectContaining({ progressToken: 'p', progress: step + 1, total: steps })),
      )
      expect(caller.responses.map((response) => response.id)).toEqual([1])
    }
  })
})

describe('Upstream id mapping, one client (exclusive)', () => {
  it('forwards requests unchanged, as the exact text received, while ids do not collide', async () => {
    const backend = startUpstream(fixtureCommand('echo-server'), { shared: false })
    const stdin = recordStdin(backend)
    const caller = new RecordingCaller()
    const text = '{"jsonrpc":"2.0","id":42,  "method":"tools/call","params":{"name":"echo","arguments":{"text":"as is"}}}'
    backend.upstream.request(caller, JSON.parse(text) as never, text)
    expect(stdin.lines).toEqual([text])
    expect(textOf(await caller.response())).toBe('as is')
    expect(caller.responses[0]!.id).toBe(42)
  })

  it('answers two requests in flight with the same id correctly', async () => {
    const backend = startUpstream(fixtureCommand('echo-server'), { shared: false })
    const stdin = recordStdin(backend)
    const slower = new RecordingCaller()
    const faster = new RecordingCaller()
    backend.upstream.request(slower, toolCall(1, 'slow', { ms: 150 }))
    backend.upstream.request(faster, toolCall(1, 'slow', { ms: 20 }))
    const [first, second] = stdin.messages() as Array<{ id: JsonRpcId }>
    expect(first!.id).toBe(1)
    expect(second!.id).not.toBe(1)

    expect(textOf(await faster.response())).toBe('done after 20ms')
    expect(textOf(await slower.response())).toBe('done after 150ms')
    expect(faster.responses[0]!.id).toBe(1)
    expect(slower.responses[0]!.id).toBe(1)
    expect([faster.delivered.length, slower.delivered.length]).toEqual([1, 1])
  })

  it('rewrites a second progress token "p" in flight, and maps each progress back to its caller', async () => {
    const backend = startUpstream(fixtureCommand('echo-server'), { shared: false })
    const two = new RecordingCaller()
    const four = new RecordingCaller()
    backend.upstream.request(two, toolCall('a', 'progress', { steps: 2, ms: 20 }, { progressToken: 'p' }))
    backend.upstream.request(four, toolCall('b', 'progress', { steps: 4, ms: 10 }, { progressToken: 'p' }))
    await Promise.all([two.response(), four.response()])
    expect(two.progress.map((message) => message.params)).toEqual([1, 2].map((progress) => expect.objectContaining({ progressToken: 'p', progress, total: 2 })))
    expect(four.progress.map((message) => message.params)).toEqual([1, 2, 3, 4].map((progress) => expect.objectContaining({ progressToken: 'p', progress, total: 4 })))
  })

  it('never gives a rewritten request an id that a client request in flight already uses', async () => {
    // A client id that looks like a generated one ("mcp-proxy:1") passes through unchanged; the id the
    // Upstream then generates for a colliding request must not be that same id.
    const backend = startUpstream(fixtureCommand('echo-server'), { shared: false, requestTimeoutMs: 2000 })
    const stdin = recordStdin(backend)
    const lookalike = new RecordingCaller()
    const first = new RecordingCaller()
    const second = new RecordingCaller()
    backend.upstream.request(lookalike, toolCall('mcp-proxy:1', 'slow', { ms: 100 }))
    backend.upstream.request(first, toolCall(1, 'slow', { ms: 50 }))
    backend.upstream.request(second, toolCall(1, 'slow', { ms: 20 }))
    const sentIds = stdin.messages().map((message) => (message as { id: JsonRpcId }).id)
    expect(new Set(sentIds).size).toBe(3)

    expect(textOf(await second.response())).toBe('done after 20ms')
    expect(textOf(await first.response())).toBe('done after 50ms')
    expect(textOf(await lookalike.response())).toBe('done after 100ms')
  })
})
