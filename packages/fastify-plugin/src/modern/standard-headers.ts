// The standard request headers of the 2026-07-28 revision (`MCP-Protocol-Version`, `Mcp-Method`,
// `Mcp-Name`) checked against the body they mirror, and the `=?base64?…?=` value encoding that `Mcp-Name`
// and `Mcp-Param-*` share. Intermediaries route on these headers while the child executes the body, so the
// two must never disagree. Every check returns a reason (answered 400 -32020 by the caller) or undefined.
import type { IncomingHttpHeaders } from 'node:http'
import { PROTOCOL_VERSION_META_KEY, type JsonRpcNotification, type JsonRpcRequest } from '@proxy/core'

/** The body field `Mcp-Name` mirrors, per method. The `tasks/*` rows are SEP-2663's, kept so we agree with the SDK. */
const NAME_SOURCE: ReadonlyMap<string, 'name' | 'uri' | 'taskId'> = new Map([
  ['tools/call', 'name'],
  ['prompts/get', 'name'],
  ['resources/read', 'uri'],
  ['tasks/get', 'taskId'],
  ['tasks/update', 'taskId'],
  ['tasks/cancel', 'taskId'],
])

const SENTINEL_PREFIX = '=?base64?'
const SENTINEL_SUFFIX = '?='
// RFC 4648 §4 with its padding required: `SGVsbG8` (no `=`) and `SGVs!!!bG8=` are both malformed.
const CANONICAL_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true })

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Strip RFC 9110 optional whitespace (SP, HTAB) around a field value; other whitespace is part of the value. */
function trimOws(value: string): string {
  return value.replace(/^[ \t]+|[ \t]+$/g, '')
}

/**
 * One header's value, OWS-trimmed, or undefined when absent. Names are matched case-insensitively: Node
 * lower-cases them, but a hand-built headers object (a test, another adapter) may not. Repeated fields are
 * joined with ", " as RFC 9110 §5.3 combines them, so a duplicated header never equals a single body value.
 */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const lower = name.toLowerCase()
  let raw = headers[lower]
  if (raw === undefined) {
    const key = Object.keys(headers).find((k) => k.toLowerCase() === lower)
    raw = key === undefined ? undefined : headers[key]
  }
  if (raw === undefined) return undefined
  return trimOws(Array.isArray(raw) ? raw.join(', ') : raw)
}

/** The exact, case-sensitive `=?base64?` prefix and `?=` suffix, not overlapping. */
function isSentinel(raw: string): boolean {
  return raw.length >= SENTINEL_PREFIX.length + SENTINEL_SUFFIX.length && raw.startsWith(SENTINEL_PREFIX) && raw.endsWith(SENTINEL_SUFFIX)
}

/**
 * Decode a header value that may carry the Base64 sentinel. Only the exact, case-sensitive prefix and
 * suffix make a sentinel; anything else is a literal and comes back unchanged. A sentinel whose payload is
 * not canonical, padded Base64 of valid UTF-8 is malformed: undefined (the spec requires rejecting it).
 */
export function decodeHeaderValue(raw: string): string | undefined {
  if (!isSentinel(raw)) return raw
  const payload = raw.slice(SENTINEL_PREFIX.length, raw.length - SENTINEL_SUFFIX.length)
  if (!CANONICAL_BASE64.test(payload)) return undefined
  try {
    return STRICT_UTF8.decode(Buffer.from(payload, 'base64'))
  } catch {
    return undefined
  }
}

/** The revision a message's `params._meta` claims, when the claim key holds a string. */
function claimedVersion(message: JsonRpcRequest | JsonRpcNotification): string | undefined {
  const meta = isObject(message.params) ? message.params._meta : undefined
  const version = isObject(meta) ? meta[PROTOCOL_VERSION_META_KEY] : undefined
  return typeof version === 'string' ? version : undefined
}

/** A present `MCP-Protocol-Version` that differs from the body's claim (an absent one is judged later, by presence). */
export function checkVersionHeaderMatches(message: JsonRpcRequest | JsonRpcNotification, headers: IncomingHttpHeaders): string | undefined {
  const header = headerValue(headers, 'mcp-protocol-version')
  const claimed = claimedVersion(message)
  if (header === undefined || claimed === undefined || header === claimed) return undefined
  return `the body claims protocol version ${claimed} but the MCP-Protocol-Version header names ${header}`
}

/** A present `Mcp-Method` that differs from the body's method. Values are case-sensitive: `TOOLS/LIST` ≠ `tools/list`. */
export function checkMethodHeaderMatches(message: JsonRpcRequest | JsonRpcNotification, headers: IncomingHttpHeaders): string | undefined {
  const header = headerValue(headers, 'mcp-method')
  if (header === undefined || header === message.method) return undefined
  return `the body names method ${message.method} but the Mcp-Method header names ${header}`
}

/**
 * `Mcp-Name` against `params.name` / `params.uri` / `params.taskId` for the methods that carry one. Required
 * only while the body holds the value (a body without it is the child's -32602 to give); when present it
 * must decode and equal that value.
 */
function checkNameHeader(message: JsonRpcRequest, headers: IncomingHttpHeaders): string | undefined {
  const field = NAME_SOURCE.get(message.method)
  if (field === undefined) return undefined
  const raw = isObject(message.params) ? message.params[field] : undefined
  const bodyValue = typeof raw === 'string' ? raw : undefined
  const header = headerValue(headers, 'mcp-name')
  if (header === undefined) {
    return bodyValue === undefined ? undefined : `the body carries params.${field} but the required Mcp-Name header is absent`
  }
  const decoded = decodeHeaderValue(header)
  if (decoded === undefined) return 'the Mcp-Name header carries a malformed =?base64?…?= value'
  if (bodyValue !== undefined && decoded !== bodyValue) {
    return `the body carries params.${field}=${JSON.stringify(bodyValue)} but the Mcp-Name header names ${JSON.stringify(decoded)}`
  }
  return undefined
}

/**
 * The whole standard-header rung for one modern message, in the spec's order: `MCP-Protocol-Version`,
 * `Mcp-Method`, then `Mcp-Name`. A request must carry the first two; a notification is exempt from presence
 * (the revision defines no header rules for notification POSTs) but a header it does send must still agree.
 */
export function checkStandardHeaders(message: JsonRpcRequest | JsonRpcNotification, headers: IncomingHttpHeaders): string | undefined {
  const isRequest = 'id' in message
  if (isRequest && headerValue(headers, 'mcp-protocol-version') === undefined) {
    return 'the required MCP-Protocol-Version header is absent'
  }
  const version = checkVersionHeaderMatches(message, headers)
  if (version !== undefined) return version
  if (isRequest && headerValue(headers, 'mcp-method') === undefined) {
    return `the body names method ${message.method} but the required Mcp-Method header is absent`
  }
  const method = checkMethodHeaderMatches(message, headers)
  if (method !== undefined) return method
  return isRequest ? checkNameHeader(message, headers) : undefined
}
