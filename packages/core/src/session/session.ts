import type { Backend, InboundMessage } from '../backend/backend.js'
import type { EventStore } from '../events/event-store.js'
import type { TapScope } from '../tap/tap.js'
import type { JsonRpcNotification, JsonRpcRequest, JsonRpcResponse } from '../jsonrpc/schemas.js'
import type { Logger } from '../logger.js'
import type { UpstreamCaller } from '../upstream/upstream.js'
import { EventStream, type BacklogLimit, type EventStreamOwner } from './event-stream.js'
import { RelayedRequests } from './relayed-requests.js'
import { answerRootsList, dropsClientNotification, FORWARD_ROOTS, initializeForChild, type RootsPolicy } from './roots-policy.js'
import type { SessionBackend } from './session-backend.js'
import type { StreamSink } from './stream-sink.js'

/** Protocol revisions a session can negotiate, oldest first. */
export const SUPPORTED_PROTOCOL_VERSIONS = ['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25'] as const

/** Streamable HTTP (one endpoint, many streams) or the legacy HTTP+SSE transport (one stream). */
export type SessionTransport = 'streamable' | 'legacy-sse'

export interface SessionOptions {
  id: string
  transport: SessionTransport
  /** Who opened the session (a principal id): only the same principal reaches it again. @default 'anonymous' */
  owner?: string
  backend: SessionBackend
  store: EventStore | undefined
  /** How long the child may take to answer `initialize`. */
  initializeTimeoutMs: number
  /** Bound of the server messages kept for a GET stream that is not connected. @default 1000 events, 8 MiB */
  backlogLimit?: BacklogLimit
  /** What the child learns about the client's roots. @default forward */
  roots?: RootsPolicy
  /**
   * Send the 2025-11-25 priming event (an id, empty data) first on each POST stream. Off for clients
   * that break on an event with empty data. @default true
   */
  priming?: boolean
  logger: Logger
  onClosed: (session: Session) => void
  /** Server messages dropped for a client that stayed away (counted by the registry). */
  onBacklogDropped?: (events: number, bytes: number) => void
}

/** Default bound of a session's backlog for its next GET. */
export const DEFAULT_BACKLOG_LIMIT: BacklogLimit = { maxEvents: 1000, maxBytes: 8 * 1024 * 1024 }

/**
 * One MCP client conversation: its backend (its own child, or its share of the shared children), its
 * streams and its event store.
 * Messages from the child are routed to exactly one stream: an answer and its progress to the stream of
 * the request; anything else to the stream that can carry it (see `#routeUnrelated`).
 */
export class Session implements Backend, EventStreamOwner {
  readonly id: string
  readonly transport: SessionTransport
  /** The principal the session is bound to. */
  readonly owner: string
  readonly store: EventStore | undefined
  readonly backlogLimit: BacklogLimit
  readonly backend: SessionBackend
  readonly createdAt = Date.now()
  /** The revision the child agreed to in its InitializeResult (until then, the one the client asked for). */
  protocolVersion: string | undefined
  lastActivity = Date.now()
  #standalone: EventStream
  #requestStreams = new Map<string, EventStream>()
  #streamSeq = 0
  #closed = false
  #options: SessionOptions
  #logger: Logger
  #roots: RootsPolicy
  #relayed = new RelayedRequests()
  #fresh = true
  #backlogWarned = false

  constructor(options: SessionOptions) {
    this.id = options.id
    this.owner = options.owner ?? 'anonymous'
    this.transport = options.transport
    this.store = options.store
    this.backlogLimit = options.backlogLimit ?? DEFAULT_BACKLOG_LIMIT
    this.#roots = options.roots ?? FORWARD_ROOTS
    this.backend = options.backend
    this.#options = options
    this.#logger = options.logger
    setImmediate(() => (this.#fresh = false)).unref()
    this.#standalone = new EventStream(options.transport === 'legacy-sse' ? 'sse' : 'standalone', this, false)
    options.backend.setUnroutedHandler((message, text, about) => this.#routeUnrelated(message, text, about), options.logger)
    options.backend.onClosed(() => {
      if (this.#closed) return
      this.#logger.info({}, 'the MCP server of this session ended; session ends')
      void this.close()
    })
  }

  get closed(): boolean {
    return this.#closed
  }

  /** Some connection to the client is open (such a session is never reaped as idle). */
  get connected(): boolean {
    if (this.#standalone.connected) return true
    for (const stream of this.#requestStreams.values()) if (stream.connected) return true
    return false
  }

  /** Requests of this session wait for the child's answer. */
  get busy(): boolean {
    return this.backend.busy
  }

  /**
   * Opened in this turn of the event loop and not used yet: its first message (initialize, or the
   * legacy stream) is on its way to it. Such a session never gives way to another one.
   */
  get justOpened(): boolean {
    return this.#fresh
  }

  /** Open connections of the standalone stream (a client may hold several GET streams; the newest gets the events). */
  get standaloneConnections(): number {
    return this.#standalone.connections
  }

  /** Whose messages these are, for the tap. */
  get scope(): TapScope {
    return { era: 'legacy', session: this.id, principal: this.owner, ...(this.protocolVersion ? { protocolVersion: this.protocolVersion } : {}) }
  }

  /** The revision is at least `version` (revisions are dates, so they compare as strings). */
  supports(version: string): boolean {
    return this.protocolVersion !== undefined && this.protocolVersion >= version
  }

  /**
   * Send requests that arrived in one POST; their answers (and related messages) go to `sink`. On the
   * legacy transport every answer goes to the one SSE stream, and `sink` is not used.
   */
  serve(requests: InboundMessage<JsonRpcRequest>[], sink?: StreamSink): void {
    this.lastActivity = Date.now()
    this.#fresh = false
    const stream = this.transport === 'legacy-sse' || !sink ? this.#standalone : this.#openRequestStream(sink)
    for (const { message, text } of requests) {
      stream.expect(message.id)
      if (message.method === 'initialize') {
        this.#watchInitialize(stream, message)
        const forChild = initializeForChild(this.#roots, message)
        this.backend.request(stream, forChild, forChild === message ? text : undefined, this.#options.initializeTimeoutMs)
      } else {
        this.backend.request(stream, message, text)
      }
    }
  }

  /** Forward notifications and responses (to the child's own requests); they need no stream. */
  forward(messages: InboundMessage<JsonRpcNotification | JsonRpcResponse>[]): void {
    this.lastActivity = Date.now()
    this.#fresh = false
    for (const { message, text } of messages) {
      if (!('method' in message)) {
        if (this.#relayed.take(message.id)) this.backend.respond(message, text)
        else this.#logger.debug({ id: message.id }, 'client answered a request it was not sent; dropped')
      } else if (!dropsClientNotification(this.#roots, message.method)) this.backend.notify(message, text)
    }
  }

  /**
   * Attach a connection to the standalone stream (GET, or the legacy /sse connection). A second GET
   * does not end the first (the spec lets a client hold several streams): the newest open one gets
   * each message, and an earlier one takes over if it closes.
   */
  attachStandalone(sink: StreamSink): void {
    this.lastActivity = Date.now()
    this.#fresh = false
    if (this.transport === 'legacy-sse') sink.onClose(() => this.close())
    this.#touchOnClose(sink)
    this.#standalone.attach(sink, true, this.transport === 'streamable')
  }

  /**
   * Resume a stream after `lastEventId`: replay what followed on that stream, then keep delivering it if
   * it is still open. Returns false when the id is unknown (never issued, evicted, or of another session).
   */
  async resume(lastEventId: string, sink: StreamSink): Promise<boolean> {
    this.lastActivity = Date.now()
    if (!this.store) return false
    const replayed = await this.store.replayAfter(lastEventId, (eventId, data) => {
      if (data !== '') sink.send(eventId, data, 'message', true)
    })
    if (!replayed) return false
    const live =
      replayed.streamId === this.#standalone.id ? this.#standalone : this.#requestStreams.get(replayed.streamId)
    this.#touchOnClose(sink)
    if (live) live.attach(sink, false)
    else sink.end()
    return true
  }

  streamFinished(stream: EventStream): void {
    this.#requestStreams.delete(stream.id)
  }

  backlogDropped(events: number, bytes: number): void {
    this.#options.onBacklogDropped?.(events, bytes)
    if (this.#backlogWarned) return
    // Once per session: a flood would otherwise log a line per dropped event.
    this.#backlogWarned = true
    this.#logger.warn({ events, bytes, limit: this.backlogLimit }, 'server messages dropped: nobody collects them (no GET stream open); later drops are counted, not logged')
  }

  /** End the session: streams closed, child stopped, events dropped. Idempotent. */
  close(): Promise<void> {
    if (this.#closed) return this.backend.exited.then(() => {})
    this.#closed = true
    // Every request still in flight gets an answer that says why, before its stream ends.
    this.backend.fail({ message: 'The session ended before the MCP server answered' })
    for (const stream of this.#requestStreams.values()) stream.close()
    this.#requestStreams.clear()
    this.#standalone.close()
    this.store?.clear()
    this.#options.onClosed(this)
    return this.backend.stop().then(() => {})
  }

  #openRequestStream(sink: StreamSink): EventStream {
    this.#touchOnClose(sink)
    const stream = new EventStream(`r${++this.#streamSeq}`, this, true)
    this.#requestStreams.set(stream.id, stream)
    stream.attach(sink)
    if (sink.streaming && this.store && this.#options.priming !== false && this.supports('2025-11-25')) stream.prime()
    return stream
  }

  // A connection closing is the last sign of the client: the idle countdown starts there.
  #touchOnClose(sink: StreamSink): void {
    sink.onClose(() => {
      this.lastActivity = Date.now()
    })
  }

  #watchInitialize(stream: EventStream, request: JsonRpcRequest): void {
    const asked = (request.params as { protocolVersion?: unknown } | undefined)?.protocolVersion
    if (typeof asked === 'string') this.protocolVersion ??= asked
    stream.onResponse = (message) => {
      if (!('id' in message) || message.id !== request.id) return
      stream.onResponse = undefined
      const result = (message as { result?: { protocolVersion?: unknown } }).result
      if (typeof result?.protocolVersion === 'string') {
        this.protocolVersion = result.protocolVersion
      } else {
        // The child refused to initialize: the session is of no use; the client gets the error and then 404.
        queueMicrotask(() => void this.close())
      }
    }
  }

  // An unrelated message goes to exactly one stream: the stream of the call it is about when the backend
  // knows it (a shared child held by that call), else the one request in flight that can carry it (it is
  // almost surely the cause, e.g. a tool asking for sampling), else the standalone stream if connected,
  // else the newest request stream that can carry it, else the standalone stream's backlog for the next GET.
  #routeUnrelated(message: JsonRpcRequest | JsonRpcNotification, text: string, about?: UpstreamCaller): void {
    if (this.#closed) return
    if ('id' in message && message.method === 'roots/list') {
      const answer = answerRootsList(this.#roots, message.id)
      if (answer) return this.backend.respond(answer)
    }
    if ('id' in message) this.#relayed.add(message.id)
    if (about instanceof EventStream && about.streaming && this.#requestStreams.get(about.id) === about) return about.emit(text)
    if (this.transport === 'streamable') {
      let newest: EventStream | undefined
      let count = 0
      for (const stream of this.#requestStreams.values()) {
        if (stream.streaming && stream.outstanding.size > 0) {
          newest = stream
          count++
        }
      }
      if (newest && (count === 1 || !this.#standalone.streaming)) return newest.emit(text)
    }
    this.#standalone.emit(text)
    this.#logger.debug({ method: message.method }, 'server message routed to the standalone stream')
  }
}
