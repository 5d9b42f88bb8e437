import type { Health, ServingMode } from '../backend/backend.js'
import { ProxyError } from '../errors.js'
import { ErrorCode, errorResponse } from '../jsonrpc/errors.js'
import type { JsonRpcId, JsonRpcMessage, JsonRpcNotification, JsonRpcRequest, JsonRpcResponse } from '../jsonrpc/schemas.js'
import type { Logger } from '../logger.js'
import { SUPPORTED_PROTOCOL_VERSIONS } from '../session/session.js'
import { ChildUpstream, type ChildUpstreamOptions } from '../upstream/child-upstream.js'
import type { Upstream, UpstreamCaller } from '../upstream/upstream.js'
import type { RootsPolicy } from '../session/roots-policy.js'
import { trySerialize } from '../jsonrpc/serialize.js'

/** Where the shared child is in its life. */
export type SharedChildState = 'starting' | 'up' | 'restarting' | 'crash-looping' | 'stopped'

export interface RestartPolicy {
  /** First delay before a restart; doubles each time, jittered, up to maxDelayMs. */
  initialDelayMs: number
  maxDelayMs: number
  /** This many exits within crashLoopWindowMs is a crash loop (reported, and restarts slow to maxDelayMs). */
  crashLoopExits: number
  crashLoopWindowMs: number
}

export interface SharedChildOptions {
  child: Omit<ChildUpstreamOptions, 'shared'>
  initializeTimeoutMs: number
  restart: RestartPolicy
  /** Who the proxy says it is in its own initialize. */
  clientInfo: { name: string; version: string }
  /** With a fixed list, the child is told the client has roots (the proxy answers `roots/list`). @default forward */
  roots?: RootsPolicy
  /** Capabilities the proxy declares in its initialize. @default sampling and elicitation (roots with a fixed list) */
  capabilities?: Record<string, unknown>
  /** Where the child's messages that answer no request go (server→client requests, notifications other than progress). */
  unrouted: (message: JsonRpcRequest | JsonRpcNotification, text: string, upstream: Upstream) => void
  /** Called when the running child ended (before any restart). */
  onEnded?: () => void
  /** Called each time a child is up (first start and every restart), before it serves anyone. */
  onUp?: () => void
  /**
   * Initialize the child (a 2025-era server). Off for a 2026-07-28 server, which has no handshake: it is
   * up once it runs. @default true
   */
  handshake?: boolean
  /** Names the child in log lines. @default 'shared' */
  role?: string
  logger: Logger
}

/** A child up this long counts as healthy again: its next crash restarts after the initial delay. */
const STABLE_AFTER_MS = 10_000

const LATEST = SUPPORTED_PROTOCOL_VERSIONS[SUPPORTED_PROTOCOL_VERSIONS.length - 1]!

/** A one-shot caller that turns a single answer into a promise. */
function answerOf(): { caller: UpstreamCaller; answer: Promise<JsonRpcMessage> } {
  let resolve!: (message: JsonRpcMessage) => void
  const answer = new Promise<JsonRpcMessage>((r) => (resolve = r))
  return { caller: { deliver: (message) => resolve(message), abandon: () => {}, streaming: false }, answer }
}

/**
 * The one child of stateless mode, shared by every request through the Upstream's id mapping. The proxy
 * initializes it once; client `initialize` calls are answered from that handshake. When it exits it is
 * restarted with jittered exponential backoff, and a crash loop is reported.
 */
export class SharedChild implements ServingMode {
  state: SharedChildState = 'starting'
  /** The InitializeResult of the child's handshake (without the id). */
  initializeResult: Record<string, unknown> | undefined
  #options: SharedChildOptions
  #current: ChildUpstream | undefined
  #exits: number[] = []
  #attempt = 0
  #upSince = 0
  #restartTimer: NodeJS.Timeout | undefined
  #logger: Logger

  constructor(options: SharedChildOptions) {
    this.#options = options
    this.#logger = options.logger
  }

  /**
   * Up, and its child has not ended: a request sent now reaches it. (While a crashed child's calls are
   * answered the state is still `up`; the restart follows.)
   */
  get serving(): boolean {
    return this.state === 'up' && this.#current !== undefined && !this.#current.upstream.closed
  }

  /** Process id of the running child, if any. */
  get pid(): number | undefined {
    const child = this.#current?.child
    return child?.alive ? child.pid : undefined
  }

  /** Exits seen within the crash-loop window. */
  get recentExits(): number {
    return this.#exits.length
  }

  /** Spawn and initialize the child. Rejects (MCP_PROXY_INITIALIZE_FAILED) if the first start fails. */
  async start(): Promise<void> {
    await this.#spawnAndInitialize()
  }

  /** Send one request; its answer goes to `caller` (an error at once while the child is not up). */
  request(caller: UpstreamCaller, message: JsonRpcRequest, text?: string, timeoutMs?: number): void {
    const current = this.#current
    if (this.state !== 'up' || !current) {
      const error = errorResponse(message.id, ErrorCode.InternalError, `The MCP server is ${this.state}; retry shortly`)
      caller.deliver(error, JSON.stringify(error))
      return
    }
    current.upstream.request(caller, message, text, timeoutMs)
  }

  /** Give up a request of `caller` (its client went away): the child is told with its own id. */
  cancel(caller: UpstreamCaller, id: JsonRpcId, reason: string): void {
    this.#current?.upstream.cancel(caller, id, reason)
  }

  /** Answer a request the child sent, for the proxy itself (a relayed client's answer goes through `forward`). */
  answerChild(response: JsonRpcResponse): void {
    this.#current?.upstream.respond(response)
  }

  /** Give a request of `caller` `ms` more from now before it times out. */
  extend(caller: UpstreamCaller, id: JsonRpcId, ms: number): void {
    this.#current?.upstream.extend(caller, id, ms)
  }

  health(): Health {
    return { ready: this.state === 'up', report: { mode: 'stateless', child: { state: this.state, pid: this.pid, recentExits: this.recentExits } } }
  }

  /** Answer a client's `initialize` from the shared handshake, at a revision the client knows. */
  initializeAnswer(id: JsonRpcId, requestedVersion: unknown): JsonRpcMessage {
    const result = { ...this.initializeResult }
    const childVersion = typeof result.protocolVersion === 'string' ? result.protocolVersion : LATEST
    if (typeof requestedVersion === 'string' && (SUPPORTED_PROTOCOL_VERSIONS as readonly string[]).includes(requestedVersion)) {
      result.protocolVersion = requestedVersion < childVersion ? requestedVersion : childVersion
    }
    return { jsonrpc: '2.0', id, result }
  }

  /** Stop the child for good. */
  async close(): Promise<void> {
    this.state = 'stopped'
    if (this.#restartTimer) clearTimeout(this.#restartTimer)
    // Calls in flight are answered now, not after the stop ladder of a child that ignores SIGTERM.
    this.#current?.upstream.close({ message: 'The proxy is shutting down' })
    await this.#current?.stop()
  }

  async #spawnAndInitialize(): Promise<void> {
    const backend = new ChildUpstream({ ...this.#options.child, shared: true, role: this.#options.role ?? 'shared' })
    this.#current = backend
    const { unrouted } = this.#options
    backend.setUnroutedHandler((message, text) => unrouted(message, text, backend.upstream))
    this.#logger.info({ childPid: backend.child.pid, role: this.#options.role ?? 'shared' }, 'MCP server started')
    backend.onClosed(() => {
      if (this.#current !== backend) return
      this.#options.onEnded?.()
      if (this.state !== 'stopped') this.#scheduleRestart()
    })

    if (this.#options.handshake === false) return this.#upWithoutHandshake(backend)
    const { caller, answer } = answerOf()
    backend.upstream.request(
      caller,
      {
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        // Sampling and elicitation are relayed to the client whose call caused them (see #unrouted);
        // roots are declared only when the proxy answers them itself (a fixed list).
        params: { protocolVersion: LATEST, capabilities: this.#capabilities(), clientInfo: this.#options.clientInfo },
      },
      undefined,
      this.#options.initializeTimeoutMs,
    )
    const reply = await answer
    const result = 'result' in reply ? (reply.result as Record<string, unknown>) : undefined
    // Every client's initialize is answered from this result: it must be one that can be serialized.
    if (!result || typeof result.protocolVersion !== 'string' || trySerialize(result) === undefined) {
      const reason = 'error' in reply ? reply.error.message : result ? 'the result is nested too deeply' : 'no protocolVersion in the result'
      void backend.stop()
      throw new ProxyError('MCP_PROXY_INITIALIZE_FAILED', `The MCP server did not initialize: ${reason}`)
    }
    this.initializeResult = result
    backend.upstream.notify({ jsonrpc: '2.0', method: 'notifications/initialized' })
    this.#up()
  }

  #up(): void {
    if (this.state === 'stopped') return
    this.state = 'up'
    this.#upSince = Date.now()
    this.#options.onUp?.()
  }

  async #upWithoutHandshake(backend: ChildUpstream): Promise<void> {
    try {
      await backend.child.started
    } catch (error) {
      throw new ProxyError('MCP_PROXY_INITIALIZE_FAILED', `The MCP server could not be started: ${(error as Error).message}`, { cause: error })
    }
    this.#up()
  }

  #capabilities(): Record<string, unknown> {
    if (this.#options.capabilities) return this.#options.capabilities
    const capabilities: Record<string, unknown> = { sampling: {}, elicitation: {} }
    if (this.#options.roots?.mode === 'fixed') capabilities.roots = { listChanged: false }
    return capabilities
  }

  #scheduleRestart(): void {
    const { restart } = this.#options
    const now = Date.now()
    // Backoff starts over only after a child that stayed up a while (one that dies on its first call keeps backing off).
    if (this.#upSince > 0 && now - this.#upSince > STABLE_AFTER_MS) this.#attempt = 0
    this.#upSince = 0
    this.#exits = this.#exits.filter((t) => now - t < restart.crashLoopWindowMs)
    this.#exits.push(now)
    const looping = this.#exits.length >= restart.crashLoopExits
    this.state = looping ? 'crash-looping' : 'restarting'
    const tap = this.#options.child.tap
    if (tap?.active) tap.emit({ type: 'child-restart', role: this.#options.role ?? 'shared' })
    const base = looping ? restart.maxDelayMs : Math.min(restart.maxDelayMs, restart.initialDelayMs * 2 ** this.#attempt++)
    const delay = Math.round(base * (0.5 + Math.random() / 2))
    if (looping) this.#logger.error({ exits: this.#exits.length, windowMs: restart.crashLoopWindowMs, delayMs: delay }, 'MCP server is crash-looping')
    this.#restartTimer = setTimeout(() => {
      this.#spawnAndInitialize().catch(
        (error: unknown) => {
          this.#logger.error({ err: error }, 'MCP server restart failed')
          // No reschedule here: the failed child was stopped, and its exit schedules the next attempt.
        },
      )
    }, delay)
    this.#restartTimer.unref()
  }
}
