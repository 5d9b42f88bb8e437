import type { Health, ServingMode } from '../backend/backend.js'
import { ErrorCode, errorResponse } from '../jsonrpc/errors.js'
import type { JsonRpcId, JsonRpcMessage, JsonRpcNotification, JsonRpcRequest, JsonRpcResponse } from '../jsonrpc/schemas.js'
import { randomUUID } from 'node:crypto'
import { trySerialize } from '../jsonrpc/serialize.js'
import type { Logger } from '../logger.js'
import { answerRootsList, type RootsPolicy } from '../session/roots-policy.js'
import { SharedChild, type RestartPolicy } from './shared-child.js'
import type { ChildUpstreamOptions } from '../upstream/child-upstream.js'
import type { Upstream, UpstreamCaller } from '../upstream/upstream.js'
import { LeasePool, PooledChild, startExtra } from './lease-pool.js'
import { SharedCall, type CallClient, type CallHost, type Hold } from './shared-call.js'

/**
 * Requests that cannot make the child ask its client: they run on any child, held or not. Every other
 * request (tools/call, prompts/get, resources/read, completion/complete, a method of the server's own)
 * may ask mid-call, so it holds its child alone when its client can be asked, and shares it otherwise.
 */
export const NON_ASKING_METHODS: ReadonlySet<string> = new Set(['ping', 'tools/list', 'prompts/list', 'resources/list', 'resources/templates/list'])

/** What becomes of a shared child's requests to a client (see `SharedChildrenOptions.asks`). */
export type SharedAsks = 'route' | 'refuse'

/** The child told its roots are refused: a shared child's roots cannot be one client's. */
const NO_ROOTS: RootsPolicy = { mode: 'deny' }

export interface SharedChildrenOptions {
  child: Omit<ChildUpstreamOptions, 'shared'>
  initializeTimeoutMs: number
  restart: RestartPolicy
  clientInfo: { name: string; version: string }
  /** `fixed`: the proxy answers the children's `roots/list`; otherwise they are told there are no roots. */
  roots: RootsPolicy
  /** Most children at once (the primary included). */
  maxChildren: number
  /** Calls that may wait for a child beyond that. */
  maxQueued: number
  /** How long a call waits for a child before it fails. */
  queueTimeoutMs: number
  /** A child other than the primary idle this long is stopped. */
  idleMs: number
  /**
   * `route` (the default): a call that may ask, from a client that can be asked, holds its child alone and
   * gets that child's asks. `refuse`, for servers that never ask: every call shares the children (none
   * waits for a child of its own), the children are told the proxy can do neither sampling nor
   * elicitation, and an ask is answered with an error.
   */
  asks?: SharedAsks
  /** A notification no call holding the child is about (a change, a log, a resource update): for every client it concerns. */
  publish: (message: JsonRpcNotification, text: string) => void
  /** A child is up (started, restarted, or grown): give it what clients set (log level, subscriptions). */
  onChildUp?: (pooled: PooledChild, primary: boolean) => void
  /** Names the children in logs, metrics and health (`shared`; extras get `-extra`). */
  role: string
  logger: Logger
}

interface RelayedAsk {
  pooled: PooledChild
  childId: JsonRpcId
  call: SharedCall
}

/** Relayed asks waiting for their client's answer at most; past this the oldest are forgotten. */
const MAX_ASKS = 1024

/**
 * Pre-initialized children shared by many clients. A request that cannot ask its client
 * (NON_ASKING_METHODS) goes to a child that is up; one that may ask holds a child alone when its client can be asked,
 * so the child's requests meanwhile are that client's, and otherwise runs beside others on a child no
 * one holds (its asks are refused); with `asks: 'refuse'` every call runs that way. The pool grows on
 * demand up to `maxChildren`; extras idle out.
 * The children's asks are relayed under ids of the proxy's own, which the clients answer.
 */
export class SharedChildren implements ServingMode, CallHost {
  readonly primary: PooledChild
  #pool: LeasePool
  #options: SharedChildrenOptions
  #asks = new Map<string, RelayedAsk>()
  #routeAsks: boolean
  #logger: Logger

  constructor(options: SharedChildrenOptions) {
    this.#options = options
    this.#routeAsks = options.asks !== 'refuse'
    this.#logger = options.logger
    this.primary = this.#pooledChild(options.role, () => {})
    this.#pool = new LeasePool({
      primary: this.primary,
      spawn: () => {
        const extra: PooledChild = this.#pooledChild(`${options.role}-extra`, () => this.#pool.forget(extra))
        return startExtra(extra)
      },
      maxChildren: options.maxChildren,
      maxQueued: options.maxQueued,
      queueTimeoutMs: options.queueTimeoutMs,
      idleMs: options.idleMs,
      logger: options.logger,
    })
  }

  /** The children alive now, the primary first. */
  get children(): readonly PooledChild[] {
    return this.#pool.children
  }

  /** The primary child is up (stateless mode is ready only then: its requests go to the primary). */
  get ready(): boolean {
    return this.primary.child.state === 'up'
  }

  /** Some child serves requests now (while the primary restarts, an extra one may). */
  get serving(): boolean {
    return this.children.some((pooled) => pooled.child.serving)
  }

  start(): Promise<void> {
    return this.primary.child.start()
  }

  async close(): Promise<void> {
    await Promise.all([this.#pool.close(), this.primary.child.close()])
  }

  health(): Health {
    const { child } = this.primary
    const children = this.children.map(({ child, holder, sharers }) => ({ state: child.state, pid: child.pid, held: holder !== undefined, sharers }))
    return {
      ready: this.ready,
      report: { mode: this.#options.role, child: { state: child.state, pid: child.pid, recentExits: child.recentExits }, children, maxChildren: this.#options.maxChildren, queued: this.#pool.queued, asks: this.#routeAsks ? 'route' : 'refuse' },
    }
  }

  /** Answer a client's `initialize` from the primary's handshake, at a revision the client knows. */
  initializeAnswer(id: JsonRpcId, requestedVersion: unknown): JsonRpcMessage | undefined {
    return this.primary.child.initializeResult ? this.primary.child.initializeAnswer(id, requestedVersion) : undefined
  }

  /**
   * Send a client's request for `caller`: alone on a child, beside others, or on any child that is up.
   * Returns the call (to cancel or fail it later); its answer comes through `caller` exactly once.
   */
  call(caller: UpstreamCaller, message: JsonRpcRequest, text: string | undefined, client: CallClient, timeoutMs?: number): SharedCall {
    const hold: Hold = NON_ASKING_METHODS.has(message.method) ? 'none' : client.askable && this.#routeAsks ? 'alone' : 'shared'
    const call = new SharedCall(caller, message, hold, client, this)
    const holder = hold === 'alone' ? call : undefined
    // A child free now is taken at once; only a call that must wait gets a promise (and an abort signal).
    const now = hold === 'none' ? this.#anyUp() : this.#pool.takeFree(holder)
    if (now) {
      call.running(now)
      now.child.request(call, message, text, timeoutMs)
      return call
    }
    if (hold === 'none') {
      call.fail(`The MCP server is ${this.primary.child.state === 'up' ? 'restarting' : this.primary.child.state}; retry shortly`)
      return call
    }
    const taking = holder ? this.#pool.acquire(holder, call.signal) : this.#pool.share(call.signal)
    void taking.then((pooled) => {
      if (!pooled) return call.fail(`Every MCP server (${this.#options.maxChildren}) is busy with calls of other clients; retry shortly`)
      call.running(pooled)
      // The call ended while it waited (its client cancelled, or its session closed): give the child back.
      if (call.done) return this.#giveBack(call, pooled, false)
      pooled.child.request(call, message, text, timeoutMs)
    })
    return call
  }

  /** A client's answer to a relayed ask: to the child that asked, under its own id. False when no such ask waits. */
  answer(message: JsonRpcResponse): boolean {
    const ask = typeof message.id === 'string' ? this.#asks.get(message.id) : undefined
    if (!ask) return false
    this.#asks.delete(message.id as string)
    ask.call.asks.delete(message.id as string)
    if (ask.pooled.child.serving) ask.pooled.child.answerChild({ ...message, id: ask.childId })
    return true
  }

  /** Send a request of the proxy's own (log level, subscription) to one child; resolves with its answer. */
  ask(pooled: PooledChild, method: string, params: Record<string, unknown>): Promise<JsonRpcMessage> {
    return new Promise((resolve) => {
      const caller: UpstreamCaller = { deliver: (message) => resolve(message), abandon: () => resolve(errorResponse(0, ErrorCode.InternalError, 'abandoned')), streaming: false }
      pooled.child.request(caller, { jsonrpc: '2.0', id: 0, method, params })
    })
  }

  // --- CallHost

  end(call: SharedCall, cancelled: boolean): void {
    for (const id of call.asks) this.#asks.delete(id)
    call.asks.clear()
    if (call.pooled) this.#giveBack(call, call.pooled, cancelled)
  }

  #giveBack(call: SharedCall, pooled: PooledChild, cancelled: boolean): void {
    if (call.hold === 'shared') return this.#pool.unshare(pooled)
    if (call.hold !== 'alone' || pooled.holder !== call) return
    if (cancelled) this.#pool.releaseAfterCancel(pooled)
    else this.#pool.release(pooled)
  }

  // A child for a request that cannot ask: the primary (never reaped), else any other serving one.
  #anyUp(): PooledChild | undefined {
    if (this.primary.child.serving) return this.primary
    return this.children.find((pooled) => pooled.child.serving)
  }

  #pooledChild(role: string, onEnded: () => void): PooledChild {
    const options = this.#options
    const pooled: PooledChild = new PooledChild(
      (self) =>
        new SharedChild({
          child: options.child,
          initializeTimeoutMs: options.initializeTimeoutMs,
          restart: options.restart,
          clientInfo: options.clientInfo,
          roots: options.roots.mode === 'fixed' ? options.roots : NO_ROOTS,
          // Refusing every ask, the proxy declares only what it answers itself (a fixed roots list).
          ...(this.#routeAsks ? {} : { capabilities: options.roots.mode === 'fixed' ? { roots: { listChanged: false } } : {} }),
          unrouted: (message, text, upstream) => this.#unrouted(self, message, text, upstream),
          onEnded,
          onUp: () => {
            this.#pool?.revive(self)
            options.onChildUp?.(self, self === this.primary)
          },
          role,
          logger: options.logger,
        }),
    )
    return pooled
  }

  // A message of a child that answers no request. While a call holds the child alone, its requests,
  // logs and cancellations are that call's; otherwise a request is answered by the proxy (nobody can be
  // asked) and a notification is published to whoever it concerns.
  #unrouted(pooled: PooledChild, message: JsonRpcRequest | JsonRpcNotification, text: string, upstream: Upstream): void {
    const holder = pooled.holder instanceof SharedCall ? pooled.holder : undefined
    if ('id' in message) {
      // Only an ask keeps a quarantine going: list changes and others' logs say nothing about a cancelled call.
      pooled.lastHeard = Date.now()
      return this.#childRequest(pooled, holder, message, upstream)
    }
    // The child withdrew an ask of its own: only a holder's client was asked anything.
    if (message.method === 'notifications/cancelled') return holder ? this.#withdrawn(holder, message) : undefined
    if (holder && message.method === 'notifications/message') return holder.client.relay(message, text, holder)
    this.#options.publish(message, text)
  }

  #childRequest(pooled: PooledChild, holder: SharedCall | undefined, message: JsonRpcRequest, upstream: Upstream): void {
    if (message.method === 'ping') return upstream.respond({ jsonrpc: '2.0', id: message.id, result: {} })
    if (message.method === 'roots/list') return upstream.respond(answerRootsList(this.#options.roots.mode === 'fixed' ? this.#options.roots : NO_ROOTS, message.id)!)
    if (!holder || holder.done || !holder.client.canAsk(message.method)) {
      const why = holder ? 'its client did not declare that capability' : this.#routeAsks ? 'no call that can ask its client holds this server' : 'the proxy refuses the requests of shared servers (asks: refuse)'
      this.#logger.debug({ method: message.method }, `MCP server request refused: ${why}`)
      return upstream.respond(errorResponse(message.id, ErrorCode.MethodNotFound, `${message.method} cannot reach a client: ${why}`))
    }
    // Unguessable: in stateless mode any POST may carry an answer, and only the client asked knows the id.
    const id = `mcp-proxy:ask:${randomUUID()}`
    const relayed = { ...message, id }
    const text = trySerialize(relayed)
    if (text === undefined) return upstream.respond(errorResponse(message.id, ErrorCode.InvalidRequest, 'The proxy could not forward this request: it is nested too deeply'))
    this.#asks.set(id, { pooled, childId: message.id, call: holder })
    holder.asks.add(id)
    if (this.#asks.size > MAX_ASKS) this.#dropOldestAsk()
    holder.client.relay(relayed, text, holder)
  }

  // Too many asks wait for their clients: the oldest is given up, and its child told so (it never waits for nothing).
  #dropOldestAsk(): void {
    const [id, ask] = this.#asks.entries().next().value as [string, RelayedAsk]
    this.#asks.delete(id)
    ask.call.asks.delete(id)
    if (ask.pooled.child.serving) ask.pooled.child.answerChild(errorResponse(ask.childId, ErrorCode.InternalError, 'The proxy gave up waiting for the client to answer'))
  }

  // The child gave up one of its own asks: the client is told under the id it knows.
  #withdrawn(holder: SharedCall, message: JsonRpcNotification): void {
    const childId = (message.params as { requestId?: unknown } | undefined)?.requestId
    for (const id of holder.asks) {
      if (this.#asks.get(id)?.childId !== childId) continue
      this.#asks.delete(id)
      holder.asks.delete(id)
      const relayed = { ...message, params: { ...message.params, requestId: id } }
      return holder.client.relay(relayed, JSON.stringify(relayed), holder)
    }
  }
}
