// Pure translations between a modern (2026-07-28) client and a 2025-era child the proxy initialized itself.
// Each function does one direction of one message; none does I/O or keeps state. The rules follow the
// SDK's 2026 encode seam (stamp resultType, fill cache hints, stamp serverInfo, drop deleted fields,
// -32002 → -32602) so that a legacy child behind the proxy looks like an SDK-built modern server.
import { ErrorCode } from '../jsonrpc/errors.js'
import type { JsonRpcRequest } from '../jsonrpc/schemas.js'
import { ENVELOPE_META_KEYS, MODERN_PROTOCOL_VERSION, SERVER_INFO_META_KEY } from './meta-keys.js'

/** The cache hints the proxy claims for results the child cannot describe (`ttlMs` ≥ 0, an integer). */
export interface CacheDefaults {
  ttlMs: number
  cacheScope: 'public' | 'private'
}

/** What the SDK stamps when nobody configured anything: stale at once, never shared across principals. */
export const DEFAULT_CACHE: CacheDefaults = { ttlMs: 0, cacheScope: 'private' }

/** An MCP `Implementation`: who the server says it is. */
export interface ServerInfo {
  name: string
  version: string
  [k: string]: unknown
}

/** A JSON-RPC error object as it travels on either wire. */
export interface RpcError {
  code: number
  message: string
  data?: unknown
}

/** The operations whose 2026 results are `CacheableResult`s (server/discover is the sixth, built below). */
const CACHEABLE_METHODS: ReadonlySet<string> = new Set(['tools/list', 'prompts/list', 'resources/list', 'resources/templates/list', 'resources/read'])

/** Params keys of the MRTR retry: the proxy answers them itself, a 2025 child would not know them. */
const MODERN_ONLY_PARAMS = ['inputResponses', 'requestState'] as const

/** "Resource not found" until 2025-11-25; 2026-07-28 reserves it and uses -32602 instead. */
const LEGACY_RESOURCE_NOT_FOUND = -32002

/** A JSON object (not an array, not null): the only shape whose keys the translations look into. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** A copy of `object` without `keys`, or `object` itself when it has none of them. */
function withoutKeys(object: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  if (!keys.some((key) => Object.hasOwn(object, key))) return object
  const copy = { ...object }
  for (const key of keys) delete copy[key]
  return copy
}

// ---------------------------------------------------------------------------------------------------
// Toward the child

/**
 * A modern request as the 2025 child must see it: the envelope keys stripped from params._meta (the rest
 * of _meta, e.g. traceparent, passes), `inputResponses` and `requestState` removed from params; empty
 * _meta removed. Does not touch id/progressToken (the Upstream rewrites those). Returns the same object
 * when nothing changes, so the caller can forward the client's exact text.
 */
export function requestForChild(message: JsonRpcRequest): JsonRpcRequest {
  const params = message.params
  if (!isPlainObject(params)) return message
  const childParams = paramsForChild(params)
  return childParams === params ? message : { ...message, params: childParams }
}

// The child negotiated its own version at initialize: the envelope would only be unknown _meta noise to it,
// and the client's capabilities in it are not what the child was told.
function paramsForChild(params: Record<string, unknown>): Record<string, unknown> {
  const stripped = withoutKeys(params, MODERN_ONLY_PARAMS)
  const meta = params._meta
  if (!isPlainObject(meta)) return stripped
  const childMeta = withoutKeys(meta, ENVELOPE_META_KEYS)
  if (Object.keys(childMeta).length === 0) return withoutKeys(stripped, ['_meta'])
  if (childMeta === meta) return stripped
  return { ...stripped, _meta: childMeta }
}

// ---------------------------------------------------------------------------------------------------
// Toward the modern client

/**
 * A 2025 child's result for `method` on the 2026 wire: resultType "complete"; _meta[serverInfo key]
 * unless present; ttlMs/cacheScope on tools/list, prompts/list, resources/list, resources/templates/list,
 * resources/read (keeping valid values the child sent, else the defaults); tools[].execution stripped;
 * capabilities.tasks stripped where a result carries capabilities. Never mutates `result`.
 *
 * `resultType` is always "complete": a 2025 child has no other result types, so any value it sent is a
 * stray field (an `input_required` answer is built by the proxy, never passed through here).
 */
export function resultForModern(method: string, result: Record<string, unknown>, serverInfo: ServerInfo, cache: CacheDefaults): Record<string, unknown> {
  const modern: Record<string, unknown> = { ...result, resultType: 'complete' }
  if (method === 'tools/list') stripToolExecution(modern)
  stripTasksCapability(modern)
  if (CACHEABLE_METHODS.has(method)) fillCacheHints(modern, cache)
  stampServerInfo(modern, serverInfo)
  return modern
}

// `execution` (task support per tool) is deleted vocabulary in 2026; its schema's Tool has no such key.
function stripToolExecution(result: Record<string, unknown>): void {
  const tools = result.tools
  if (!Array.isArray(tools) || !tools.some((tool) => isPlainObject(tool) && Object.hasOwn(tool, 'execution'))) return
  result.tools = tools.map((tool: unknown) => (isPlainObject(tool) ? withoutKeys(tool, ['execution']) : tool))
}

// 2025-11-25 tasks are not translated (they became an extension in 2026): advertising them would promise
// `tasks/*` methods the proxy answers with 404.
function stripTasksCapability(result: Record<string, unknown>): void {
  const capabilities = result.capabilities
  if (isPlainObject(capabilities)) result.capabilities = withoutKeys(capabilities, ['tasks'])
}

// Per field: the child's value when it is valid 2026 vocabulary (the child knows its data best), else the
// configured default. An invalid value is replaced, not passed on: the client's schema would reject it.
function fillCacheHints(result: Record<string, unknown>, cache: CacheDefaults): void {
  if (!isValidTtlMs(result.ttlMs)) result.ttlMs = cache.ttlMs
  if (!isValidCacheScope(result.cacheScope)) result.cacheScope = cache.cacheScope
}

/** A `ttlMs` the 2026 schema accepts: an integer ≥ 0 (a safe one, as the SDK requires). */
function isValidTtlMs(value: unknown): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

function isValidCacheScope(value: unknown): boolean {
  return value === 'public' || value === 'private'
}

// A serverInfo the child put there itself wins. A `_meta` that is not an object is left alone, as the SDK
// does: it is the child's bug to see, and replacing it would hide it.
function stampServerInfo(result: Record<string, unknown>, serverInfo: ServerInfo): void {
  const meta = result._meta
  if (meta === undefined) result._meta = { [SERVER_INFO_META_KEY]: serverInfo }
  else if (isPlainObject(meta) && meta[SERVER_INFO_META_KEY] === undefined) result._meta = { ...meta, [SERVER_INFO_META_KEY]: serverInfo }
}

/**
 * A child's error for the 2026 wire: -32002 (resource not found) → -32602 with data.uri (from the
 * request's params.uri when the error lacks it); other codes unchanged. `notFound`: the code was -32601
 * (the route answers 404 while nothing has been written).
 *
 * A -32602 answer to `resources/read` also gains data.uri: a 2025 TypeScript child (SDK 1.x) already
 * reports a missing resource as -32602, only without the URI the 2026 example error carries.
 */
export function errorForModern(method: string, params: unknown, error: RpcError): { error: RpcError; notFound: boolean } {
  const notFound = error.code === ErrorCode.MethodNotFound
  if (error.code === LEGACY_RESOURCE_NOT_FOUND) return { error: withResourceUri({ ...error, code: ErrorCode.InvalidParams }, params), notFound }
  if (error.code === ErrorCode.InvalidParams && method === 'resources/read') return { error: withResourceUri(error, params), notFound }
  return { error, notFound }
}

// `data.uri` names the resource that was not found. Data of another shape (a string, an array) is the
// child's and is kept as it is rather than replaced.
function withResourceUri(error: RpcError, params: unknown): RpcError {
  const uri = isPlainObject(params) ? params.uri : undefined
  if (typeof uri !== 'string') return error
  if (error.data === undefined) return { ...error, data: { uri } }
  if (isPlainObject(error.data) && error.data.uri === undefined) return { ...error, data: { ...error.data, uri } }
  return error
}

// ---------------------------------------------------------------------------------------------------
// Answered by the proxy from the child's handshake

/** The child's `serverInfo` from its InitializeResult, when it is a valid Implementation (name and version). */
export function serverInfoOf(initialize: Record<string, unknown>): ServerInfo | undefined {
  const info = initialize.serverInfo
  if (!isPlainObject(info) || typeof info.name !== 'string' || typeof info.version !== 'string') return undefined
  return info as ServerInfo
}

/**
 * The server/discover result synthesized from the child's InitializeResult: supportedVersions
 * ['2026-07-28'], the child's capabilities minus `tasks`, its instructions if any, _meta serverInfo,
 * resultType "complete", and the configured cache hints.
 *
 * `logging` is kept. Logging is deprecated in 2026-07-28 but still specified: a server that emits
 * `notifications/message` MUST declare it, and the proxy does relay a child's logs to a request that set
 * `io.modelcontextprotocol/logLevel`. Only `logging/setLevel` is gone, and the capability never named it.
 * The SDK's own discover keeps it too.
 */
export function discoverResult(initialize: Record<string, unknown>, cache: CacheDefaults): Record<string, unknown> {
  const capabilities = isPlainObject(initialize.capabilities) ? withoutKeys(initialize.capabilities, ['tasks']) : {}
  const result: Record<string, unknown> = {
    resultType: 'complete',
    supportedVersions: [MODERN_PROTOCOL_VERSION],
    capabilities,
    ttlMs: cache.ttlMs,
    cacheScope: cache.cacheScope,
  }
  if (typeof initialize.instructions === 'string' && initialize.instructions !== '') result.instructions = initialize.instructions
  const serverInfo = serverInfoOf(initialize)
  if (serverInfo !== undefined) result._meta = { [SERVER_INFO_META_KEY]: serverInfo }
  return result
}
