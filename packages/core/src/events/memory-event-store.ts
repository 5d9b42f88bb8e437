import type { EventStore, ReplayResult } from './event-store.js'

export interface MemoryEventStoreOptions {
  /** Most events kept (across all streams of the session); at least 1. */
  maxEvents: number
  /** Most bytes kept: sum of `data.length` plus {@link EVENT_OVERHEAD_BYTES} per event. */
  maxBytes: number
  /**
   * Told after an append evicted events to stay within the bounds: how many, and their accounted bytes
   * (metrics). Not called by `clear()`.
   */
  onEvict?: (events: number, bytes: number) => void
}

/** Fixed accounting cost of one stored event on top of its data (id, record, map entry). */
export const EVENT_OVERHEAD_BYTES = 64

interface StoredEvent {
  readonly id: string
  readonly streamId: string
  readonly data: string
  /** Position in the store's append order, never reused. */
  readonly seq: number
}

/** Compact the event array once this many evicted slots have accumulated at its head (and they are half of it). */
const COMPACT_AFTER = 1024

function invalidOption(message: string): RangeError {
  return Object.assign(new RangeError(message), { code: 'ERR_INVALID_OPTION' })
}

// Bounded in-memory event store for one session: O(1) append and eviction of the oldest events, replay
// by scanning forward from the last seen event.
export class MemoryEventStore implements EventStore {
  readonly #maxEvents: number
  readonly #maxBytes: number
  readonly #onEvict: ((events: number, bytes: number) => void) | undefined
  /** Events in append order; slots before #head are evicted (undefined) until compaction. */
  #events: (StoredEvent | undefined)[] = []
  #head = 0
  /** seq of #events[0]. */
  #offset = 0
  #nextSeq = 0
  #bytes = 0
  readonly #byId = new Map<string, StoredEvent>()

  constructor(options: MemoryEventStoreOptions) {
    const { maxEvents, maxBytes } = options
    if (!Number.isSafeInteger(maxEvents) || maxEvents < 1) {
      throw invalidOption(`maxEvents must be a positive integer, got ${String(maxEvents)}`)
    }
    if (!(maxBytes >= 0)) throw invalidOption(`maxBytes must be a non-negative number, got ${String(maxBytes)}`)
    this.#maxEvents = maxEvents
    this.#maxBytes = maxBytes
    this.#onEvict = options.onEvict
  }

  /** Number of events kept. */
  get size(): number {
    return this.#events.length - this.#head
  }

  /** Accounted bytes of the events kept. */
  get bytes(): number {
    return this.#bytes
  }

  // Records an event and evicts the oldest ones beyond the limits; the newest event is always kept.
  append(streamId: string, data: string): string {
    const seq = this.#nextSeq++
    const event: StoredEvent = { id: `${streamId}.${String(seq)}`, streamId, data, seq }
    this.#events.push(event)
    this.#byId.set(event.id, event)
    this.#bytes += data.length + EVENT_OVERHEAD_BYTES
    if (this.size > 1 && (this.size > this.#maxEvents || this.#bytes > this.#maxBytes)) this.#evict()
    return event.id
  }

  // Sends the events of lastEventId's stream recorded after it, in order; undefined if the id is unknown.
  replayAfter(lastEventId: string, send: (eventId: string, data: string) => void): ReplayResult | undefined {
    const from = this.#byId.get(lastEventId)
    if (from === undefined) return undefined
    const { streamId } = from
    // Positions are tracked by seq so that appends, evictions or compaction done by `send` are harmless.
    const end = this.#nextSeq
    for (let seq = from.seq + 1; seq < end; seq++) {
      const event = this.#events[seq - this.#offset]
      if (event !== undefined && event.streamId === streamId) send(event.id, event.data)
    }
    return { streamId }
  }

  // Drops every event; ids already issued stay unknown (the counter is not reset).
  clear(): void {
    this.#events = []
    this.#head = 0
    this.#offset = this.#nextSeq
    this.#bytes = 0
    this.#byId.clear()
  }

  // Evicts the oldest events until the store is within its bounds again (the newest one always stays).
  #evict(): void {
    const size = this.size
    const bytes = this.#bytes
    while (this.size > 1 && (this.size > this.#maxEvents || this.#bytes > this.#maxBytes)) this.#evictOldest()
    this.#onEvict?.(size - this.size, bytes - this.#bytes)
  }

  #evictOldest(): void {
    const event = this.#events[this.#head]
    if (event === undefined) return
    this.#events[this.#head] = undefined
    this.#head++
    this.#byId.delete(event.id)
    this.#bytes -= event.data.length + EVENT_OVERHEAD_BYTES
    if (this.#head >= COMPACT_AFTER && this.#head * 2 >= this.#events.length) {
      this.#events = this.#events.slice(this.#head)
      this.#offset += this.#head
      this.#head = 0
    }
  }
}
