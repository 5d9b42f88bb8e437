// `subscriptions/listen`, served by the proxy itself: a 2025 child has no such method, only change
// notifications and `resources/subscribe`. The hub keeps one SSE stream per listen request, fans the
// child's change notifications out to the streams whose filter asks for them, and turns the streams'
// resource URIs into ref-counted `resources/subscribe` calls on the child.
import { ErrorCode, errorResponse } from '../jsonrpc/errors.js'
import type { JsonRpcId, JsonRpcNotification } from '../jsonrpc/schemas.js'
import { trySerialize } from '../jsonrpc/serialize.js'
import type { Logger } from '../logger.js'
import type { StreamSink } from '../session/stream-sink.js'
import { SERVER_INFO_META_KEY, SUBSCRIPTION_ID_META_KEY } from './meta-keys.js'
import { isPlainObject, type ServerInfo } from './translate.js'

/** The notification types a listen request opts in to (the 2026 `SubscriptionFilter`). */
export interface SubscriptionFilter {
  toolsListChanged?: boolean
  promptsListChanged?: boolean
  resourcesListChanged?: boolean
  resourceSubscriptions?: string[]
}

/** `resources/subscribe` / `resources/unsubscribe` on the child. `false`: the child refused the subscribe. */
export interface UpstreamSubscriptions {
  subscribe(uri: string): Promise<boolean>
  unsubscribe(uri: string): Promise<void>
}

export interface ListenHubOptions {
  /** Open streams (acknowledged or waiting for their subscribes) past which a listen is refused with -32603. @default 1024 */
  maxStreams: number
  /** How long the acknowledgement waits for the child's subscribes; a URI not confirmed by then is left out. */
  ackTimeoutMs: number
  subscriptions: UpstreamSubscriptions
  logger: Logger
}

/** What the hub needs from the child's InitializeResult. */
export interface ListenChild {
  capabilities: Record<string, unknown>
  serverInfo: ServerInfo
}

/** The SDK's limit on concurrent listen streams. */
export const DEFAULT_MAX_LISTEN_STREAMS = 1024
/** Resource URIs one listen may subscribe to (each is a `resources/subscribe` on the child, in one queue). */
export const MAX_URIS_PER_LISTEN = 256
/** Longest resource URI a listen may name. */
const MAX_URI_LENGTH = 8192

type ListChangedBit = 'toolsListChanged' | 'promptsListChanged' | 'resourcesListChanged'

/**
 * Each list_changed notification, the filter bit that asks for it, and the capability that advertises it.
 * A Map, not an object literal: a method name from the child must never find `constructor` and the like.
 */
const LIST_CHANGED: ReadonlyMap<string, { bit: ListChangedBit; capability: string }> = new Map([
  ['notifications/tools/list_changed', { bit: 'toolsListChanged', capability: 'tools' }],
  ['notifications/prompts/list_changed', { bit: 'promptsListChanged', capability: 'prompts' }],
  ['notifications/resources/list_changed', { bit: 'resourcesListChanged', capability: 'resources' }],
])

const RESOURCE_UPDATED = 'notifications/resources/updated'

/** One listen stream, from `open` until the client leaves or the hub ends it. */
class ListenStream {
  readonly id: JsonRpcId
  readonly sink: StreamSink
  readonly serverInfo: ServerInfo
  /** URIs this stream holds a reference to (requested ones while the subscribes run, then the honored ones). */
  readonly held = new Set<string>()
  /** Set once the acknowledgement is written: from then on notifications flow. */
  honored: SubscriptionFilter | undefined
  honoredUris: ReadonlySet<string> = new Set()
  closed = false

  constructor(id: JsonRpcId, sink: StreamSink, serverInfo: ServerInfo) {
    this.id = id
    this.sink = sink
    this.serverInfo = serverInfo
  }

  /** Write a notification tagged with this stream's subscription id; false when it cannot be serialized. */
  notify(method: string, params: unknown): boolean {
    const base = isPlainObject(params) ? params : {}
    const meta = isPlainObject(base._meta) ? base._meta : {}
    const data = trySerialize({ jsonrpc: '2.0', method, params: { ...base, _meta: { ...meta, [SUBSCRIPTION_ID_META_KEY]: this.id } } })
    if (data === undefined) return false
    this.sink.send(undefined, data, 'message')
    return true
  }

  /** The graceful end: the listen request's (empty) result, then the end of the response. */
  finish(): void {
    const meta = { [SUBSCRIPTION_ID_META_KEY]: this.id, [SERVER_INFO_META_KEY]: this.serverInfo }
    this.sink.send(undefined, JSON.stringify({ jsonrpc: '2.0', id: this.id, result: { resultType: 'complete', _meta: meta } }), 'response')
    this.sink.end()
  }
}

/**
 * Upstream `resources/subscribe` per URI, ref-counted across streams: subscribe on the first reference,
 * unsubscribe on the last. Every call goes through one FIFO queue, so an unsubscribe that is still
 * pending always runs before a later re-subscribe and cannot cancel it.
 */
class UriReferences {
  #upstream: UpstreamSubscriptions
  #logger: Logger
  #entries = new Map<string, { count: number; accepted: Promise<boolean> }>()
  #queue: Promise<unknown> = Promise.resolve()
  /** Bumped when the child goes away: calls queued for the old child are skipped. */
  #generation = 0

  constructor(upstream: UpstreamSubscriptions, logger: Logger) {
    this.#upstream = upstream
    this.#logger = logger
  }

  /** Take a reference to `uri`; resolves to whether the child accepted the subscribe. */
  acquire(uri: string): Promise<boolean> {
    let entry = this.#entries.get(uri)
    if (entry === undefined) {
      entry = { count: 0, accepted: this.#enqueue('subscribe', uri, () => this.#upstream.subscribe(uri), false) }
      this.#entries.set(uri, entry)
    }
    entry.count++
    return entry.accepted
  }

  /** Drop a reference; the last one unsubscribes, but only a subscribe the child accepted. */
  release(uri: string): void {
    const entry = this.#entries.get(uri)
    if (entry === undefined) return
    if (--entry.count > 0) return
    this.#entries.delete(uri)
    const accepted = entry.accepted
    void this.#enqueue('unsubscribe', uri, async () => {
      if (await accepted) await this.#upstream.unsubscribe(uri)
    }, undefined)
  }

  /** The child is gone (restart or stop): its subscriptions went with it, so nothing is unsubscribed. */
  dropAll(): void {
    this.#entries.clear()
    this.#generation++
  }

  // A failed call is logged and settles as `fallback`: the queue itself never rejects, so one error
  // cannot stall the calls behind it.
  #enqueue<T>(action: string, uri: string, call: () => Promise<T>, fallback: T): Promise<T> {
    const generation = this.#generation
    const run = this.#queue.then(() => (generation === this.#generation ? call() : fallback))
    const settled = run.catch((error: unknown) => {
      this.#logger.warn({ err: error, uri }, `resources/${action} on the child failed`)
      return fallback
    })
    this.#queue = settled
    return settled
  }
}

/**
 * The fan-out hub of `subscriptions/listen`. The acknowledgement is the first frame of every stream and
 * carries the honored subset of the filter; every frame carries the listen id under the subscription-id
 * key, verbatim. Listen ids are not unique across clients (modern requests have no session), so streams
 * are kept as objects, never keyed by id.
 */
export class ListenHub {
  #options: ListenHubOptions
  #streams = new Set<ListenStream>()
  #refs: UriReferences

  constructor(options: ListenHubOptions) {
    this.#options = options
    this.#refs = new UriReferences(options.subscriptions, options.logger)
  }

  /** Open streams, including those still waiting for their subscribes. */
  get size(): number {
    return this.#streams.size
  }

  /**
   * Open a listen stream for request `id` with the client's params: writes
   * `notifications/subscriptions/acknowledged` first with the honored subset (list_changed bits the
   * child's `capabilities` advertise; resource URIs only if it has resources.subscribe and the child
   * accepted the subscribe), every frame tagged with the subscription id. Past maxStreams: an in-band
   * -32603 error on the sink, then end; params without a valid filter: -32602, then end. A client close
   * releases its URI references. When nothing can be honored, the ack is followed by the graceful end at
   * once, as the SDK does: such a stream would never carry anything.
   */
  async open(id: JsonRpcId, params: unknown, sink: StreamSink, child: ListenChild): Promise<void> {
    if (!sink.open) return
    if (this.#streams.size >= this.#options.maxStreams) {
      this.#options.logger.warn({ maxStreams: this.#options.maxStreams }, 'subscriptions/listen refused: stream limit reached')
      return refuse(sink, id, ErrorCode.InternalError, 'Subscription limit reached')
    }
    const filter = filterOf(params)
    if (filter === undefined) {
      return refuse(sink, id, ErrorCode.InvalidParams, `Invalid params: 'notifications' is required and must be a valid SubscriptionFilter (at most ${MAX_URIS_PER_LISTEN} resource URIs)`)
    }

    const stream = new ListenStream(id, sink, child.serverInfo)
    this.#streams.add(stream)
    sink.onClose(() => this.#close(stream))
    if (stream.closed) return

    const honored = honoredListBits(filter, child.capabilities)
    const uris = canSubscribe(child.capabilities) ? (filter.resourceSubscriptions ?? []) : []
    const accepted = uris.length === 0 ? [] : await this.#subscribe(stream, [...new Set(uris)])
    if (stream.closed) return
    if (accepted.length > 0) honored.resourceSubscriptions = accepted
    this.#acknowledge(stream, honored)
  }

  /**
   * A notification from the child: notifications/{tools,prompts,resources}/list_changed → every stream
   * whose honored filter has that bit; notifications/resources/updated {uri} → only streams whose honored
   * URIs include it exactly. Returns true if it was one of these kinds (delivered or not).
   */
  publish(message: JsonRpcNotification): boolean {
    const wants = audienceOf(message)
    if (wants === undefined) return false
    for (const stream of this.#streams) {
      if (stream.honored === undefined || !wants(stream)) continue
      if (!stream.notify(message.method, message.params)) {
        this.#options.logger.warn({ method: message.method }, 'a notification from the child cannot be serialized; dropped')
        break
      }
    }
    return true
  }

  /**
   * The child restarted or the proxy stops: each acknowledged stream gets its graceful end (the listen
   * result with subscriptionId and serverInfo) and is ended; URI references are dropped without
   * unsubscribing (the child that held them is gone). A stream still waiting for its subscribes is ended
   * without a frame: the ack must come first, and an abrupt end tells the client to listen again.
   */
  endAll(): void {
    const streams = [...this.#streams]
    this.#streams.clear()
    this.#refs.dropAll()
    for (const stream of streams) {
      stream.closed = true
      stream.held.clear()
      if (stream.honored !== undefined) stream.finish()
      else stream.sink.end()
    }
  }

  // Subscribe every URI (one reference each), waiting at most ackTimeoutMs. Refused and unconfirmed URIs
  // are released at once: a subscribe that succeeds later is then undone by the queued unsubscribe.
  async #subscribe(stream: ListenStream, uris: string[]): Promise<string[]> {
    for (const uri of uris) stream.held.add(uri)
    const outcomes = await settleWithin(
      uris.map((uri) => this.#refs.acquire(uri)),
      this.#options.ackTimeoutMs,
    )
    if (stream.closed) return []
    const accepted = uris.filter((_, index) => outcomes[index] === true)
    for (const [index, uri] of uris.entries()) {
      if (outcomes[index] === true) continue
      this.#options.logger.debug({ uri, outcome: outcomes[index] === false ? 'refused' : 'timeout' }, 'resource subscription left out of the listen ack')
      stream.held.delete(uri)
      this.#refs.release(uri)
    }
    return accepted
  }

  #acknowledge(stream: ListenStream, honored: SubscriptionFilter): void {
    stream.honored = honored
    stream.honoredUris = new Set(honored.resourceSubscriptions)
    stream.notify('notifications/subscriptions/acknowledged', { notifications: honored })
    if (Object.keys(honored).length > 0) return
    this.#streams.delete(stream)
    stream.closed = true
    stream.finish()
  }

  // The client left (or the sink was ended): forget the stream and give back its references.
  #close(stream: ListenStream): void {
    if (stream.closed) return
    stream.closed = true
    this.#streams.delete(stream)
    for (const uri of stream.held) this.#refs.release(uri)
    stream.held.clear()
  }
}

/** An in-band error answer to the listen request, then the end of the response. */
function refuse(sink: StreamSink, id: JsonRpcId, code: number, message: string): void {
  sink.send(undefined, JSON.stringify(errorResponse(id, code, message)), 'response')
  sink.end()
}

/** The filter of a listen request's params, or undefined when it is missing or not a SubscriptionFilter. */
export function filterOf(params: unknown): SubscriptionFilter | undefined {
  const filter = isPlainObject(params) ? params.notifications : undefined
  if (!isPlainObject(filter)) return undefined
  for (const bit of ['toolsListChanged', 'promptsListChanged', 'resourcesListChanged'] as const) {
    if (filter[bit] !== undefined && typeof filter[bit] !== 'boolean') return undefined
  }
  const uris = filter.resourceSubscriptions
  if (uris !== undefined && !(Array.isArray(uris) && uris.length <= MAX_URIS_PER_LISTEN && uris.every((uri) => typeof uri === 'string' && uri.length <= MAX_URI_LENGTH))) {
    return undefined
  }
  return filter as SubscriptionFilter
}

/** The list_changed bits the client asked for (true, not just present) that the child's capabilities advertise. */
function honoredListBits(filter: SubscriptionFilter, capabilities: Record<string, unknown>): SubscriptionFilter {
  const honored: SubscriptionFilter = {}
  for (const { bit, capability } of LIST_CHANGED.values()) {
    const advertised = capabilities[capability]
    if (filter[bit] === true && isPlainObject(advertised) && advertised.listChanged === true) honored[bit] = true
  }
  return honored
}

function canSubscribe(capabilities: Record<string, unknown>): boolean {
  const resources = capabilities.resources
  return isPlainObject(resources) && resources.subscribe === true
}

/** Which streams a child notification is for, or undefined when it is not a listen notification. */
function audienceOf(message: JsonRpcNotification): ((stream: ListenStream) => boolean) | undefined {
  const listChanged = LIST_CHANGED.get(message.method)
  if (listChanged !== undefined) return (stream) => stream.honored?.[listChanged.bit] === true
  if (message.method !== RESOURCE_UPDATED) return undefined
  const uri = isPlainObject(message.params) ? message.params.uri : undefined
  return (stream) => typeof uri === 'string' && stream.honoredUris.has(uri)
}

/**
 * Each promise's value, or undefined for those still pending after `ms`. The timer is unref'd (it never
 * holds the process) and cleared as soon as everything settled.
 */
async function settleWithin<T>(promises: Array<Promise<T>>, ms: number): Promise<Array<T | undefined>> {
  const outcomes: Array<T | undefined> = promises.map(() => undefined)
  const all = Promise.all(promises.map((promise, index) => promise.then((value) => (outcomes[index] = value))))
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms)
    timer.unref()
  })
  await Promise.race([all, deadline])
  clearTimeout(timer)
  return outcomes
}
