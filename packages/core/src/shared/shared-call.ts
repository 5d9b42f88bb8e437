import { ErrorCode, errorResponse } from '../jsonrpc/errors.js'
import type { JsonRpcId, JsonRpcMessage, JsonRpcNotification, JsonRpcRequest } from '../jsonrpc/schemas.js'
import type { TapScope } from '../tap/tap.js'
import type { UpstreamCaller } from '../upstream/upstream.js'
import type { LeaseHolder, PooledChild } from './lease-pool.js'

/** What a call on the shared children needs from its client. */
export interface CallClient {
  /**
   * The client can be asked something mid-call (it declared sampling or elicitation, and can read a
   * stream): its calls that may ask hold their child alone.
   */
  readonly askable: boolean
  /** The client can be asked `method` (it declared that capability). */
  canAsk(method: string): boolean
  /** A message of the child about `call`: a request (under the id the client answers it by), a log, a cancellation. */
  relay(message: JsonRpcRequest | JsonRpcNotification, text: string, call: SharedCall): void
}

/** How a call uses a child: alone (its asks are its client's), beside others (no asks), or on any child (cannot ask). */
export type Hold = 'alone' | 'shared' | 'none'

/** What a call tells the children it ran on. */
export interface CallHost {
  /** The call is over: give its child back (after a cancellation, once the child settled). */
  end(call: SharedCall, cancelled: boolean): void
}

type Phase = 'waiting' | 'running' | 'done'

/**
 * One client request on the shared children: the caller the Upstream answers (it hands the answer on to
 * the client's stream), and while it holds its child alone, the holder that child's asks belong to.
 */
export class SharedCall implements UpstreamCaller, LeaseHolder {
  /** The client's id of the request. */
  readonly id: JsonRpcId
  readonly caller: UpstreamCaller
  readonly request: JsonRpcRequest
  readonly hold: Hold
  readonly client: CallClient
  /** The child it runs on, once it has one. */
  pooled: PooledChild | undefined
  /** Ids of the child's asks relayed for this call and not yet answered (forgotten with the call). */
  readonly asks = new Set<string>()
  #phase: Phase = 'waiting'
  #host: CallHost
  /** Aborted when the call ends while it waits for a child: it leaves the queue. Made only for a call that waits. */
  #waiting: AbortController | undefined

  constructor(caller: UpstreamCaller, request: JsonRpcRequest, hold: Hold, client: CallClient, host: CallHost) {
    this.caller = caller
    this.id = request.id
    this.request = request
    this.hold = hold
    this.client = client
    this.#host = host
  }

  get streaming(): boolean {
    return this.caller.streaming
  }

  get scope(): TapScope | undefined {
    return this.caller.scope
  }

  get done(): boolean {
    return this.#phase === 'done'
  }

  /** Aborted if the call ends before it has a child. */
  get signal(): AbortSignal {
    this.#waiting ??= new AbortController()
    return this.#waiting.signal
  }

  /** It has its child: the request is on its way. */
  running(pooled: PooledChild): void {
    this.pooled = pooled
    if (this.#phase === 'waiting') this.#phase = 'running'
  }

  // --- from the child, through the Upstream

  deliver(message: JsonRpcMessage, text: string): void {
    if (this.#phase === 'done') return
    // A timeout is the proxy's cancellation: the child may still be at work on the call.
    if (!('method' in message)) this.#end('error' in message && message.error.code === ErrorCode.RequestTimeout)
    this.caller.deliver(message, text)
  }

  abandon(id: JsonRpcId): void {
    if (this.#phase === 'done') return
    this.#end(true)
    this.caller.abandon(id)
  }

  // --- from the client's side

  /** The client gave up the request: the child is told (with its own id), the caller answers nothing more. */
  cancel(reason: string): void {
    if (this.#phase === 'done') return
    this.pooled?.child.cancel(this, this.id, reason)
    this.#end(true)
    this.caller.abandon(this.id)
  }

  /** The request fails with `message` (its session ended, or no child could be had); the child is told to stop. */
  fail(message: string, code: number = ErrorCode.InternalError): void {
    if (this.#phase === 'done') return
    if (this.#phase === 'running') this.pooled?.child.cancel(this, this.id, message)
    const wasRunning = this.#phase === 'running'
    this.#end(wasRunning)
    const error = errorResponse(this.id, code, message)
    this.caller.deliver(error, JSON.stringify(error))
  }

  #end(cancelled: boolean): void {
    const wasWaiting = this.#phase === 'waiting'
    this.#phase = 'done'
    if (wasWaiting) this.#waiting?.abort()
    else this.#host.end(this, cancelled)
  }
}
