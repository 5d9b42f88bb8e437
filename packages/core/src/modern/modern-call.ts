import { ErrorCode, errorResponse } from '../jsonrpc/errors.js'
import type { JsonRpcId, JsonRpcMessage, JsonRpcRequest } from '../jsonrpc/schemas.js'
import { trySerialize } from '../jsonrpc/serialize.js'
import type { UpstreamCaller } from '../upstream/upstream.js'
import { errorForModern, resultForModern, type CacheDefaults, type ServerInfo } from './translate.js'

/**
 * The HTTP answer to one 2026-07-28 request. It starts undecided: the final response alone is a JSON body
 * with the status it warrants; the first event (progress, a permitted log) commits it to an SSE stream,
 * after which every status is 200 and errors stay in-band.
 */
export interface ModernAnswer {
  readonly open: boolean
  /** A notification of the call: written as an SSE event (the answer becomes a stream if it was not one). */
  event(text: string): void
  /** The final response. `status` applies only if nothing was written yet. */
  finish(text: string, status: number): void
  /** Called once when the connection closes, whoever closed it. */
  onClose(listener: () => void): void
}

/** Log levels of MCP, least severe first (RFC 5424 order). */
const LOG_LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency']

/** What a call needs to put the child's answer on the 2026 wire. */
export interface CallContext {
  serverInfo: ServerInfo
  cache: CacheDefaults
  /** The child speaks 2026-07-28 itself: its answers pass through as they are (only the id restored). */
  passThrough: boolean
}

// The HTTP status of a final error while nothing was written: the ladder's codes keep their 400, an
// unknown method is 404, any other error is a 200 with the error in-band (as the SDK answers).
function statusOf(code: number): number {
  if (code === ErrorCode.MethodNotFound) return 404
  if (code === ErrorCode.HeaderMismatch || code === ErrorCode.MissingClientCapability || code === ErrorCode.UnsupportedProtocolVersion) return 400
  return 200
}

/**
 * One 2026-07-28 request in flight on a child: receives the child's progress and answer through the
 * Upstream (ids restored) and writes them translated to its HTTP answer.
 */
export class ModernCall implements UpstreamCaller {
  /** Progress and permitted logs are events of the answer, which can always stream. */
  readonly streaming = true
  readonly id: JsonRpcId
  #request: JsonRpcRequest
  #logLevel: number
  #answer: ModernAnswer
  #context: CallContext
  #done = false

  constructor(request: JsonRpcRequest, logLevel: string | undefined, answer: ModernAnswer, context: CallContext) {
    this.id = request.id
    this.#request = request
    this.#logLevel = logLevel === undefined ? Infinity : LOG_LEVELS.indexOf(logLevel)
    this.#answer = answer
    this.#context = context
  }

  /** The answer was written (or the call was given up). */
  get done(): boolean {
    return this.#done
  }

  /** The request asked for logs at `level` or above (a request without `logLevel` gets none). */
  wantsLog(level: unknown): boolean {
    const index = typeof level === 'string' ? LOG_LEVELS.indexOf(level) : -1
    return index !== -1 && index >= this.#logLevel
  }

  deliver(message: JsonRpcMessage, text: string): void {
    if (this.#done) return
    if ('method' in message) return this.#answer.event(text)
    this.#done = true
    const { method, params } = this.#request
    if (this.#context.passThrough) return this.#answer.finish(text, 'error' in message ? statusOf(message.error.code) : 200)
    if ('error' in message) {
      const { error } = errorForModern(method, params, message.error)
      return this.#finish({ jsonrpc: '2.0', id: this.id, error }, statusOf(error.code))
    }
    const result = (message as { result: unknown }).result
    if (typeof result !== 'object' || result === null || Array.isArray(result)) {
      return this.#finish(errorResponse(this.id, ErrorCode.InternalError, 'The MCP server answered with a result that is not an object'), 200)
    }
    const translated = resultForModern(method, result as Record<string, unknown>, this.#context.serverInfo, this.#context.cache)
    this.#finish({ jsonrpc: '2.0', id: this.id, result: translated }, 200)
  }

  abandon(): void {
    this.#done = true
  }

  #finish(response: JsonRpcMessage, status: number): void {
    const text = trySerialize(response)
    if (text !== undefined) return this.#answer.finish(text, status)
    const error = errorResponse(this.id, ErrorCode.InternalError, "The MCP server's answer could not be forwarded: it is nested too deeply")
    this.#answer.finish(JSON.stringify(error), 200)
  }
}
