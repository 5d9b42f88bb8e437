import { ErrorCode, errorResponse } from '../jsonrpc/errors.js'
import type { JsonRpcId, JsonRpcMessage, JsonRpcNotification, JsonRpcRequest, JsonRpcResponse } from '../jsonrpc/schemas.js'
import type { Logger } from '../logger.js'
import { LOG_LEVELS } from '../modern/modern-call.js'
import type { SessionBackend, UnroutedHandler } from '../session/session-backend.js'
import type { UpstreamCaller, UpstreamClosed } from '../upstream/upstream.js'
import type { HubMember, SessionHub } from './session-hub.js'
import type { CallClient, SharedCall } from './shared-call.js'
import type { SharedChildren } from './shared-children.js'

/** Calls kept before the finished ones are swept out (a session has few in flight). */
const SWEEP_AT = 16

const SETTLED: Promise<void> = Promise.resolve()

/** What of the client's declared capabilities the children's asks depend on. */
interface Capabilities {
  sampling?: unknown
  elicitation?: unknown
}

function deliver(caller: UpstreamCaller, message: JsonRpcMessage): void {
  caller.deliver(message, JSON.stringify(message))
}

/**
 * One session's share of the shared children (shared mode). The proxy answers `initialize` from the
 * children's handshake and keeps the session's log level and subscriptions itself (see SessionHub); every
 * other request goes to the children, a call that may ask holding its child alone when this session's
 * client declared sampling or elicitation.
 */
export class SharedLink implements SessionBackend, CallClient, HubMember {
  readonly exited = SETTLED
  readonly gone = SETTLED
  readonly pid = undefined
  #children: SharedChildren
  #hub: SessionHub
  #logger: Logger
  #unrouted: UnroutedHandler
  #calls = new Set<SharedCall>()
  #capabilities: Capabilities = {}
  /** Requests the proxy answers itself that are still waiting for a child (a first subscription). */
  #local = 0
  #failed: UpstreamClosed | undefined

  constructor(children: SharedChildren, hub: SessionHub, logger: Logger) {
    this.#children = children
    this.#hub = hub
    this.#logger = logger
    this.#unrouted = (message) => logger.debug({ method: message.method }, 'MCP server message before initialize; dropped')
    hub.join(this)
  }

  // --- CallClient: what this session's calls may ask its client

  get askable(): boolean {
    return Boolean(this.#capabilities.sampling) || Boolean(this.#capabilities.elicitation)
  }

  canAsk(method: string): boolean {
    if (method === 'sampling/createMessage') return Boolean(this.#capabilities.sampling)
    if (method === 'elicitation/create') return Boolean(this.#capabilities.elicitation)
    return false
  }

  relay(message: JsonRpcRequest | JsonRpcNotification, text: string, call: SharedCall): void {
    if (message.method === 'notifications/message' && !this.#hub.admits(this, (message.params as { level?: unknown } | undefined)?.level)) return
    this.#unrouted(message, text, call.caller)
  }

  // --- HubMember

  notifyClient(message: JsonRpcNotification, text: string): void {
    this.#unrouted(message, text)
  }

  // --- SessionBackend

  get busy(): boolean {
    if (this.#local > 0) return true
    for (const call of this.#calls) if (!call.done) return true
    return false
  }

  request(caller: UpstreamCaller, message: JsonRpcRequest, text?: string, timeoutMs?: number): void {
    if (this.#failed) return deliver(caller, errorResponse(message.id, ErrorCode.ConnectionClosed, this.#failed.message))
    switch (message.method) {
      case 'initialize':
        return this.#initialize(caller, message)
      case 'logging/setLevel':
        return this.#setLevel(caller, message)
      case 'resources/subscribe':
      case 'resources/unsubscribe':
        return this.#subscription(caller, message)
    }
    if (this.#calls.size >= SWEEP_AT) for (const call of this.#calls) if (call.done) this.#calls.delete(call)
    const call = this.#children.call(caller, message, text, this, timeoutMs)
    if (!call.done) this.#calls.add(call)
  }

  respond(message: JsonRpcResponse): void {
    if (!this.#children.answer(message)) this.#logger.debug({ id: message.id }, 'client answered a request of the MCP server that no longer waits; dropped')
  }

  notify(message: JsonRpcNotification): void {
    if (message.method !== 'notifications/cancelled') {
      // initialized: the proxy initialized the children; roots: a shared child's roots are no client's.
      this.#logger.debug({ method: message.method }, 'client notification not forwarded (shared mode)')
      return
    }
    const params = (message.params ?? {}) as { requestId?: JsonRpcId; reason?: unknown }
    const reason = typeof params.reason === 'string' ? params.reason : 'The client cancelled the request'
    for (const call of this.#calls) if (!call.done && call.id === params.requestId) return call.cancel(reason)
  }

  fail(reason: UpstreamClosed): void {
    if (this.#failed) return
    this.#failed = reason
    for (const call of this.#calls) call.fail(reason.message)
    this.#calls.clear()
    this.#hub.leave(this)
  }

  setUnroutedHandler(handler: UnroutedHandler, logger?: Logger): void {
    this.#unrouted = handler
    if (logger) this.#logger = logger
  }

  /** Shared children never end with one session (a crashed one restarts): nothing to listen for. */
  onClosed(): void {}

  stop(): Promise<void> {
    this.#hub.leave(this)
    return SETTLED
  }

  // --- requests the proxy answers itself

  #initialize(caller: UpstreamCaller, message: JsonRpcRequest): void {
    const params = (message.params ?? {}) as { protocolVersion?: unknown; capabilities?: unknown }
    const capabilities = params.capabilities
    this.#capabilities = typeof capabilities === 'object' && capabilities !== null ? (capabilities as Capabilities) : {}
    const answer = this.#children.initializeAnswer(message.id, params.protocolVersion)
    deliver(caller, answer ?? errorResponse(message.id, ErrorCode.InternalError, `The MCP server is ${this.#children.primary.child.state}; retry shortly`))
  }

  #setLevel(caller: UpstreamCaller, message: JsonRpcRequest): void {
    const level = (message.params as { level?: unknown } | undefined)?.level
    const index = typeof level === 'string' ? LOG_LEVELS.indexOf(level) : -1
    if (index === -1) return deliver(caller, errorResponse(message.id, ErrorCode.InvalidParams, `Invalid log level: expected one of ${LOG_LEVELS.join(', ')}`))
    this.#hub.setLevel(this, index)
    deliver(caller, { jsonrpc: '2.0', id: message.id, result: {} })
  }

  #subscription(caller: UpstreamCaller, message: JsonRpcRequest): void {
    const uri = (message.params as { uri?: unknown } | undefined)?.uri
    if (typeof uri !== 'string') return deliver(caller, errorResponse(message.id, ErrorCode.InvalidParams, 'Invalid params: uri must be a string'))
    if (message.method === 'resources/unsubscribe') {
      this.#hub.unsubscribe(this, uri)
      return deliver(caller, { jsonrpc: '2.0', id: message.id, result: {} })
    }
    this.#local++
    void this.#hub.subscribe(this, uri).then((refusal) => {
      this.#local--
      if (this.#failed) return
      deliver(caller, refusal && 'error' in refusal ? { ...refusal, id: message.id } : { jsonrpc: '2.0', id: message.id, result: {} })
    })
  }
}
