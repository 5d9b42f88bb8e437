import type { EventStore } from '../events/event-store.js'
import type { JsonRpcId, JsonRpcMessage } from '../jsonrpc/schemas.js'
import type { UpstreamCaller } from '../upstream/upstream.js'
import type { EventKind, StreamSink } from './stream-sink.js'

/** Where a stream reports that it finished. */
export interface EventStreamOwner {
  readonly store: EventStore | undefined
  streamFinished(stream: EventStream): void
}

const BACKLOG_LIMIT = 1000

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
  // Events written while no connection was attached, for the next plain GET (the store keeps them for replay too).
  #backlog: Array<[string | undefined, string, EventKind]> = []
  /** Sees every response on this stream before it is written (the session watches its initialize). */
  onResponse: ((message: JsonRpcMessage) => void) | undefined

  /** `finishes`: the stream ends once its requests are answered (a POST stream); else it lives with the session. */
  constructor(id: string, owner: EventStreamOwner, finishes: boolean) {
    this.id = id
    this.#owner = owner
    this.#finishes = finishes
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

  /** Attach a connection; events missed while detached are written first (unless a replay did that). */
  attach(sink: StreamSink, flushBacklog = true): void {
    if (this.#sink?.open) this.#sink.end()
    this.#sink = sink
    const backlog = this.#backlog
    this.#backlog = []
    if (flushBacklog) for (const [eventId, data, kind] of backlog) sink.send(eventId, data, kind)
    sink.onClose(() => {
      if (this.#sink === sink) this.#sink = undefined
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
    else if (!this.#finishes && this.#backlog.push([eventId, data, kind]) > BACKLOG_LIMIT) this.#backlog.shift()
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
    this.#backlog = []
    if (this.#sink?.open) this.#sink.end()
    this.#sink = undefined
  }

  #settle(id: JsonRpcId): void {
    if (!this.outstanding.delete(id) || this.outstanding.size > 0 || !this.#finishes) return
    this.#finished = true
    if (this.#sink?.open) this.#sink.end()
    this.#owner.streamFinished(this)
  }
}
