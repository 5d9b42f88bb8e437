import { ErrorCode, errorResponse } from '../jsonrpc/errors.js'
import type { JsonRpcId, JsonRpcMessage, JsonRpcRequest } from '../jsonrpc/schemas.js'
import { trySerialize } from '../jsonrpc/serialize.js'
import type { TapScope } from '../tap/tap.js'
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
export const LOG_LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency']

/** What a call needs to put the child's answer on the 2026 wire. */
export interface CallContext {
  serverInfo: ServerInfo
  cache: CacheDefaults
  /** Whose requests these are, for the tap. */
  scope: TapScope
  /** The child's capabilities (a -32601 for a method it advertises is not a 404). */
  capabilities: Record<string, unknown>
  /** The child speaks 2026-07-28 itself: its answers pass through as they are (only the id restored). */
  passThrough: boolean
}

// The HTTP status of a final error while nothing was written: the ladder's codes keep their 400, an
// unknown method is 404, any other error is a 200 with the error in-band (as the SDK answers).
function statusOf(code: number, method?: string, capabilities: Record<string, unknown> = {}): number {
  if (code === ErrorCode.MethodNotFound) return advertises(capabilities, method) ? 200 : 404
  if (code === ErrorCode.HeaderMismatch || code === ErrorCode.MissingClientCapability || code === ErrorCode.UnsupportedProtocolVersion) return 400
  return 200
}

/** Methods a server has when it advertises their capability: its -32601 for one of them is an error of the call, not a missing method. */
const METHOD_CAPABILITY: Readonly<Record<string, string>> = { 'tools/call': 'tools', 'prompts/get': 'prompts', 'resources/read': 'resources' }

function advertises(capabilities: Record<string, unknown>, method: string | undefined): boolean {
  const capability = method === undefined ? undefined : METHOD_CAPABILITY[method]
  return capability !== undefined && typeof capabilities[capability] === 'object' && capabilities[capability] !== null
}

/**
 * The child's final answer to `request`, on the 2026 wire under the client's `id` (a retry's id differs from
 * the first request's): the text to write and the HTTP status it warrants while nothing was written.
 */
export function finalAnswer(request: JsonRpcRequest, id: JsonRpcId, message: JsonRpcMessage, text: string, context: CallContext): { text: string; status: number } {
  const { method, params } = request
  if (context.passThrough && id === request.id) return { text, status: 'error' in message ? statusOf(message.error.code, method, context.capabilities) : 200 }
  if ('error' in message) {
    const { error } = context.passThrough ? { error: message.error } : errorForModern(method, params, message.error)
    return serialized({ jsonrpc: '2.0', id, error }, statusOf(error.code, method, context.capabilities), id)
  }
  const result = (message as { result: unknown }).result
  if (typeof result !== 'object' || result === null || Array.isArray(result)) {
    return serialized(errorResponse(id, ErrorCode.InternalError, 'The MCP server answered with a result that is not an object'), 200, id)
  }
  const translated = context.passThrough ? result : resultForModern(method, result as Record<string, unknown>, context.serverInfo, context.cache)
  return serialized({ jsonrpc: '2.0', id, result: translated }, 200, id)
}

function serialized(response: JsonRpcMessage, status: number, id: JsonRpcId): { text: string; status: number } {
  const text = trySerialize(response)
  if (text !== undefined) return { text, status }
  return { text: JSON.stringify(errorResponse(id, ErrorCode.InternalError, "The MCP server's answer could not be forwarded: it is nested too deeply")), status: 200 }
}

/**
 * One 2026-07-28 request in flight on a child: receives the child's progress and answer through the
 * Upstream (ids restored) and writes them translated to its HTTP answer.
 */
export class ModernCall implements UpstreamCaller {
  /** Progress and permitted logs are events of the answer, which can always stream. */
  readonly streaming = true
  readonly id: JsonRpcId
  readonly scope: TapScope
  #request: JsonRpcRequest
  #logLevel: number
  #answer: ModernAnswer
  #context: CallContext
  #done = false

  constructor(request: JsonRpcRequest, logLevel: string | undefined, answer: ModernAnswer, context: CallContext) {
    this.id = request.id
    this.#request = request
    this.#logLevel = logLevelIndex(logLevel)
    this.#answer = answer
    this.#context = context
    this.scope = context.scope
  }

  /** The answer was written (or the call was given up). */
  get done(): boolean {
    return this.#done
  }

  /** The request asked for logs at `level` or above (a request without `logLevel` gets none). */
  wantsLog(level: unknown): boolean {
    return wantsLog(this.#logLevel, level)
  }

  deliver(message: JsonRpcMessage, text: string): void {
    if (this.#done) return
    if ('method' in message) return this.#answer.event(text)
    this.#done = true
    const answer = finalAnswer(this.#request, this.id, message, text, this.#context)
    this.#answer.finish(answer.text, answer.status)
  }

  abandon(): void {
    this.#done = true
  }
}

/** The position of a log level (Infinity for none: nothing is wanted). */
export function logLevelIndex(level: string | undefined): number {
  return level === undefined ? Infinity : LOG_LEVELS.indexOf(level)
}

/** A log at `level` is wanted by a request that asked for `wanted` (an index) or lower. */
export function wantsLog(wanted: number, level: unknown): boolean {
  const index = typeof level === 'string' ? LOG_LEVELS.indexOf(level) : -1
  return index !== -1 && index >= wanted
}
