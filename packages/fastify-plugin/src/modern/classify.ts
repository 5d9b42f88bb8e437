// The era classifier at the HTTP edge (modern-leg.md §2.a): one parsed POST body and its headers in, one
// verdict out — the 2025 session machinery takes it untouched, the 2026-07-28 ("modern") leg serves it, or
// it is refused with the ladder's status and JSON-RPC error. Body-first, as the SDK's
// `classifyInboundRequest`: the `MCP-Protocol-Version` header never changes an era the body decided, it is
// only cross-checked. Then the ladder's first two rungs for a modern message: an unsupported revision
// (-32022) and the standard headers (-32020). Pure: no I/O, no throwing, so the routes stay thin.
import type { IncomingHttpHeaders } from 'node:http'
import {
  classifyMessage,
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  ErrorCode,
  LOG_LEVEL_META_KEY,
  MODERN_PROTOCOL_VERSION,
  PROTOCOL_VERSION_META_KEY,
  type JsonRpcId,
  type JsonRpcNotification,
  type JsonRpcRequest,
} from '@proxy/core'
import { checkMethodHeaderMatches, checkStandardHeaders, checkVersionHeaderMatches, headerValue } from './standard-headers.js'

// The `_meta` keys and the revision are core's (the translations use them too); named here for the edge.
export { CLIENT_CAPABILITIES_META_KEY, CLIENT_INFO_META_KEY, LOG_LEVEL_META_KEY, MODERN_PROTOCOL_VERSION, PROTOCOL_VERSION_META_KEY }
export const MODERN_SUPPORTED_VERSIONS = [MODERN_PROTOCOL_VERSION] as const

const LOG_LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

/** The 2026-07-28 per-request envelope, read from params._meta. */
export interface ModernEnvelope {
  protocolVersion: string
  clientInfo: { name: string; version: string; [key: string]: unknown } | undefined
  clientCapabilities: Record<string, unknown>
  logLevel: LogLevel | undefined
}

export type EraOutcome =
  | { era: 'legacy' } // the 2025 session machinery handles it, untouched
  | { era: 'modern'; kind: 'request'; message: JsonRpcRequest; envelope: ModernEnvelope }
  | { era: 'modern'; kind: 'notification'; message: JsonRpcNotification } // answered 202, dropped
  | { era: 'rejected'; status: 400 | 404; code: number; message: string; id: JsonRpcId | null; data?: unknown }

type Rejection = Extract<EraOutcome, { era: 'rejected' }>
type Meta = Record<string, unknown>

const LEGACY: EraOutcome = { era: 'legacy' }

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Every refusal here is a 400 with the id echoed when there is one; the 404s are the routes' (rung 4). */
function reject(code: number, message: string, id: JsonRpcId | null, data?: unknown): Rejection {
  const rejection: Rejection = { era: 'rejected', status: 400, code, message, id }
  return data === undefined ? rejection : { ...rejection, data }
}

/** -32020 with the SDK's message prefix, so clients that pattern-match on it see the same text. */
function headerMismatch(reason: string, id: JsonRpcId | null): Rejection {
  return reject(ErrorCode.HeaderMismatch, `Bad Request: the request headers and body disagree: ${reason}`, id)
}

/** Revisions are ISO dates, so anything sorting at or after 2026-07-28 (even `v999.0.0`) is a modern one. */
function isModernVersion(version: string): boolean {
  return version >= MODERN_PROTOCOL_VERSION
}

/** `params._meta`, when it is an object. */
function metaOf(params: unknown): Meta | undefined {
  return isObject(params) && isObject(params._meta) ? params._meta : undefined
}

/** A claim is the protocol-version key's presence alone; whether the rest is valid is judged afterwards. */
function hasClaim(meta: Meta | undefined): meta is Meta {
  return meta !== undefined && Object.hasOwn(meta, PROTOCOL_VERSION_META_KEY)
}

// ---------------------------------------------------------------------------------------------------------
// The envelope. Rules and issue order are the SDK's RequestMetaEnvelopeSchema (a zod schema, written here as
// data): missing required keys first, then each member in the schema's order; unknown members pass. The
// first issue names the offending key as a dotted path (`…/clientCapabilities.roots.listChanged`).
// ---------------------------------------------------------------------------------------------------------

interface EnvelopeIssue { key: string; problem: string }
type Check = EnvelopeIssue | undefined
/** Checks one value found at `key`. */
type Checker = (value: unknown, key: string) => Check

const path = (key: string, member: string | number): string => (key === '' ? String(member) : `${key}.${member}`)

const isString: Checker = (value, key) => (typeof value === 'string' ? undefined : { key, problem: 'expected a string' })
const isBoolean: Checker = (value, key) => (typeof value === 'boolean' ? undefined : { key, problem: 'expected a boolean' })
const isJsonObject: Checker = (value, key) => (isObject(value) ? undefined : { key, problem: 'expected an object' })
const isProgressToken: Checker = (value, key) =>
  typeof value === 'string' || Number.isInteger(value) ? undefined : { key, problem: 'expected a string or an integer' }

function oneOf(...allowed: readonly string[]): Checker {
  return (value, key) => (allowed.includes(value as string) ? undefined : { key, problem: `expected one of ${allowed.join(', ')}` })
}

function arrayOf(item: Checker): Checker {
  return (value, key) => {
    if (!Array.isArray(value)) return { key, problem: 'expected an array' }
    for (const [index, entry] of value.entries()) {
      const issue = item(entry, path(key, index))
      if (issue !== undefined) return issue
    }
    return undefined
  }
}

/** A map of names to values (`experimental`, `extensions`). */
function recordOf(item: Checker): Checker {
  return (value, key) => {
    if (!isObject(value)) return { key, problem: 'expected a record' }
    for (const [name, entry] of Object.entries(value)) {
      const issue = item(entry, path(key, name))
      if (issue !== undefined) return issue
    }
    return undefined
  }
}

/** An object whose listed members are checked in order; an absent member passes unless it is required. */
function shape(members: ReadonlyArray<readonly [name: string, check: Checker, required?: 'required']>): Checker {
  return (value, key) => {
    if (!isObject(value)) return { key, problem: 'expected an object' }
    for (const [name, check, required] of members) {
      if (value[name] === undefined && required === undefined) continue
      const issue = check(value[name], path(key, name))
      if (issue !== undefined) return issue
    }
    return undefined
  }
}

const ICON = shape([['src', isString, 'required'], ['mimeType', isString], ['sizes', arrayOf(isString)], ['theme', oneOf('light', 'dark')]])

/** `clientInfo` is an Implementation: name and version required. */
const IMPLEMENTATION = shape([
  ['name', isString, 'required'],
  ['title', isString],
  ['icons', arrayOf(ICON)],
  ['version', isString, 'required'],
  ['websiteUrl', isString],
  ['description', isString],
])

/** The 2026 ClientCapabilities: only its known members are typed; unknown ones (even 2025's `tasks`) pass. */
const CLIENT_CAPABILITIES = shape([
  ['experimental', recordOf(isJsonObject)],
  ['sampling', shape([['context', isJsonObject], ['tools', isJsonObject]])],
  ['elicitation', shape([['form', shape([['applyDefaults', isBoolean]])], ['url', isJsonObject]])],
  ['roots', shape([['listChanged', isBoolean]])],
  ['extensions', recordOf(isJsonObject)],
])

/** The envelope schema also types `progressToken`, so a fractional one is an envelope issue too. */
const ENVELOPE = shape([
  ['progressToken', isProgressToken],
  [PROTOCOL_VERSION_META_KEY, isString, 'required'],
  [CLIENT_INFO_META_KEY, IMPLEMENTATION],
  [CLIENT_CAPABILITIES_META_KEY, CLIENT_CAPABILITIES, 'required'],
  [LOG_LEVEL_META_KEY, oneOf(...LOG_LEVELS)],
])

/** The first problem with a claimed envelope, or undefined when it is valid. A missing key is reported first. */
function envelopeIssue(meta: Meta): Check {
  for (const key of [PROTOCOL_VERSION_META_KEY, CLIENT_CAPABILITIES_META_KEY]) {
    if (!Object.hasOwn(meta, key)) return { key, problem: 'missing' }
  }
  return ENVELOPE(meta, '')
}

/** The envelope of a meta that `envelopeIssue` passed: the casts are what that check proved. */
function envelopeOf(meta: Meta): ModernEnvelope {
  return {
    protocolVersion: meta[PROTOCOL_VERSION_META_KEY] as string,
    clientInfo: meta[CLIENT_INFO_META_KEY] as ModernEnvelope['clientInfo'],
    clientCapabilities: meta[CLIENT_CAPABILITIES_META_KEY] as Record<string, unknown>,
    logLevel: meta[LOG_LEVEL_META_KEY] as LogLevel | undefined,
  }
}

/** -32602 naming the key, so a client can tell which part of its envelope to fix. */
function invalidEnvelope(issue: EnvelopeIssue, id: JsonRpcId | null): Rejection {
  return reject(
    ErrorCode.InvalidParams,
    `Invalid _meta envelope for protocol revision ${MODERN_PROTOCOL_VERSION}: ${issue.key}: ${issue.problem}`,
    id,
    { envelope: issue.key },
  )
}

/** Only a valid claim naming a modern revision turns `initialize` (the legacy handshake) into a modern request. */
function carriesValidModernClaim(meta: Meta | undefined): boolean {
  if (!hasClaim(meta)) return false
  const version = meta[PROTOCOL_VERSION_META_KEY]
  return typeof version === 'string' && isModernVersion(version) && envelopeIssue(meta) === undefined
}

// ---------------------------------------------------------------------------------------------------------
// The ladder rungs after classification (SDK order: the supported-revision gate, then standard headers).
// ---------------------------------------------------------------------------------------------------------

/** Rung 1: a modern message naming a revision we do not serve gets the list of those we do. */
function unsupportedVersion(requested: string, id: JsonRpcId | null): Rejection | undefined {
  if ((MODERN_SUPPORTED_VERSIONS as readonly string[]).includes(requested)) return undefined
  return reject(ErrorCode.UnsupportedProtocolVersion, `Unsupported protocol version: ${requested}`, id, {
    supported: [...MODERN_SUPPORTED_VERSIONS],
    requested,
  })
}

// ---------------------------------------------------------------------------------------------------------
// The table, one body shape at a time.
// ---------------------------------------------------------------------------------------------------------

/** A batch is 2025-only: empty, carrying any claim, or holding an invalid element, it is refused whole. */
function classifyBatch(items: readonly unknown[]): EraOutcome {
  if (items.length === 0) return reject(ErrorCode.InvalidRequest, 'Bad Request: empty JSON-RPC batch', null)
  for (const item of items) {
    if (hasClaim(metaOf(isObject(item) ? item.params : undefined))) {
      return reject(ErrorCode.InvalidRequest, `Bad Request: a JSON-RPC batch may not carry a ${MODERN_PROTOCOL_VERSION} request`, null)
    }
    if (classifyMessage(item).kind === 'invalid') {
      return reject(ErrorCode.InvalidRequest, 'Bad Request: the JSON-RPC batch holds an invalid message', null)
    }
  }
  return LEGACY
}

/** A request with no claim: legacy, unless the header says modern (then its missing envelope keys are named). */
function classifyUnclaimedRequest(message: JsonRpcRequest, headerVersion: string | undefined): EraOutcome {
  if (headerVersion === undefined || !isModernVersion(headerVersion)) return LEGACY
  const meta = metaOf(message.params)
  const missing = meta === undefined
    ? ['_meta']
    : [PROTOCOL_VERSION_META_KEY, CLIENT_CAPABILITIES_META_KEY].filter((key) => !Object.hasOwn(meta, key))
  return reject(
    ErrorCode.InvalidParams,
    `Invalid params: MCP-Protocol-Version names ${headerVersion}, but the request lacks the envelope key(s) ${missing.join(', ')}`,
    message.id,
    { envelope: missing[0], missing },
  )
}

/**
 * A request, in the SDK's order: the `initialize` rule; no claim → legacy (or -32602 under a modern header);
 * a claim's envelope (-32602), its header cross-checks (-32020); then rung 1 (-32022) and rung 2 (-32020).
 * The cross-checks come before -32022 so a header of 2026-07-28 over a `v999.0.0` claim is a mismatch.
 */
function classifyRequest(message: JsonRpcRequest, headers: IncomingHttpHeaders): EraOutcome {
  const meta = metaOf(message.params)
  const headerVersion = headerValue(headers, 'mcp-protocol-version')
  if (message.method === 'initialize' && !carriesValidModernClaim(meta)) {
    // The legacy handshake opens a session; a modern header on it contradicts the body.
    if (headerVersion !== undefined && isModernVersion(headerVersion)) {
      return headerMismatch(`an initialize request (the 2025 handshake) carries MCP-Protocol-Version ${headerVersion}`, message.id)
    }
    return LEGACY
  }
  if (!hasClaim(meta)) return classifyUnclaimedRequest(message, headerVersion)
  const issue = envelopeIssue(meta)
  if (issue !== undefined) return invalidEnvelope(issue, message.id)
  const mismatch = checkVersionHeaderMatches(message, headers) ?? checkMethodHeaderMatches(message, headers)
  if (mismatch !== undefined) return headerMismatch(mismatch, message.id)
  const envelope = envelopeOf(meta)
  const unsupported = unsupportedVersion(envelope.protocolVersion, message.id)
  if (unsupported !== undefined) return unsupported
  const standard = checkStandardHeaders(message, headers)
  if (standard !== undefined) return headerMismatch(standard, message.id)
  return { era: 'modern', kind: 'request', message, envelope }
}

/**
 * A notification has no envelope of its own under 2026-07-28, so a claim (body-first) or else a modern
 * `MCP-Protocol-Version` header makes it modern. Presence of the standard headers is not required of it.
 */
function classifyNotification(message: JsonRpcNotification, headers: IncomingHttpHeaders): EraOutcome {
  const meta = metaOf(message.params)
  const headerVersion = headerValue(headers, 'mcp-protocol-version')
  let version: string
  if (hasClaim(meta)) {
    const claimed = meta[PROTOCOL_VERSION_META_KEY]
    if (typeof claimed !== 'string') return invalidEnvelope({ key: PROTOCOL_VERSION_META_KEY, problem: 'expected a string' }, null)
    const mismatch = checkVersionHeaderMatches(message, headers)
    if (mismatch !== undefined) return headerMismatch(mismatch, null)
    version = claimed
  } else if (headerVersion !== undefined && isModernVersion(headerVersion)) {
    version = headerVersion
  } else {
    return LEGACY
  }
  // The SDK cross-checks Mcp-Method only for a modern revision; a 2025 claim goes straight to -32022.
  const method = isModernVersion(version) ? checkMethodHeaderMatches(message, headers) : undefined
  if (method !== undefined) return headerMismatch(method, null)
  return unsupportedVersion(version, null) ?? { era: 'modern', kind: 'notification', message }
}

/** A message's `params._meta` names a protocol revision (the body's era claim, whatever its value). */
function namesRevision(message: unknown): boolean {
  if (!isObject(message) || !isObject(message.params)) return false
  const meta = message.params._meta
  return isObject(meta) && hasClaim(meta)
}

/**
 * The cheap test the POST route runs first: false means `classifyEra` would answer `legacy` for this valid
 * JSON-RPC body (no message claims a revision, and `MCP-Protocol-Version` names none from 2026-07-28 on),
 * so 2025 traffic pays one property lookup and one header read for the modern leg.
 */
export function mayBeModern(body: unknown, headers: IncomingHttpHeaders): boolean {
  const header = headerValue(headers, 'mcp-protocol-version')
  if (header !== undefined && isModernVersion(header)) return true
  return Array.isArray(body) ? body.some(namesRevision) : namesRevision(body)
}

/**
 * Classify one parsed POST body (and its headers) once: the table of modern-leg.md §2.a plus ladder rungs 1
 * (-32022) and 2 (-32020 standard headers), in the SDK's order. Pure.
 */
export function classifyEra(body: unknown, headers: IncomingHttpHeaders): EraOutcome {
  if (Array.isArray(body)) return classifyBatch(body)
  const classified = classifyMessage(body)
  switch (classified.kind) {
    case 'response':
      return LEGACY // a reply to a session's server→client request; the modern era has no such channel
    case 'request':
      return classifyRequest(classified.message, headers)
    case 'notification':
      return classifyNotification(classified.message, headers)
    case 'invalid':
      return reject(ErrorCode.InvalidRequest, `Bad Request: ${classified.reason}`, classified.id)
  }
}
