// The HTTP side of a traced request: its trace context (the host's active span, else the `traceparent`
// header) and its network attributes, kept for the messages of that one POST. A request decorator runs deep
// in @proxy/core with no HTTP request in hand, so the route handlers run inside an AsyncLocalStorage store
// that the decorator reads (a store of our own: it works whatever context manager the host registered).
import { AsyncLocalStorage } from 'node:async_hooks'
import { context, propagation, trace, type Attributes, type Context } from '@opentelemetry/api'
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify'
import type { JsonRpcRequest } from '@proxy/core'
import type { ParsedBody } from '../http/body.js'
import { ATTR_CLIENT_ADDRESS, ATTR_CLIENT_PORT, ATTR_MCP_PROTOCOL_VERSION, ATTR_NETWORK_PROTOCOL_VERSION } from './semconv.js'

/** What the tracing knows of the HTTP request a message came in. */
export interface HttpTrace {
  /** The HTTP request's trace context: the host's active span (e.g. @fastify/otel's), else the one its headers carry. */
  context: Context
  /** `network.protocol.version`, `client.address`, `client.port`, and `mcp.protocol.version` from the header. */
  attributes: Attributes
  /** The HTTP request: only the requests of its body get this context. */
  request: FastifyRequest
}

const current = new AsyncLocalStorage<HttpTrace>()

function httpTrace(request: FastifyRequest): HttpTrace {
  const active = context.active()
  const traced = trace.getSpanContext(active) ? active : propagation.extract(active, request.headers)
  const attributes: Attributes = {}
  const version = request.raw.httpVersion
  if (version) attributes[ATTR_NETWORK_PROTOCOL_VERSION] = version === '2.0' ? '2' : version
  if (request.ip) attributes[ATTR_CLIENT_ADDRESS] = request.ip
  const port = request.socket.remotePort
  if (port !== undefined) attributes[ATTR_CLIENT_PORT] = port
  const protocol = request.headers['mcp-protocol-version']
  if (typeof protocol === 'string') attributes[ATTR_MCP_PROTOCOL_VERSION] = protocol
  return { context: traced, attributes, request }
}

/**
 * Run the handler of every POST route registered after this (the message endpoints) inside its request's
 * HTTP trace. Must be called before the routes are registered.
 */
export function captureHttpTrace(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    if (!methods.includes('POST')) return
    const handler = route.handler as (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) => unknown
    const traced = function (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply): unknown {
      return current.run(httpTrace(request), () => handler.call(this, request, reply))
    }
    route.handler = traced as RouteHandlerMethod
  })
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * The HTTP trace of the POST that carried `message`, if it is being served now. Checked against the body:
 * code that runs later in a callback the handler set up (a child's output) can see a stale store, and a
 * message of another request must not take this request's context.
 */
export function httpTraceOf(message: JsonRpcRequest): HttpTrace | undefined {
  const http = current.getStore()
  if (!http) return undefined
  const body = (http.request.body as ParsedBody | undefined)?.value
  const items: unknown[] = Array.isArray(body) ? body : [body]
  return items.some((item) => isObject(item) && item.id === message.id && item.method === message.method) ? http : undefined
}
