import { isSpanContextValid, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Link, type Span, type Tracer } from '@opentelemetry/api'
import { targetOf, type JsonRpcId, type JsonRpcRequest, type RequestOutcome, type TapEvent, type TapScope } from '@proxy/core'
import { httpTraceOf } from './http-context.js'
import { contextFromMeta, metaOf, withTraceContext } from './meta-carrier.js'
import { ending, requestAttributes, spanName } from './semconv.js'

interface OpenSpan {
  span: Span
  key: string
  id: JsonRpcId
  method: string
  /** The Upstream wrote the request to the child (or answered it at once). */
  forwarded: boolean
  ended: boolean
}

/**
 * What ties a decorated request to its `request-done`: the caller's identity as the tap shows it, its own
 * id (the Upstream reports the caller's id, not the rewritten one), the method and the target. Stateless
 * callers have no identity, so two clients' identical calls with the same id at the same time share a key;
 * they are ended first-in first-out (each span keeps its own trace and parent either way).
 */
function keyOf(scope: TapScope, id: JsonRpcId, method: string, target: string | undefined): string {
  return `${scope.era}\0${scope.session ?? ''}\0${scope.principal ?? ''}\0${typeof id}:${String(id)}\0${method}\0${target ?? ''}`
}

/** The parent of a request's span: `params._meta`'s context, else the HTTP request's; the other one becomes a link. */
function parentOf(message: JsonRpcRequest, http: Context | undefined): { parent: Context; links: Link[] } {
  const meta = metaOf(message)
  const fromMeta = meta && contextFromMeta(meta)
  const metaSpan = fromMeta && trace.getSpanContext(fromMeta)
  const httpSpan = http && trace.getSpanContext(http)
  const httpValid = httpSpan !== undefined && isSpanContextValid(httpSpan)
  if (fromMeta && metaSpan && isSpanContextValid(metaSpan)) {
    // One HTTP request can carry several MCP messages: the conventions make the HTTP span a link, not the parent.
    const links = httpValid && httpSpan.spanId !== metaSpan.spanId ? [{ context: httpSpan }] : []
    return { parent: fromMeta, links }
  }
  return { parent: http !== undefined && httpValid ? http : ROOT_CONTEXT, links: [] }
}

/**
 * One `mcp.server` span per request a client sends through the proxy to the MCP server: started by the
 * request decorator (where the request is on its way to the child, and its context is written into
 * `params._meta`), ended by the tap's `request-done`.
 */
export class RequestSpans {
  readonly #tracer: Tracer
  readonly #open = new Map<string, OpenSpan[]>()
  /** The span of the request being decorated, until the Upstream reports it written. */
  #pending: OpenSpan | undefined

  readonly #common: Attributes

  constructor(tracer: Tracer, common: Attributes = {}) {
    this.#tracer = tracer
    this.#common = common
  }

  /** The request decorator: start the span, and hand the child the span's context. */
  decorate = (message: JsonRpcRequest, scope: TapScope | undefined): JsonRpcRequest => {
    // No scope: the proxy's own request (its handshake with a shared child), not a client's operation.
    if (scope === undefined) return message
    const http = httpTraceOf(message)
    const { parent, links } = parentOf(message, http?.context)
    const span = this.#tracer.startSpan(spanName(message), { kind: SpanKind.SERVER, attributes: { ...this.#common, ...requestAttributes(message, scope, http?.attributes) }, links }, parent)
    const key = keyOf(scope, message.id, message.method, targetOf(message))
    const entry: OpenSpan = { span, key, id: message.id, method: message.method, forwarded: false, ended: false }
    const queue = this.#open.get(key)
    if (queue) queue.push(entry)
    else this.#open.set(key, [entry])
    this.#pending = entry
    // The Upstream writes a request (`to-child`) or fails it (`request-done`) before it returns; neither
    // happening means it answered the caller itself (its child is gone), and no `request-done` will come.
    queueMicrotask(() => {
      if (!entry.forwarded) this.#end(entry, 'not-forwarded', undefined)
    })
    return withTraceContext(message, trace.setSpan(parent, span))
  }

  /** The tap listener: note the request written, end its span when it is done. */
  listen(event: TapEvent): void {
    if (event.type === 'to-child') {
      const pending = this.#pending
      const { message } = event
      if (pending && 'method' in message && 'id' in message && message.id === pending.id && message.method === pending.method) {
        pending.forwarded = true
        this.#pending = undefined
      }
    } else if (event.type === 'request-done' && event.scope !== undefined) {
      const entry = this.#open.get(keyOf(event.scope, event.id, event.method, event.target))?.[0]
      if (!entry) return
      entry.forwarded = true
      this.#end(entry, event.outcome, event.errorCode)
    }
  }

  /** End every span still open (the plugin is closing). */
  endAll(): void {
    for (const queue of [...this.#open.values()]) for (const entry of [...queue]) this.#end(entry, 'child-gone', undefined)
  }

  #end(entry: OpenSpan, outcome: RequestOutcome | 'not-forwarded', errorCode: number | undefined): void {
    if (entry.ended) return
    entry.ended = true
    const queue = this.#open.get(entry.key)
    const index = queue?.indexOf(entry) ?? -1
    if (index !== -1) queue!.splice(index, 1)
    if (queue?.length === 0) this.#open.delete(entry.key)
    if (this.#pending === entry) this.#pending = undefined
    const { attributes, error } = ending(outcome, errorCode)
    entry.span.setAttributes(attributes)
    if (error !== undefined) entry.span.setStatus({ code: SpanStatusCode.ERROR })
    entry.span.end()
  }
}
