import { describe, it, expect } from 'vitest'
import { EVENT_OVERHEAD_BYTES, MemoryEventStore } from '../src/events/index.js'
import type { EventStore } from '../src/events/index.js'

type Sent = [eventId: string, data: string]

function replay(store: EventStore, lastEventId: string) {
  const sent: Sent[] = []
  const result = store.replayAfter(lastEventId, (id, data) => sent.push([id, data]))
  return { sent, result }
}

const roomy = { maxEvents: 1000, maxBytes: 1 << 20 }

describe('MemoryEventStore', () => {
  it('issues unique ids that contain the stream id', () => {
    const store = new MemoryEventStore(roomy)
    const ids = new Set<string>()
    for (let i = 0; i < 50; i++) {
      const stream = i % 2 === 0 ? 'a' : 'a.1'
      const id = store.append(stream, `m${String(i)}`)
      expect(id.startsWith(`${stream}.`)).toBe(true)
      ids.add(id)
    }
    expect(ids.size).toBe(50)
    expect(store.size).toBe(50)
  })

  it('replays only the events of the same stream, in order, with two streams interleaved', () => {
    const store = new MemoryEventStore(roomy)
    const a1 = store.append('a', 'a1')
    const b1 = store.append('b', 'b1')
    const a2 = store.append('a', 'a2')
    const b2 = store.append('b', 'b2')
    const a3 = store.append('a', 'a3')
    const b3 = store.append('b', 'b3')

    expect(replay(store, a1)).toEqual({ sent: [[a2, 'a2'], [a3, 'a3']], result: { streamId: 'a' } })
    expect(replay(store, b1)).toEqual({ sent: [[b2, 'b2'], [b3, 'b3']], result: { streamId: 'b' } })
    expect(replay(store, a2)).toEqual({ sent: [[a3, 'a3']], result: { streamId: 'a' } })
  })

  it('replays nothing after the last event of a stream but still names the stream', () => {
    const store = new MemoryEventStore(roomy)
    store.append('s', 'one')
    const last = store.append('s', 'two')
    store.append('other', 'three')
    expect(replay(store, last)).toEqual({ sent: [], result: { streamId: 's' } })
  })

  it('returns undefined for an unknown id', () => {
    const store = new MemoryEventStore(roomy)
    const id = store.append('s', 'x')
    expect(replay(store, 'nope').result).toBeUndefined()
    expect(replay(store, `${id}0`).result).toBeUndefined()
    expect(replay(store, 's').result).toBeUndefined()
    expect(replay(store, '').result).toBeUndefined()
  })

  it('evicts the oldest events by count', () => {
    const store = new MemoryEventStore({ maxEvents: 3, maxBytes: 1 << 20 })
    const ids = ['a', 'b', 'a', 'b', 'a'].map((s, i) => store.append(s, `d${String(i)}`))
    expect(store.size).toBe(3)
    expect(replay(store, ids[0] ?? '').result).toBeUndefined()
    expect(replay(store, ids[1] ?? '').result).toBeUndefined()
    expect(replay(store, ids[2] ?? '')).toEqual({ sent: [[ids[4], 'd4']], result: { streamId: 'a' } })
    expect(replay(store, ids[3] ?? '')).toEqual({ sent: [], result: { streamId: 'b' } })
  })

  it('evicts the oldest events by bytes', () => {
    const per = 10 + EVENT_OVERHEAD_BYTES
    const store = new MemoryEventStore({ maxEvents: 1000, maxBytes: per * 2 })
    const first = store.append('s', '0123456789')
    const second = store.append('s', 'abcdefghij')
    expect(store.bytes).toBe(per * 2)
    expect(store.size).toBe(2)
    const third = store.append('s', 'ABCDEFGHIJ')
    expect(store.size).toBe(2)
    expect(store.bytes).toBe(per * 2)
    expect(replay(store, first).result).toBeUndefined()
    expect(replay(store, second)).toEqual({ sent: [[third, 'ABCDEFGHIJ']], result: { streamId: 's' } })
  })

  it('keeps a single event larger than maxBytes and evicts everything older', () => {
    const store = new MemoryEventStore({ maxEvents: 100, maxBytes: 200 })
    const small = store.append('s', 'x')
    const big = store.append('s', 'y'.repeat(1000))
    expect(store.size).toBe(1)
    expect(store.bytes).toBe(1000 + EVENT_OVERHEAD_BYTES)
    expect(replay(store, small).result).toBeUndefined()
    expect(replay(store, big)).toEqual({ sent: [], result: { streamId: 's' } })
    const next = store.append('s', 'z')
    expect(store.size).toBe(1)
    expect(replay(store, big).result).toBeUndefined()
    expect(replay(store, next)).toEqual({ sent: [], result: { streamId: 's' } })
  })

  it('handles stream ids containing _ . and - without confusing streams', () => {
    const store = new MemoryEventStore(roomy)
    const streams = ['_GET_stream', 'a.b', 'a', 'a.b.1', 'x-y_z.0', '1', '']
    const first = streams.map((s) => store.append(s, `${s}#1`))
    const second = streams.map((s) => store.append(s, `${s}#2`))
    streams.forEach((s, i) => {
      expect(replay(store, first[i] ?? '')).toEqual({ sent: [[second[i], `${s}#2`]], result: { streamId: s } })
    })
  })

  it('clear() drops everything and never reissues old ids', () => {
    const store = new MemoryEventStore(roomy)
    const old = store.append('s', 'x')
    store.append('s', 'y')
    store.clear()
    expect(store.size).toBe(0)
    expect(store.bytes).toBe(0)
    expect(replay(store, old).result).toBeUndefined()
    const fresh = store.append('s', 'z')
    expect(fresh).not.toBe(old)
    expect(replay(store, old).result).toBeUndefined()
    expect(replay(store, fresh)).toEqual({ sent: [], result: { streamId: 's' } })
  })

  it('stays correct across many evictions and compactions', () => {
    const store = new MemoryEventStore({ maxEvents: 100, maxBytes: 1 << 20 })
    const ids: string[] = []
    for (let i = 0; i < 10_000; i++) ids.push(store.append(i % 3 === 0 ? 'p' : 'q', String(i)))
    expect(store.size).toBe(100)
    expect(replay(store, ids[9_899] ?? '').result).toBeUndefined()
    const from = 9_900 // i % 3 === 0 → stream p
    const { sent, result } = replay(store, ids[from] ?? '')
    expect(result).toEqual({ streamId: 'p' })
    const expected: Sent[] = []
    for (let i = from + 1; i < 10_000; i++) if (i % 3 === 0) expected.push([ids[i] ?? '', String(i)])
    expect(sent).toEqual(expected)
  })

  it('is safe when send appends during replay', () => {
    const store = new MemoryEventStore({ maxEvents: 5, maxBytes: 1 << 20 })
    const first = store.append('s', '0')
    store.append('s', '1')
    store.append('s', '2')
    const sent: string[] = []
    const result = store.replayAfter(first, (_id, data) => {
      sent.push(data)
      store.append('s', `late-${data}`)
    })
    expect(result).toEqual({ streamId: 's' })
    expect(sent).toEqual(['1', '2'])
  })

  it('rejects invalid limits with a code', () => {
    expect(() => new MemoryEventStore({ maxEvents: 0, maxBytes: 10 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTION' }),
    )
    expect(() => new MemoryEventStore({ maxEvents: 1, maxBytes: Number.NaN })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTION' }),
    )
  })
})
