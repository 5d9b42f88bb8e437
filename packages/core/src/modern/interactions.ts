import { ErrorCode, errorResponse } from '../jsonrpc/errors.js'
import type { JsonRpcRequest } from '../jsonrpc/schemas.js'
import { InteractiveCall, type InteractiveHost } from './interactive-call.js'
import { LeasePool, type LeasePoolOptions, type PooledChild } from '../shared/lease-pool.js'
import type { CallContext, ModernAnswer } from './modern-call.js'
import { RequestStateCodec, requestDigest } from './request-state.js'
import { requestForChild } from './translate.js'

/** Methods whose handler may ask the client for input mid-call (2026-07-28 lets only these return `input_required`). */
export const INTERACTIVE_METHODS: ReadonlySet<string> = new Set(['tools/call', 'prompts/get', 'resources/read'])

/** How long the child's requests are gathered into one round after the last one arrived. */
const QUIET_MS = 25
/** Most rounds of `input_required` in one call. */
const MAX_ROUNDS = 16
/** The lease pool's settings (its children, growth, queue and reaping), and what MRTR adds. */
export interface InteractionsOptions extends Omit<LeasePoolOptions, 'reclaim'> {
  /** How long a parked round waits for the client's retry. */
  inputTtlMs: number
  /** Parked calls at most; past that the one parked longest is given up. */
  maxParked: number
  /** Key of the sealed `requestState` (≥ 32 bytes, shared by instances behind one balancer); random if undefined. */
  requestStateKey: Buffer | undefined
  /** This proxy instance, sealed into every state. */
  instance: string
  context: () => CallContext
}

/** A 2026 request's view of its client: what it declared, what logs it wants, and who it is. */
export interface ClientView {
  capabilities: Record<string, unknown>
  logLevel: string | undefined
  principal: string
}

/**
 * MRTR over 2025-era children: interactive calls on leased children, their parked rounds (sealed,
 * single-use states with a TTL and a cap), and the retries that resume them.
 */
export class Interactions implements InteractiveHost {
  readonly quietMs = QUIET_MS
  readonly maxRounds = MAX_ROUNDS
  #options: InteractionsOptions
  #pool: LeasePool
  #codec: RequestStateCodec
  /** Parked calls by handle, oldest first (the cap evicts from the front). */
  #parked = new Map<string, InteractiveCall>()
  #handles = new Map<InteractiveCall, string>()
  #sweeper: NodeJS.Timeout
  /** How often parked calls are checked for expiry. */
  #sweepEveryMs: number
  #closed = false

  constructor(options: InteractionsOptions) {
    this.#options = options
    this.#codec = new RequestStateCodec(options.requestStateKey, options.instance)
    // Every child held: the call parked longest may give way (see #reclaim).
    this.#pool = new LeasePool({ ...options, reclaim: () => this.#reclaim() })
    this.#sweepEveryMs = Math.max(20, Math.min(1000, options.inputTtlMs / 4))
    this.#sweeper = setInterval(() => this.#sweep(), this.#sweepEveryMs)
    this.#sweeper.unref()
  }

  /** How answers are put on the 2026 wire (read each time: the child's serverInfo may change on a restart). */
  get context(): CallContext {
    return this.#options.context()
  }

  get stats(): { children: number; leased: number; queued: number; parked: number } {
    return { children: this.#pool.size, leased: this.#pool.leased, queued: this.#pool.queued, parked: this.#parked.size }
  }

  /** A child ended (it is restarted, or left the pool): its holder's call has already been answered by the Upstream. */
  forget(pooled: PooledChild): void {
    this.#pool.forget(pooled)
  }

  /** Serve an interactive request: a retry resumes its parked call, a fresh one leases a child. */
  async call(request: JsonRpcRequest, client: ClientView, answer: ModernAnswer): Promise<void> {
    const state = (request.params as { requestState?: unknown } | undefined)?.requestState
    if (state !== undefined) return this.#retry(request, state, client, answer)
    const placeholder = { id: request.id }
    // A caller whose client leaves while it waits for a child leaves the queue.
    const gone = new AbortController()
    answer.onClose(() => gone.abort())
    const pooled = await this.#pool.acquire(placeholder, gone.signal)
    if (!answer.open) {
      if (pooled) this.#pool.release(pooled)
      return
    }
    if (!pooled) {
      const why = this.#closed ? 'the proxy is shutting down' : 'every child is serving an interactive call, and none was free in time (or the queue is full)'
      answer.finish(JSON.stringify(errorResponse(request.id, ErrorCode.InternalError, `The MCP server is busy: ${why}; retry later`)), 200)
      return
    }
    const call = new InteractiveCall(request, client, pooled, answer, this)
    pooled.holder = call
    pooled.child.request(call, requestForChild(request))
  }

  /** The holder of `pooled`, if it is an interactive call: the child's requests and logs are its. */
  holderOf(pooled: PooledChild): InteractiveCall | undefined {
    return pooled.holder instanceof InteractiveCall ? pooled.holder : undefined
  }

  park(call: InteractiveCall): string {
    this.unpark(call)
    const { state, handle } = this.#codec.seal({
      principal: call.principal,
      digest: requestDigest(call.request.method, call.request.params),
      expiresAt: Date.now() + this.#options.inputTtlMs,
    })
    call.parkedUntil = Date.now() + this.#options.inputTtlMs
    // The child's call waits as long as the client may take to answer, not the request timeout; a little
    // longer, so the expiry is the sweep's (its asks answered "cancel"/timed out, the call cancelled), never
    // the request timeout's racing it.
    call.pooled.child.extend(call, call.id, this.#options.inputTtlMs + 2 * this.#sweepEveryMs)
    this.#parked.set(handle, call)
    this.#handles.set(call, handle)
    while (this.#parked.size > this.#options.maxParked) {
      const oldest = this.#parked.values().next().value as InteractiveCall
      this.#options.logger.warn({ maxParked: this.#options.maxParked }, 'too many 2026-07-28 calls wait for input; the one parked longest is given up')
      oldest.expire('evicted')
    }
    return state
  }

  unpark(call: InteractiveCall): void {
    const handle = this.#handles.get(call)
    if (handle === undefined) return
    this.#handles.delete(call)
    this.#parked.delete(handle)
  }

  release(call: InteractiveCall, pooled: PooledChild, afterCancel: boolean): void {
    if (pooled.holder !== call) return
    if (afterCancel) this.#pool.releaseAfterCancel(pooled)
    else this.#pool.release(pooled)
  }

  /** Give up every parked call (the proxy stops), refuse waiters, stop the extra children. */
  async close(): Promise<void> {
    this.#closed = true
    clearInterval(this.#sweeper)
    for (const call of [...this.#parked.values()]) call.expire('shutdown')
    await this.#pool.close()
  }

  #retry(request: JsonRpcRequest, state: unknown, client: ClientView, answer: ModernAnswer): void {
    const refuse = (why: string): void =>
      answer.finish(JSON.stringify(errorResponse(request.id, ErrorCode.InvalidParams, `Invalid requestState: ${why}; call again without it`)), 200)
    if (typeof state !== 'string') return refuse('it must be a string')
    const opened = this.#codec.open(state, { principal: client.principal, digest: requestDigest(request.method, request.params) })
    if (!opened.ok) return refuse(opened.reason)
    // Taking it out of the map is the compare-and-swap: of two retries of one state, one finds it.
    const call = this.#parked.get(opened.handle)
    if (!call || this.#closed) return refuse('it was already used, or the call it belongs to ended')
    this.unpark(call)
    // From here the call follows the child again, under the request timeout.
    call.pooled.child.extend(call, call.id, this.#options.queueTimeoutMs)
    call.resume(request, answer)
  }

  // Every child is held: the call parked longest gives way (its client may never come back; one that
  // does gets -32602 and calls again). Calls still running are never interrupted, and a parked call whose
  // child already finished holds no child: giving it up would free nothing and lose its result.
  #reclaim(): boolean {
    let oldest: InteractiveCall | undefined
    for (const call of this.#parked.values()) {
      if (call.pooled.holder !== call) continue
      oldest = call
      break
    }
    if (!oldest) return false
    this.#options.logger.info({ parkedMs: Date.now() - (oldest.parkedUntil - this.#options.inputTtlMs) }, 'every child serving 2026-07-28 calls is held: the call waiting longest for input is given up')
    oldest.expire('evicted')
    return true
  }

  #sweep(): void {
    const now = Date.now()
    for (const call of [...this.#parked.values()]) if (call.parkedUntil <= now) call.expire('expired')
  }
}
