import { classify, type ClassifiedMessage } from '../jsonrpc/classify.js'
import { ErrorCode, errorResponse } from '../jsonrpc/errors.js'
import type { JsonRpcId, JsonRpcMessage, JsonRpcNotification, JsonRpcRequest, JsonRpcResponse } from '../jsonrpc/schemas.js'
import { trySerialize } from '../jsonrpc/serialize.js'
import type { Logger } from '../logger.js'
import type { LineEdges } from '../framing/line-splitter.js'
import { readOversizedLine } from './oversized-line.js'
import type { ToolFilter } from './tool-filter.js'
import { targetOf, type RequestOutcome, type Tap, type TapScope } from '../tap/tap.js'

/** Whoever sent a request through the Upstream: a session's request stream, or one stateless HTTP request. */
export interface UpstreamCaller {
  /** A response to one of this caller's requests (its own id restored), or progress for one of its tokens. */
  deliver(message: JsonRpcMessage, text: string): void
  /** A request of this caller will get no answer (the client cancelled it). */
  abandon(id: JsonRpcId): void
  /** Can take server→client requests and notifications right now (an open SSE stream). */
  readonly streaming: boolean
  /** Whose requests these are, for the tap (metrics, traces, audit). */
  readonly scope?: TapScope | undefined
}

/** Where the Upstream writes: a child's stdin. */
export interface UpstreamTransport {
  send(text: string): boolean
}

export interface UpstreamOptions {
  transport: UpstreamTransport
  /** Rewrite every request id and progress token (required when several clients share one child). */
  shared: boolean
  /** A request with no answer and no progress for this long fails, and the child is told to cancel it. */
  requestTimeoutMs: number
  /** Progress resets the timeout, but never past this total. */
  maxRequestTimeoutMs: number
  /** Messages from the child that belong to no request: server→client requests and notifications. */
  onUnrouted: (message: JsonRpcRequest | JsonRpcNotification, text: string) => void
  /** Where every message and finished request is reported (nothing is built while nobody listens). */
  tap?: Tap
  /** Tools hidden from clients (left out of `tools/list`, refused on `tools/call`). */
  toolFilter?: ToolFilter
  logger: Logger
}

interface Pending {
  caller: UpstreamCaller
  originalId: JsonRpcId
  upstreamId: JsonRpcId
  method: string
  token: string | number | undefined
  upstreamToken: string | number | undefined
  started: number
  deadline: number
  hardDeadline: number
  /** The tool, prompt or resource it names (kept only while the tap listens). */
  target: string | undefined
  /** UTF-8 bytes of the request line written to the child (counted only while the tap listens). */
  requestBytes: number | undefined
}

/** Why the Upstream stopped; every request in flight is answered with this. */
export interface UpstreamClosed {
  message: string
  data?: unknown
}

const ID_PREFIX = 'mcp-proxy:'
/** The longest delay a Node timer takes as given. */
const MAX_TIMER_MS = 2 ** 31 - 1

function progressTokenOf(message: JsonRpcRequest): string | number | undefined {
  const params = message.params as { _meta?: { progressToken?: unknown } } | undefined
  const token = params?._meta?.progressToken
  return typeof token === 'string' || typeof token === 'number' ? token : undefined
}

function withIds(message: JsonRpcRequest, id: JsonRpcId, token: string | number | undefined): JsonRpcRequest {
  if (token === undefined) return { ...message, id }
  const params = message.params as Record<string, unknown> & { _meta: Record<string, unknown> }
  return { ...message, id, params: { ...params, _meta: { ...params._meta, progressToken: token } } }
}

/**
 * A JSON-RPC peer over one child process that many callers can share. Request ids and progress tokens
 * are rewritten where they could collide; answers, progress and timeouts go back to the caller that owns
 * them with its own ids. Messages that pass through unchanged are forwarded as the exact text received.
 */
export class Upstream {
  #options: UpstreamOptions
  #pending = new Map<JsonRpcId, Pending>()
  #tokens = new Map<string | number, Pending>()
  #seq = 0
  /** One timer, armed for the earliest deadline of the requests in flight. */
  #timer: NodeJS.Timeout | undefined
  #timerAt = Infinity
  #closed: UpstreamClosed | undefined

  constructor(options: UpstreamOptions) {
    this.#options = options
  }

  /** Requests sent and not yet answered. */
  get pendingCount(): number {
    return this.#pending.size
  }

  get closed(): boolean {
    return this.#closed !== undefined
  }

  /** Send a request for `caller`; its answer comes back through `caller.deliver`, always exactly once or `abandon`. */
  request(caller: UpstreamCaller, message: JsonRpcRequest, text?: string, timeoutMs?: number): void {
    const tap = this.#options.tap
    if (tap?.decorating) {
      const decorated = tap.decorateRequest(message, caller.scope)
      if (decorated !== message) text = undefined
      message = decorated
    }
    if (this.#closed) {
      caller.deliver(...this.#error(message.id, ErrorCode.ConnectionClosed, this.#closed.message, this.#closed.data))
      return
    }
    const refusal = this.#options.toolFilter?.refusal(message)
    if (refusal) {
      caller.deliver(...this.#error(message.id, refusal.code, refusal.message))
      return
    }
    const shared = this.#options.shared
    const token = progressTokenOf(message)
    const upstreamId = shared || this.#pending.has(message.id) ? this.#fresh(this.#pending, '') : message.id
    const upstreamToken = token !== undefined && (shared || this.#tokens.has(token)) ? this.#fresh(this.#tokens, 't') : token
    const rewritten = upstreamId !== message.id || upstreamToken !== token
    const out = rewritten ? trySerialize(withIds(message, upstreamId, upstreamToken)) : (text ?? trySerialize(message))
    if (out === undefined) {
      // Only a pathological message (nested deeper than the stack) fails to serialize: refuse it alone.
      caller.deliver(...this.#error(message.id, ErrorCode.InvalidRequest, 'The request could not be forwarded: it is nested too deeply to serialize'))
      return
    }

    const now = Date.now()
    const timeout = timeoutMs ?? this.#options.requestTimeoutMs
    const entry: Pending = {
      caller,
      originalId: message.id,
      upstreamId,
      method: message.method,
      token,
      upstreamToken,
      started: now,
      deadline: now + timeout,
      hardDeadline: now + Math.max(timeout, this.#options.maxRequestTimeoutMs),
      target: tap?.active ? targetOf(message) : undefined,
      requestBytes: tap?.active ? Buffer.byteLength(out) : undefined,
    }
    this.#pending.set(upstreamId, entry)
    if (upstreamToken !== undefined) this.#tokens.set(upstreamToken, entry)
    if (!this.#options.transport.send(out)) {
      this.#forget(entry)
      this.#done(entry, 'child-gone', ErrorCode.InternalError)
      caller.deliver(...this.#error(message.id, ErrorCode.InternalError, 'The MCP server is not accepting input (it exited or stopped reading stdin)'))
      return
    }
    if (tap?.active) tap.emit({ type: 'to-child', message, scope: caller.scope })
    this.#arm(entry.deadline)
  }

  /**
   * Give a request of `caller` `ms` more from now before it times out (a call parked while its client
   * decides takes as long as the client may). False when it is not in flight.
   */
  extend(caller: UpstreamCaller, id: JsonRpcId, ms: number): boolean {
    for (const entry of this.#pending.values()) {
      if (entry.caller !== caller || entry.originalId !== id) continue
      entry.deadline = Date.now() + ms
      entry.hardDeadline = Math.max(entry.hardDeadline, entry.deadline)
      // Later than before needs nothing (the sweep re-arms); earlier arms the timer sooner.
      this.#arm(entry.deadline)
      return true
    }
    return false
  }

  /** The caller and own id of the request in flight under the child's id `upstreamId` (what a 2026 child's notifications name). */
  requestOf(upstreamId: JsonRpcId): { caller: UpstreamCaller; id: JsonRpcId } | undefined {
    const entry = this.#pending.get(upstreamId)
    return entry && { caller: entry.caller, id: entry.originalId }
  }

  /** The one caller with requests in flight, if there is exactly one (the likely cause of an unrelated message). */
  soleCaller(): UpstreamCaller | undefined {
    let sole: UpstreamCaller | undefined
    for (const entry of this.#pending.values()) {
      if (sole && entry.caller !== sole) return undefined
      sole = entry.caller
    }
    return sole
  }

  /** Forward a notification from a client. A `notifications/cancelled` is mapped to the request it names. */
  notify(message: JsonRpcNotification, text?: string): void {
    if (this.#closed) return
    if (message.method === 'notifications/cancelled') {
      this.#cancelFromClient(message)
      return
    }
    this.#sendMessage(message, text)
  }

  /**
   * The caller gave up on its request (its client went away, and in its protocol that is a cancellation):
   * forget it, and tell the child with the child's own id. False when it was no longer in flight.
   */
  cancel(caller: UpstreamCaller, id: JsonRpcId, reason: string): boolean {
    if (this.#closed) return false
    let found: Pending | undefined
    for (const entry of this.#pending.values()) {
      if (entry.caller === caller && entry.originalId === id) {
        found = entry
        break
      }
    }
    if (!found) return false
    this.#forget(found)
    this.#done(found, 'cancelled', undefined)
    this.#sendMessage({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: found.upstreamId, reason } })
    return true
  }

  /** Forward a client's answer to a request the child sent (sampling, elicitation, roots, ping). */
  respond(message: JsonRpcResponse, text?: string): void {
    if (this.#closed) return
    this.#sendMessage(message, text)
  }

  /** Take one parsed value from the child's stdout. */
  receive(value: unknown, text: string): void {
    const classified = classify(value)
    if (classified.kind === 'batch') {
      for (const item of classified.messages) this.#receiveMessage(item, undefined)
    } else {
      this.#receiveMessage(classified, text)
    }
  }

  /**
   * The child wrote a line longer than the line limit, so it was dropped unread. If it was an answer, the
   * request waiting for it fails now instead of at its timeout: the one its id names (read from the
   * line's edges), or else the one request in flight.
   */
  lineTooLong(edges: LineEdges, length: number, maxLineLength: number): void {
    const line = readOversizedLine(edges)
    if (line.kind !== 'response') return
    const named = line.id === undefined ? undefined : this.#pending.get(line.id)
    const entry = named ?? (line.id === undefined && this.#pending.size === 1 ? this.#pending.values().next().value : undefined)
    if (!entry) return
    this.#forget(entry)
    this.#done(entry, 'error', ErrorCode.InternalError)
    this.#options.logger.warn({ method: entry.method, id: entry.originalId, length, maxLineLength }, 'answer of the MCP server over the line limit; the request fails')
    entry.caller.deliver(
      ...this.#error(entry.originalId, ErrorCode.InternalError, `The MCP server's answer (${length} characters) is longer than the proxy's line limit (${maxLineLength}); raise maxLineLength`, {
        length,
        maxLineLength,
      }),
    )
  }

  /** The child is gone: answer every request in flight with an error saying so, and refuse new ones. */
  close(reason: UpstreamClosed): void {
    if (this.#closed) return
    this.#closed = reason
    this.#disarm()
    const pending = [...this.#pending.values()]
    this.#pending.clear()
    this.#tokens.clear()
    for (const entry of pending) {
      this.#done(entry, 'child-gone', ErrorCode.InternalError)
      entry.caller.deliver(...this.#error(entry.originalId, ErrorCode.InternalError, reason.message, reason.data))
    }
  }

  #receiveMessage(item: ClassifiedMessage, text: string | undefined): void {
    const tap = this.#options.tap
    if (tap?.active && item.kind !== 'invalid') tap.emit({ type: 'from-child', message: item.message, scope: undefined })
    switch (item.kind) {
      case 'response':
        return this.#receiveResponse(item.message, text)
      case 'notification':
        if (item.message.method !== 'notifications/progress') return this.#unrouted(item.message, text)
        // Progress may only name the token of an active request; a late one (its request was answered,
        // timed out or cancelled) is dropped rather than shown to a client whose call it is not about.
        if (!this.#receiveProgress(item.message, text)) this.#options.logger.debug({}, 'progress for a request that is no longer active; dropped')
        return
      case 'request':
        return this.#unrouted(item.message, text)
      case 'invalid':
        this.#options.logger.warn({ reason: item.reason }, 'MCP server wrote JSON that is not JSON-RPC; dropped')
    }
  }

  #receiveResponse(message: JsonRpcResponse, text: string | undefined): void {
    const entry = message.id === null ? undefined : this.#pending.get(message.id)
    if (!entry) {
      this.#options.logger.debug({ id: message.id }, 'MCP server answered a request that is not pending; dropped')
      return
    }
    this.#forget(entry)
    this.#done(entry, 'error' in message ? 'error' : 'ok', 'error' in message ? message.error.code : undefined, text)
    const filter = this.#options.toolFilter
    if (filter && entry.method === 'tools/list' && 'result' in message) {
      const result = filter.filterList(message.result)
      if (result !== message.result) {
        message = { ...message, result } as JsonRpcResponse
        text = undefined
      }
    }
    if (entry.originalId === entry.upstreamId && text !== undefined) return entry.caller.deliver(message, text)
    const restored = { ...message, id: entry.originalId } as JsonRpcResponse
    const restoredText = trySerialize(restored)
    if (restoredText !== undefined) return entry.caller.deliver(restored, restoredText)
    this.#options.logger.warn({ method: entry.method, id: entry.originalId }, 'answer of the MCP server nested too deeply to forward; the request fails')
    entry.caller.deliver(...this.#error(entry.originalId, ErrorCode.InternalError, "The MCP server's answer could not be forwarded: it is nested too deeply"))
  }

  #receiveProgress(message: JsonRpcNotification, text: string | undefined): boolean {
    const params = message.params as { progressToken?: string | number } | undefined
    const entry = params?.progressToken === undefined ? undefined : this.#tokens.get(params.progressToken)
    if (!entry) return false
    entry.deadline = Math.min(Date.now() + this.#options.requestTimeoutMs, entry.hardDeadline)
    // Usually later than before; earlier for a request sent with a longer timeout of its own.
    this.#arm(entry.deadline)
    if (entry.token === entry.upstreamToken && text !== undefined) {
      entry.caller.deliver(message, text)
      return true
    }
    const restored = { ...message, params: { ...params, progressToken: entry.token } }
    const restoredText = trySerialize(restored)
    if (restoredText !== undefined) entry.caller.deliver(restored, restoredText)
    else this.#options.logger.warn({ method: message.method }, 'progress notification nested too deeply to forward; dropped')
    return true
  }

  // A message of the child that answers no request, forwarded as the exact text when there is one (a
  // batch item has none and is serialized; one nested too deeply is refused alone).
  #unrouted(message: JsonRpcRequest | JsonRpcNotification, text: string | undefined): void {
    const out = text ?? trySerialize(message)
    if (out !== undefined) return this.#options.onUnrouted(message, out)
    this.#options.logger.warn({ method: message.method }, 'message of the MCP server nested too deeply to forward; dropped')
    if ('id' in message) this.#sendMessage(errorResponse(message.id, ErrorCode.InvalidRequest, 'The proxy could not forward this request: it is nested too deeply'))
  }

  // Write a client's message (or the proxy's own) to the child; one that cannot be serialized is dropped.
  #sendMessage(message: JsonRpcMessage, text?: string): void {
    const out = text ?? trySerialize(message)
    const tap = this.#options.tap
    if (out !== undefined && tap?.active) tap.emit({ type: 'to-child', message, scope: undefined })
    if (out !== undefined) this.#options.transport.send(out)
    else this.#options.logger.warn({ method: 'method' in message ? message.method : undefined }, 'message nested too deeply to forward to the MCP server; dropped')
  }

  #cancelFromClient(message: JsonRpcNotification): void {
    // With a shared child a cancellation cannot be tied to the caller that sent it (stateless requests
    // carry no identity), so it could cancel another client's request: it is not forwarded at all.
    if (this.#options.shared) {
      this.#options.logger.debug({}, 'client cancellation ignored: the child is shared (stateless mode)')
      return
    }
    const params = (message.params ?? {}) as { requestId?: JsonRpcId; reason?: string }
    const entry = this.#findByOriginalId(params.requestId)
    if (!entry) {
      // Not pending (already answered, or a cancellation of the child's own request): forward unchanged.
      this.#sendMessage(message)
      return
    }
    this.#forget(entry)
    this.#done(entry, 'cancelled', undefined)
    this.#sendMessage({ ...message, params: { ...params, requestId: entry.upstreamId } })
    entry.caller.abandon(entry.originalId)
  }

  #findByOriginalId(id: JsonRpcId | undefined): Pending | undefined {
    if (id === undefined) return undefined
    const direct = this.#pending.get(id)
    if (direct && direct.originalId === id) return direct
    let found: Pending | undefined
    for (const entry of this.#pending.values()) {
      if (entry.originalId !== id) continue
      if (found) return undefined // ambiguous between callers: cancel nothing rather than the wrong one
      found = entry
    }
    return found
  }

  /** A generated id that no request (or token) in flight uses, not even a client's own look-alike. */
  #fresh(inUse: Map<JsonRpcId, Pending>, kind: string): string {
    let id: string
    do id = `${ID_PREFIX}${kind}${++this.#seq}`
    while (inUse.has(id))
    return id
  }

  // A request left the Upstream: the tap hears how, how long it took, and the sizes of the request and
  // of the child's answer line (`answer`, when one came).
  #done(entry: Pending, outcome: RequestOutcome, errorCode: number | undefined, answer?: string): void {
    const tap = this.#options.tap
    if (!tap?.active) return
    const { method, target, originalId: id, caller, requestBytes } = entry
    const answerBytes = answer === undefined ? undefined : Buffer.byteLength(answer)
    tap.emit({ type: 'request-done', method, target, id, durationMs: Date.now() - entry.started, outcome, errorCode, requestBytes, answerBytes, scope: caller.scope })
  }

  #forget(entry: Pending): void {
    this.#pending.delete(entry.upstreamId)
    if (entry.upstreamToken !== undefined) this.#tokens.delete(entry.upstreamToken)
  }

  #error(id: JsonRpcId, code: number, message: string, data?: unknown): [JsonRpcResponse, string] {
    const response = errorResponse(id, code, message, data)
    return [response, JSON.stringify(response)]
  }

  // Arm the timer for `deadline` unless it already fires earlier. A deadline that moved later needs
  // nothing: the sweep finds that request not due yet and re-arms for the next one.
  #arm(deadline: number): void {
    if (deadline >= this.#timerAt) return
    clearTimeout(this.#timer)
    this.#timerAt = deadline
    // Node runs a delay past 2^31-1 ms at once: longer waits are taken in steps (the sweep re-arms).
    this.#timer = setTimeout(this.#sweep, Math.min(MAX_TIMER_MS, Math.max(0, deadline - Date.now())))
    this.#timer.unref()
  }

  #disarm(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#timerAt = Infinity
  }

  #sweep = (): void => {
    this.#disarm()
    const now = Date.now()
    let next = Infinity
    for (const entry of [...this.#pending.values()]) {
      if (now < entry.deadline) {
        next = Math.min(next, entry.deadline)
        continue
      }
      this.#forget(entry)
      this.#done(entry, 'timeout', ErrorCode.RequestTimeout)
      this.#options.logger.warn({ method: entry.method, id: entry.originalId }, 'request to the MCP server timed out')
      this.#sendMessage({
        jsonrpc: '2.0',
        method: 'notifications/cancelled',
        params: { requestId: entry.upstreamId, reason: 'The proxy timed out waiting for an answer' },
      })
      entry.caller.deliver(
        ...this.#error(entry.originalId, ErrorCode.RequestTimeout, `Request timed out: the MCP server did not answer ${entry.method} in time`, {
          waitedMs: now - entry.started,
        }),
      )
    }
    if (next !== Infinity && !this.#closed) this.#arm(next)
  }
}
