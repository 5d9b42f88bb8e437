import { ProxyError } from '../errors.js'
import { ErrorCode, errorResponse } from '../jsonrpc/errors.js'
import type { JsonRpcId, JsonRpcMessage, JsonRpcNotification, JsonRpcRequest } from '../jsonrpc/schemas.js'
import type { Logger } from '../logger.js'
import { SUPPORTED_PROTOCOL_VERSIONS } from '../session/session.js'
import { ChildUpstream, describeExit, type ChildUpstreamOptions } from '../upstream/child-upstream.js'
import type { UpstreamCaller } from '../upstream/upstream.js'

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
  logger: Logger
}

const LATEST = SUPPORTED_PROTOCOL_VERSIONS[SUPPORTED_PROTOCOL_VERSIONS.length - 1]!

/** A one-shot caller that turns a single answer into a promise. */
function answerOf(): { caller: UpstreamCaller; answer: Promise<JsonRpcMessage> } {
  let resolve!: (message: JsonRpcMessage) => void
  const answer = new Promise<JsonRpcMessage>((r) => (resolve = r))
  return { caller: { deliver: (message) => resolve(message), abandon: () => {} }, answer }
}

/**
 * The one child of stateless mode, shared by every request through the Upstream's id mapping. The proxy
 * initializes it once; client `initialize` calls are answered from that handshake. When it exits it is
 * restarted with jittered exponential backoff, and a crash loop is reported.
 */
export class SharedChild {
  state: SharedChildState = 'starting'
  /** The InitializeResult of the child's handshake (without the id). */
  initializeResult: Record<string, unknown> | undefined
  #options: SharedChildOptions
  #current: ChildUpstream | undefined
  #exits: number[] = []
  #attempt = 0
  #restartTimer: NodeJS.Timeout | undefined
  #logger: Logger

  constructor(options: SharedChildOptions) {
    this.#options = options
    this.#logger = options.logger
  }

  /** Process id of the running child, if any. */
  get pid(): number | undefined {
    return this.#current?.child.pid
  }

  /** Exits seen within the crash-loop window. */
  get recentExits(): number {
    return this.#exits.length
  }

  /** Spawn and initialize the child. Rejects (MCP_PROXY_INITIALIZE_FAILED) if the first start fails. */
  async start(): Promise<void> {
    await this.#spawnAndInitialize()
  }

  /** Send a client's request; its answer goes to `caller`. */
  request(caller: UpstreamCaller, message: JsonRpcRequest, text?: string): void {
    const current = this.#current
    if (this.state !== 'up' || !current) {
      const error = errorResponse(message.id, ErrorCode.InternalError, `The MCP server is ${this.state}; retry shortly`)
      caller.deliver(error, JSON.stringify(error))
      return
    }
    current.upstream.request(caller, message, text)
  }

  /** Forward a client's notification (cancellations are mapped to the request they name). */
  notify(message: JsonRpcNotification, text?: string): void {
    if (message.method === 'notifications/initialized') return // the proxy sent its own
    this.#current?.upstream.notify(message, text)
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
    await this.#current?.stop()
  }

  /** Kill the child at once (process exit). */
  kill(): void {
    this.state = 'stopped'
    this.#current?.child.kill()
  }

  async #spawnAndInitialize(): Promise<void> {
    const backend = new ChildUpstream({ ...this.#options.child, shared: true })
    this.#current = backend
    backend.setUnroutedHandler((message, text) => this.#unrouted(backend, message, text))
    this.#logger.info({ childPid: backend.child.pid }, 'MCP server started (shared)')
    void backend.exited.then((exit) => {
      this.#logger.warn({ childPid: backend.child.pid, code: exit.code, signal: exit.signal, lastStderr: exit.lastStderr }, describeExit(exit))
      if (this.#current === backend && this.state !== 'stopped') this.#scheduleRestart()
    })

    const { caller, answer } = answerOf()
    backend.upstream.request(
      caller,
      {
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: { protocolVersion: LATEST, capabilities: {}, clientInfo: this.#options.clientInfo },
      },
      undefined,
      this.#options.initializeTimeoutMs,
    )
    const reply = await answer
    const result = 'result' in reply ? (reply.result as Record<string, unknown>) : undefined
    if (!result || typeof result.protocolVersion !== 'string') {
      const reason = 'error' in reply ? reply.error.message : 'no protocolVersion in the result'
      void backend.stop()
      throw new ProxyError('MCP_PROXY_INITIALIZE_FAILED', `The MCP server did not initialize: ${reason}`)
    }
    this.initializeResult = result
    backend.upstream.notify({ jsonrpc: '2.0', method: 'notifications/initialized' })
    if (this.state !== 'stopped') this.state = 'up'
  }

  // Nobody can answer a server→client request in stateless mode: say so to the child, so it never waits.
  #unrouted(backend: ChildUpstream, message: JsonRpcRequest | JsonRpcNotification, _text: string): void {
    if ('id' in message) {
      const error = errorResponse(message.id, ErrorCode.MethodNotFound, `${message.method} cannot reach a client: the proxy runs in stateless mode`)
      backend.upstream.respond(error)
      return
    }
    this.#logger.debug({ method: message.method }, 'notification from the MCP server dropped (stateless mode)')
  }

  #scheduleRestart(): void {
    const { restart } = this.#options
    const now = Date.now()
    this.#exits = this.#exits.filter((t) => now - t < restart.crashLoopWindowMs)
    this.#exits.push(now)
    const looping = this.#exits.length >= restart.crashLoopExits
    this.state = looping ? 'crash-looping' : 'restarting'
    const base = looping ? restart.maxDelayMs : Math.min(restart.maxDelayMs, restart.initialDelayMs * 2 ** this.#attempt++)
    const delay = Math.round(base * (0.5 + Math.random() / 2))
    if (looping) this.#logger.error({ exits: this.#exits.length, windowMs: restart.crashLoopWindowMs, delayMs: delay }, 'MCP server is crash-looping')
    this.#restartTimer = setTimeout(() => {
      this.#spawnAndInitialize().then(
        () => {
          this.#attempt = 0
        },
        (error: unknown) => {
          this.#logger.error({ err: error }, 'MCP server restart failed')
          // No reschedule here: the failed child was stopped, and its exit schedules the next attempt.
        },
      )
    }, delay)
    this.#restartTimer.unref()
  }
}
