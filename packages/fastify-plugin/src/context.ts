import type { FastifyReply } from 'fastify'
import type { OutgoingHttpHeaders } from 'node:http'
import type { SessionRegistry, SharedChild, StreamSink } from '@proxy/core'
import { JsonSink } from './http/json-sink.js'
import { SseSink } from './http/sse-sink.js'
import type { ResolvedOptions } from './options.js'

/** What every route of one plugin instance shares: the resolved options and the session machinery. */
export interface ProxyContext {
  options: ResolvedOptions
  /** Sessions (session mode); undefined in stateless mode. */
  registry: SessionRegistry | undefined
  /** The shared child (stateless mode); undefined in session mode. */
  shared: SharedChild | undefined
  /** The plugin's prefix (for the legacy `endpoint` event). */
  prefix: string
}

/** Take over the raw response (for streams that outlive the handler); headers the hooks set are kept. */
export function hijack(reply: FastifyReply, extra: OutgoingHttpHeaders = {}): OutgoingHttpHeaders {
  const headers = { ...reply.getHeaders(), ...extra } as OutgoingHttpHeaders
  reply.hijack()
  return headers
}

/** An SSE stream on a hijacked reply, configured from the plugin's options. */
export function sseSink(context: ProxyContext, reply: FastifyReply, headers: OutgoingHttpHeaders): SseSink {
  const { options } = context
  return new SseSink(reply.raw, {
    headers,
    keepAliveMs: options.keepAliveInterval,
    maxQueuedBytes: options.maxQueuedBytes,
    retryMs: options.retryInterval,
  })
}

/** The sink for the answer to a POST of requests: an SSE stream, or one JSON body (`jsonResponse`). */
export function answerSink(context: ProxyContext, reply: FastifyReply, headers: OutgoingHttpHeaders, batch: boolean): StreamSink {
  if (context.options.jsonResponse) return new JsonSink(reply.raw, headers, batch)
  const sink = sseSink(context, reply, headers)
  sink.start()
  return sink
}
