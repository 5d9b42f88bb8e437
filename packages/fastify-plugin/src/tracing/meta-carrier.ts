// Trace context in `params._meta`: the keys `traceparent`, `tracestate` (and `baggage`), unprefixed, as
// the MCP conventions and the 2026-07-28 spec (SEP-414) define them. Read and written through the API's
// global propagator, so whatever the host registered (W3C by default in the SDK) is what goes on the wire.
import { propagation, ROOT_CONTEXT, type Context, type TextMapGetter, type TextMapSetter } from '@opentelemetry/api'
import type { JsonRpcRequest } from '@proxy/core'

type Meta = Record<string, unknown>

/** The keys this proxy replaces with its own span's context (baggage passes, or is rewritten by the propagator). */
const TRACE_KEYS = ['traceparent', 'tracestate'] as const

const metaGetter: TextMapGetter<Meta> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key]
    return typeof value === 'string' ? value : undefined
  },
}

const metaSetter: TextMapSetter<Meta> = {
  set: (carrier, key, value) => {
    carrier[key] = value
  },
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The request's `params._meta`, if it has one. */
export function metaOf(message: JsonRpcRequest): Meta | undefined {
  const params = message.params
  return isObject(params) && isObject(params._meta) ? params._meta : undefined
}

/** The trace context a caller put in `params._meta` (ROOT_CONTEXT plus nothing when there is none). */
export function contextFromMeta(meta: Meta): Context {
  return propagation.extract(ROOT_CONTEXT, meta, metaGetter)
}

/**
 * The request with `context` (the proxy's span) in `params._meta` in place of the caller's, so the child
 * continues the trace under the proxy's span. The same object when nothing can be written: params that are
 * not an object, or a propagator that writes nothing (none registered, or no valid span) — then the
 * caller's own `traceparent`, if any, passes untouched.
 */
export function withTraceContext(message: JsonRpcRequest, context: Context): JsonRpcRequest {
  const params = message.params
  if (params !== undefined && !isObject(params)) return message
  const meta: Meta = { ...(isObject(params?._meta) ? params._meta : {}) }
  for (const key of TRACE_KEYS) delete meta[key]
  propagation.inject(context, meta, metaSetter)
  if (typeof meta.traceparent !== 'string') return message
  return { ...message, params: { ...params, _meta: meta } }
}
