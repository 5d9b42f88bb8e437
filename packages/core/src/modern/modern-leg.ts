import type { Health, ServingMode } from '../backend/backend.js'
import { ErrorCode, errorResponse } from '../jsonrpc/errors.js'
import type { JsonRpcMessage, JsonRpcNotification, JsonRpcRequest } from '../jsonrpc/schemas.js'
import type { Logger } from '../logger.js'
import type { Root } from '../session/roots-policy.js'
import type { StreamSink } from '../session/stream-sink.js'
import { SharedChild, type RestartPolicy } from '../shared/shared-child.js'
import type { ChildUpstreamOptions } from '../upstream/child-upstream.js'
import type { Upstream, UpstreamCaller } from '../upstream/upstream.js'
import { ListenHub } from './listen-hub.js'
import { MODERN_PROTOCOL_VERSION } from './meta-keys.js'
import { InteractiveCall } from './interactive-call.js'
import { INTERACTIVE_METHODS, Interactions, type ClientView } from './interactions.js'
import { PooledChild, startExtra } from '../shared/lease-pool.js'
import { ModernCall, type CallContext, type ModernAnswer } from './modern-call.js'
import { ToolCatalog } from './tool-catalog.js'
import { ListenRelay, refuseListen, relayToSubscription } from './listen-relay.js'
import { probeEra, proxyEnvelope, type ServerEra } from './probe.js'
import { discoverResult, requestForChild, serverInfoOf, type CacheDefaults, type ServerInfo } from './translate.js'

export interface ModernLegOptions {
  child: Omit<ChildUpstreamOptions, 'shared'>
  initializeTimeoutMs: number
  restart: RestartPolicy
  /** Who the proxy says it is in its initialize of the child. */
  clientInfo: { name: string; version: string }
  /** Cache hints of results whose child said nothing valid about caching. */
  cache: CacheDefaults
  /** What the proxy answers when the child asks for roots: a 2026 client is never asked. @default [] */
  roots: Root[]
  /** Most `subscriptions/listen` streams open at once. */
  maxListenStreams: number
  /** The server's era: `legacy` (translated), `modern` (passed through), or `auto` (probed once, on first use). */
  upstreamProtocol: 'legacy' | 'auto' | 'modern'
  /**
   * `translate`: an interactive call (tools/call, prompts/get, resources/read) leases a child, and what the
   * child asks mid-call becomes `input_required` (MRTR). `off`: one child, every request multiplexed, the
   * child's asks refused.
   */
  interactive: 'translate' | 'off'
  /** Children for interactive calls at once, the primary included. */
  maxChildren: number
  /** How long a parked round waits for the client's retry. */
  inputTtlMs: number
  /** Parked calls at most. */
  maxParked: number
  /** Key of the sealed requestState (≥ 32 bytes); random per process if undefined. */
  requestStateKey: Buffer | undefined
  /** This instance, sealed into request states. */
  instance: string
  /** How long an interactive call waits for a lease (the request timeout). */
  leaseTimeoutMs: number
  logger: Logger
}

/** Interactive calls that may wait for a lease, per child allowed. */
const QUEUED_PER_CHILD = 8
/** An extra child idle this long is stopped. */
const EXTRA_IDLE_MS = 30_000

/** The capabilities the proxy declares to the child with MRTR on: its asks become `input_required` for the client. */
const CHILD_CAPABILITIES = { sampling: {}, elicitation: { form: {}, url: {} }, roots: {} }

/** Who the results claim to come from when the child's InitializeResult named nobody. */
const UNNAMED_SERVER: ServerInfo = { name: 'stdio-mcp-server', version: '0.0.0' }

/** How long a listen's acknowledgement waits for the child's `resources/subscribe` answers. */
const ACK_TIMEOUT_MS = 3000

/** Change notifications a listen stream may carry. */
const CHANGE_NOTIFICATIONS = new Set(['notifications/tools/list_changed', 'notifications/prompts/list_changed', 'notifications/resources/list_changed', 'notifications/resources/updated'])

/**
 * The MCP 2026-07-28 leg over a 2025-era stdio server: one child, spawned on the first 2026 request and
 * initialized once by the proxy, serves every modern request through the id-rewriting Upstream. The proxy
 * answers what a 2025 child cannot (`server/discover`, `subscriptions/listen`) and puts the child's answers on the 2026
 * wire (resultType, cache hints, serverInfo). It never shares this child with a 2025 session.
 */
export class ModernLeg implements ServingMode {
  #options: ModernLegOptions
  #child: SharedChild | undefined
  /** The server speaks 2026-07-28 itself: its messages pass through untranslated. */
  #passThrough = false
  #hub: ListenHub
  #tools: ToolCatalog
  #logger: Logger
  #started: Promise<void> | undefined
  #closed = false
  /** Listen streams passed through to a 2026 child. */
  #relays = 0
  /** MRTR: leases, parked rounds, retries (for a 2025 child with interactive translation on). */
  #interactions: Interactions | undefined

  constructor(options: ModernLegOptions) {
    this.#options = options
    this.#logger = options.logger
    const ask = (method: string, params: Record<string, unknown>): Promise<JsonRpcMessage> => this.#ask(method, params)
    this.#hub = new ListenHub({
      maxStreams: options.maxListenStreams,
      ackTimeoutMs: ACK_TIMEOUT_MS,
      subscriptions: {
        subscribe: async (uri) => 'result' in (await ask('resources/subscribe', { uri })),
        unsubscribe: async (uri) => void (await ask('resources/unsubscribe', { uri })),
      },
      logger: options.logger,
    })
    this.#tools = new ToolCatalog(ask)
  }

  /** Where the child is: `idle` until the first 2026-07-28 request, then the shared child's state. */
  get state(): string {
    return this.#child?.state ?? 'idle'
  }

  /**
   * Nothing to do before listening: the child is spawned by the first 2026-07-28 request (see `ready`),
   * so a proxy whose clients all speak 2025 runs no extra process.
   */
  async start(): Promise<void> {}

  /** Decide the server's era and spawn the child on first use (once); true when it can serve now. */
  async ready(): Promise<boolean> {
    if (this.#closed) return false
    this.#started ??= this.#begin().catch((error: unknown) => {
      this.#logger.error({ err: error }, 'the MCP server of the 2026-07-28 leg could not be started')
    })
    if (this.state === 'idle' || this.state === 'starting') await this.#started
    return this.state === 'up'
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#hub.endAll()
    await Promise.all([this.#interactions?.close(), this.#child?.close()])
  }

  async #begin(): Promise<void> {
    const { upstreamProtocol } = this.#options
    const era = upstreamProtocol === 'auto' ? await probeEra(this.#options.child, this.#options.clientInfo, this.#logger) : upstreamProtocol
    if (this.#closed) return
    this.#passThrough = era === 'modern'
    const primary = this.#pooledChild(era, 'modern', () => {
      this.#hub.endAll()
      this.#tools.invalidate()
    })
    this.#child = primary.child
    // Before the first start: a first start that fails (and is retried by the restart policy) must not
    // leave the leg without MRTR for good.
    if (era === 'legacy' && this.#options.interactive === 'translate') this.#interactions = this.#interactionsOver(primary)
    await primary.child.start()
  }

  #interactionsOver(primary: PooledChild): Interactions {
    const options = this.#options
    return new Interactions({
      primary,
      spawn: () => {
        const extra: PooledChild = this.#pooledChild('legacy', 'modern-extra', () => this.#interactions?.forget(extra))
        return startExtra(extra)
      },
      maxChildren: options.maxChildren,
      maxQueued: options.maxChildren * QUEUED_PER_CHILD,
      queueTimeoutMs: options.leaseTimeoutMs,
      idleMs: EXTRA_IDLE_MS,
      inputTtlMs: options.inputTtlMs,
      maxParked: options.maxParked,
      requestStateKey: options.requestStateKey,
      instance: options.instance,
      context: () => this.#context(),
      logger: options.logger,
    })
  }

  // One child of the leg: initialized the same way whichever role it has; its unrouted messages know
  // which child sent them (an interactive call holds one child alone).
  #pooledChild(era: ServerEra, role: string, onEnded: () => void): PooledChild {
    const options = this.#options
    return new PooledChild(
      (pooled) =>
        new SharedChild({
          child: options.child,
          initializeTimeoutMs: options.initializeTimeoutMs,
          restart: options.restart,
          clientInfo: options.clientInfo,
          capabilities: options.interactive === 'translate' ? CHILD_CAPABILITIES : {},
          handshake: era === 'legacy',
          unrouted: (message, text, upstream) => this.#unrouted(pooled, message, text, upstream),
          onEnded,
          role,
          logger: options.logger,
        }),
    )
  }

  #context(principal?: string): CallContext {
    const scope = { era: 'modern' as const, protocolVersion: MODERN_PROTOCOL_VERSION, ...(principal === undefined ? {} : { principal }) }
    const capabilities = (this.#child?.initializeResult?.capabilities ?? {}) as Record<string, unknown>
    return { serverInfo: this.#serverInfo(), cache: this.#options.cache, passThrough: this.#passThrough, scope, capabilities }
  }

  /** Calls parked for the client's input (MRTR), waiting for its retry. */
  get parked(): number {
    return this.#interactions?.stats.parked ?? 0
  }

  health(): Health {
    const { state } = this
    const pid = this.#child?.pid
    const era = this.#child ? (this.#passThrough ? 'modern' : 'legacy') : this.#options.upstreamProtocol
    const interactive = this.#interactions?.stats
    const report = { state, era, recentExits: this.#child?.recentExits ?? 0, listenStreams: this.#hub.size, ...(interactive ? { interactive } : {}) }
    return { ready: state === 'up', report: pid === undefined ? report : { ...report, pid } }
  }

  /**
   * Serve one request; its answer (and progress) goes to `answer`. Closing the answer cancels the call. An
   * interactive one (with MRTR on) leases a child and may answer `input_required`; its retry resumes it.
   */
  call(request: JsonRpcRequest, client: ClientView, answer: ModernAnswer): Promise<void> | void {
    if (!answer.open) return // the client left while the request waited (for the child, or the tool catalog)
    if (this.#interactions && INTERACTIVE_METHODS.has(request.method)) return this.#interactions.call(request, client, answer)
    const child = this.#child
    const call = new ModernCall(request, client.logLevel, answer, this.#context(client.principal))
    if (!child) return call.deliver(errorResponse(request.id, ErrorCode.InternalError, 'The MCP server is not running'), '')
    answer.onClose(() => {
      if (call.done) return
      call.abandon()
      child.cancel(call, request.id, 'The client closed the request')
    })
    child.request(call, this.#passThrough ? request : requestForChild(request))
  }

  /**
   * The `server/discover` answer: the proxy's own from a 2025 child's handshake, or a 2026 child's own
   * (its answer passes through).
   */
  discover(request: JsonRpcRequest, answer: ModernAnswer): void {
    if (this.#passThrough) return void this.call(request, { capabilities: {}, logLevel: undefined, principal: 'anonymous' }, answer)
    const text = JSON.stringify({ jsonrpc: '2.0', id: request.id, result: discoverResult(this.#child?.initializeResult ?? {}, this.#options.cache) })
    answer.finish(text, 200)
  }

  /** Serve `subscriptions/listen`: the stream stays open until the client closes it or the child ends. */
  async listen(request: JsonRpcRequest, sink: StreamSink): Promise<void> {
    const child = this.#child
    if (!sink.open) return
    if (this.#passThrough && child) {
      if (this.#relays >= this.#options.maxListenStreams) return refuseListen(request.id, sink)
      const relay = new ListenRelay(request.id, sink)
      this.#relays++
      sink.onClose(() => {
        this.#relays--
        if (!relay.done) child.cancel(relay, request.id, 'The client closed the stream')
      })
      // A listen lasts as long as the client wants it: no request timeout.
      return child.request(relay, request, undefined, Infinity)
    }
    const capabilities = (child?.initializeResult?.capabilities ?? {}) as Record<string, unknown>
    return this.#hub.open(request.id, request.params, sink, { capabilities, serverInfo: this.#serverInfo() })
  }

  /** The input schema of a tool, from the child's (cached, paginated) `tools/list`; undefined if it has no such tool. */
  toolSchema(name: string): Promise<unknown> {
    return this.#tools.schemaOf(name)
  }

  #serverInfo(): ServerInfo {
    return serverInfoOf(this.#child?.initializeResult ?? {}) ?? UNNAMED_SERVER
  }

  // The proxy's own request to the child (tools/list for the catalog, resources/subscribe for listen); a
  // 2026 child needs the envelope on it.
  #ask(method: string, params: Record<string, unknown>): Promise<JsonRpcMessage> {
    const child = this.#child
    if (!child) return Promise.resolve(errorResponse(0, ErrorCode.InternalError, 'The MCP server is not running'))
    const withEnvelope = this.#passThrough ? { ...params, _meta: proxyEnvelope(this.#options.clientInfo) } : params
    return new Promise((resolve) => {
      const caller: UpstreamCaller = { deliver: (message) => resolve(message), abandon: () => {}, streaming: false }
      child.request(caller, { jsonrpc: '2.0', id: 0, method, params: withEnvelope })
    })
  }

  // A message of the child that answers no request. Change notifications go to the listen streams (and
  // the tool catalog); a log goes to the one call in flight if it asked for that level; a request gets
  // an answer from the proxy, since a 2026 client is never asked mid-call by a shared child.
  #unrouted(pooled: PooledChild, message: JsonRpcRequest | JsonRpcNotification, text: string, upstream: Upstream): void {
    pooled.lastHeard = Date.now()
    const holder = this.#interactions?.holderOf(pooled)
    if ('id' in message) {
      if (holder?.ask(message.id, message.method, message.params)) return
      return this.#answerChildRequest(message, upstream)
    }
    if (message.method === 'notifications/cancelled' && holder) {
      const requestId = (message.params as { requestId?: unknown } | undefined)?.requestId
      if (typeof requestId === 'string' || typeof requestId === 'number') holder.withdraw(requestId)
      return
    }
    if (this.#passThrough && relayToSubscription(message, upstream)) return
    if (message.method === 'notifications/tools/list_changed') this.#tools.invalidate()
    if (CHANGE_NOTIFICATIONS.has(message.method)) {
      this.#hub.publish(message)
      return
    }
    if (message.method === 'notifications/message') {
      const level = (message.params as { level?: unknown } | undefined)?.level
      const sole = holder ?? upstream.soleCaller()
      if ((sole instanceof ModernCall || sole instanceof InteractiveCall) && sole.wantsLog(level)) return sole.deliver(message, text)
      this.#logger.debug({ level }, 'log of the MCP server (modern leg) not tied to one request that asked for it; dropped')
      return
    }
    this.#logger.debug({ method: message.method }, 'notification of the MCP server (modern leg) dropped')
  }

  #answerChildRequest(message: JsonRpcRequest, upstream: Upstream): void {
    if (this.#passThrough) {
      this.#logger.warn({ method: message.method }, 'a 2026-07-28 MCP server sent a request to its client, which that revision does not allow; answered with an error')
      return upstream.respond(errorResponse(message.id, ErrorCode.MethodNotFound, `${message.method}: a 2026-07-28 server cannot send requests to its client`))
    }
    if (message.method === 'roots/list') return upstream.respond({ jsonrpc: '2.0', id: message.id, result: { roots: this.#options.roots } })
    if (message.method === 'ping') return upstream.respond({ jsonrpc: '2.0', id: message.id, result: {} })
    this.#logger.info({ method: message.method }, 'the MCP server asked for input outside any interactive 2026-07-28 call; nobody can answer, the proxy answers with an error')
    upstream.respond(errorResponse(message.id, ErrorCode.MethodNotFound, `${message.method} cannot reach a client: no interactive call holds this server (2026-07-28 clients are asked only within their own call)`))
  }
}
