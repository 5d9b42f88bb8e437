import { trace, type Attributes } from '@opentelemetry/api'
import type { FastifyInstance } from 'fastify'
import type { Tap } from '@proxy/core'
import { ChildSpans } from './child-spans.js'
import { captureHttpTrace } from './http-context.js'
import { RequestSpans } from './request-spans.js'
import { ATTR_PROXY_SERVER_NAME } from './semconv.js'

/** The instrumentation scope the spans are reported under. */
export const TRACER_NAME = '@proxy/fastify-plugin'

/**
 * Trace through the OpenTelemetry API (option `tracing`): an `mcp.server` span per request a client sends
 * to the MCP server, its context passed on in `params._meta`, and a span per child process. Spans go to
 * whatever SDK the host registered (none: the API's no-op). Call before the routes are registered.
 */
export function registerTracing(app: FastifyInstance, tap: Tap, serverName: string | undefined): void {
  const tracer = trace.getTracer(TRACER_NAME)
  // Several servers in one process: every span says which one it is about.
  const common: Attributes = serverName === undefined ? {} : { [ATTR_PROXY_SERVER_NAME]: serverName }
  const requests = new RequestSpans(tracer, common)
  const children = new ChildSpans(tracer, common)
  captureHttpTrace(app)
  const undecorate = tap.decorate(requests.decorate)
  // Two listeners: a failure in one never costs the other its event.
  const unsubscribers = [tap.subscribe((event) => requests.listen(event)), tap.subscribe((event) => children.listen(event))]
  // After preClose stopped every child (their exits are seen): nothing is left to trace.
  app.addHook('onClose', async () => {
    undecorate()
    for (const unsubscribe of unsubscribers) unsubscribe()
    requests.endAll()
    children.endAll()
  })
}
