import type { EventStore } from '../events/event-store.js'
import type { JsonRpcId, JsonRpcMessage } from '../jsonrpc/schemas.js'
import type { TapScope } from '../tap/tap.js'
import type { UpstreamCaller } from '../upstream/upstream.js'
import type { EventKind, StreamSink } from './stream-sink.js'

/** Where a stream reports that it finished, and how much it may hold for a client that is not connected. */
export interface EventStreamOwner {
  readonly store: EventStore | undefined
  /** Bound of the events a standalone stream keeps for the next GET; the oldest go first. */
  readonly backlogLimit: BacklogLimit
  streamFinished(stream: EventStream): void
  /** Events dropped from a backlog (the client was away too long); they may still be in the store. */
  backlogDropped(events: number, bytes: number): void
  /** Whose messages these are, for the tap. */
  readonly scope?: TapScope | undefined
}

export interface BacklogLimit {
  maxEvents: number
  /** Characters of event data (a string's length, what the memory holds). */
  maxBytes: number
}

type BacklogEvent = [eventId: string | undefined, data: string, kind: EventKind]

/**
 * One logical SSE stream of a session: the stream of a POST that carried requests (finished once every
 * request on it is answered), or the session's standalone stream (GET, or a legacy /sse connection).
 * It outlives its HTTP connection: events go to the event store, and a client that reconnects with
 * Last-Event-ID picks the stream up again.
 */
export class EventStream implements UpstreamCaller {
  readonly id: string
  /** Requests on this stream that still wait for an answer. */
  readonly outstanding = new Set<JsonRpcId>()
  #owner: EventStreamOwner
  #sink: StreamSink | undefined
  #finishes: boolean
  #finished = false
  // Events written while no connection was attached, for the next plain GET (the store keeps them for
  // replay too), bounded in count and bytes: the oldest are dropped first.
  #backlog: BacklogEvent[] = []
  #backlogHead = 0
  #backlogBytes = 0
  /** Earlier connections still open (a standalone stream may have several): the newest takes over if the current one closes. */
  #earlier: StreamSink[] = []
  /** Sees every response on this stream before it is written (the session watches its initialize). */
  onResponse: ((message: JsonRpcMessage) => void) | undefined

  /** `finishes`: the stream ends once its requests are answered (a POST stream); else it lives with the session. */
  constructor(id: string, owner: EventStreamOwner, finishes: boolean) {
    this.id = id
    this.#owner = owner
    this.#finishes = finishes
  }

  get scope(): TapScope | undefined {
    return this.#owner.scope
  }

  /** A connection is attached and open. */
  get connected(): boolean {
    return this.#sink?.open === true
  }

  /** Can take server→client requests and notifications right now. */
  get streaming(): boolean {
    return this.#sink?.open === true && this.#sink.streaming
  }

  get finished(): boolean {
    return this.#finished
  }

  /** Open connections attached to this stream (the current one and earlier ones kept open). */
  get connections(): number {
    return (this.#sink?.open ? 1 : 0) + this.#earlier.filter((sink) => sink.open).length
  }

  /**
   * Attach a connection; events missed while detached are written first (unless a replay did that).
   * The previous connection is ended, or with `keepPrevious` kept open as a fallback: every event still
   * goes to exactly one connection, the newest open one.
   */
  attach(sink: StreamSink, flushBacklog = true, keepPrevious = false): void {
    if (this.#sink?.open) {
      if (keepPrevious) this.#earlier.push(this.#sink)
      else this.#sink.end()
    }
    this.#sink = sink
    const backlog = this.#backlog
    const head = this.#backlogHead
    this.#clearBacklog()
    if (flushBacklog) for (let i = head; i < backlog.length; i++) sink.send(...backlog[i]!, true)
    sink.onClose(() => {
      if (this.#sink === sink) this.#sink = this.#newestEarlier()
      else this.#forgetEarlier(sink)
    })
    if (this.#finished && this.outstanding.size === 0) sink.end()
  }

  /** Register a request whose answer belongs on this stream. */
  expect(id: JsonRpcId): void {
    this.outstanding.add(id)
  }

  /** Write one event: recorded for replay, and sent if a connection is attached. */
  emit(data: string, kind: EventKind = 'message'): void {
    const eventId = this.#owner.store?.append(this.id, data)
    const sink = this.#sink
    if (sink?.open) sink.send(eventId, data, kind)
    else if (!this.#finishes) this.#keep([eventId, data, kind])
  }

  #keep(event: BacklogEvent): void {
    this.#backlog.push(event)
    this.#backlogBytes += event[1].length
    const { maxEvents, maxBytes } = this.#owner.backlogLimit
    let dropped = 0
    let droppedBytes = 0
    // The newest event stays, even alone over the byte bound (one event is bounded by the line limit).
    while (this.#backlog.length - this.#backlogHead > 1 && (this.#backlog.length - this.#backlogHead > maxEvents || this.#backlogBytes > maxBytes)) {
      const oldest = this.#backlog[this.#backlogHead]!
      this.#backlog[this.#backlogHead++] = undefined as unknown as BacklogEvent
      this.#backlogBytes -= oldest[1].length
      dropped++
      droppedBytes += oldest[1].length
    }
    if (this.#backlogHead > 1024 && this.#backlogHead * 2 > this.#backlog.length) {
      this.#backlog = this.#backlog.slice(this.#backlogHead)
      this.#backlogHead = 0
    }
    if (dropped > 0) this.#owner.backlogDropped(dropped, droppedBytes)
  }

  #clearBacklog(): void {
    this.#backlog = []
    this.#backlogHead = 0
    this.#backlogBytes = 0
  }

  #forgetEarlier(sink: StreamSink): void {
    const index = this.#earlier.indexOf(sink)
    if (index !== -1) this.#earlier.splice(index, 1)
  }

  #newestEarlier(): StreamSink | undefined {
    let sink: StreamSink | undefined
    while ((sink = this.#earlier.pop()) !== undefined) if (sink.open) return sink
    return undefined
  }

  /** Write the priming event (an id and empty data) that lets a client resume before anything else was sent. */
  prime(): void {
    const eventId = this.#owner.store?.append(this.id, '')
    if (eventId !== undefined) this.#sink?.send(eventId, '', 'message')
  }

  deliver(message: JsonRpcMessage, text: string): void {
    const isResponse = !('method' in message)
    if (isResponse) this.onResponse?.(message)
    this.emit(text, isResponse ? 'response' : 'message')
    if (isResponse && 'id' in message && message.id !== null) this.#settle(message.id)
  }

  abandon(id: JsonRpcId): void {
    this.#settle(id)
  }

  /** End the stream and its connection (session closing). */
  close(): void {
    this.#finished = true
    this.outstanding.clear()
    this.#clearBacklog()
    if (this.#sink?.open) this.#sink.end()
    this.#sink = undefined
    for (const sink of this.#earlier.splice(0)) if (sink.open) sink.end()
  }

  #settle(id: JsonRpcId): void {
    if (!this.outstanding.delete(id) || this.outstanding.size > 0 || !this.#finishes) return
    this.#finished = true
    if (this.#sink?.open) this.#sink.end()
    this.#owner.streamFinished(this)
  }
}
