import type {
  JsonRpcErrorResponse,
  JsonRpcId,
  JsonRpcNotification,
  JsonRpcRequest,
  JsonRpcResponse,
} from './schemas.js'

/** One JSON-RPC message and what it is. */
export type ClassifiedMessage =
  | { kind: 'request'; message: JsonRpcRequest }
  | { kind: 'notification'; message: JsonRpcNotification }
  | { kind: 'response'; message: JsonRpcResponse }
  | { kind: 'invalid'; reason: string; id: JsonRpcId | null }

/** A parsed JSON value: one message, a batch of them, or something that is not JSON-RPC. */
export type Classified = ClassifiedMessage | { kind: 'batch'; messages: ClassifiedMessage[] }

function isId(value: unknown): value is JsonRpcId {
  return typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))
}

function isParams(value: unknown): boolean {
  return value === undefined || (typeof value === 'object' && value !== null)
}

// Hand-written for speed on the hot path; kept equivalent to the TypeBox schemas by a property test.
/** Classify one parsed JSON value (not a batch) as a JSON-RPC request, notification, response or invalid. */
export function classifyMessage(value: unknown): ClassifiedMessage {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { kind: 'invalid', reason: 'a JSON-RPC message must be an object', id: null }
  }
  const m = value as Record<string, unknown>
  const id = isId(m.id) ? m.id : null
  if (m.jsonrpc !== '2.0') return { kind: 'invalid', reason: 'jsonrpc must be "2.0"', id }
  if ('method' in m) {
    if (typeof m.method !== 'string') return { kind: 'invalid', reason: 'method must be a string', id }
    if (!isParams(m.params)) return { kind: 'invalid', reason: 'params must be an object or an array', id }
    if (!('id' in m)) return { kind: 'notification', message: value as JsonRpcNotification }
    if (!isId(m.id)) return { kind: 'invalid', reason: 'id must be a string or a number', id: null }
    return { kind: 'request', message: value as JsonRpcRequest }
  }
  if ('result' in m || 'error' in m) {
    if ('result' in m && 'error' in m) return { kind: 'invalid', reason: 'a response has result or error, not both', id }
    if ('error' in m) {
      const e = m.error as Record<string, unknown> | null
      if (typeof e !== 'object' || e === null || !Number.isInteger(e.code) || typeof e.message !== 'string') {
        return { kind: 'invalid', reason: 'error must have an integer code and a string message', id }
      }
      if (m.id !== null && !isId(m.id)) return { kind: 'invalid', reason: 'id must be a string, a number or null', id: null }
      return { kind: 'response', message: value as JsonRpcErrorResponse }
    }
    if (!isId(m.id)) return { kind: 'invalid', reason: 'id must be a string or a number', id: null }
    return { kind: 'response', message: value as JsonRpcResponse }
  }
  return { kind: 'invalid', reason: 'not a request, notification or response', id }
}

/** Classify a parsed JSON value: a single message, or a batch (a non-empty array) of them. */
export function classify(value: unknown): Classified {
  if (Array.isArray(value)) {
    if (value.length === 0) return { kind: 'invalid', reason: 'an empty batch is not allowed', id: null }
    return { kind: 'batch', messages: value.map(classifyMessage) }
  }
  return classifyMessage(value)
}
