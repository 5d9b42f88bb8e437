import type { FastifyReply } from 'fastify'
import type { OutgoingHttpHeaders } from 'node:http'
import type { ModernLeg, ServingMode, SessionRegistry, StatelessMode, StreamSink, Tap } from '@proxy/core'
import type { DrainSwitch } from './drain/drain-switch.js'
import { AnswerSink } from './http/answer-sink.js'
import { SseSink, type SseSinkOptions } from './http/sse-sink.js'
import type { ResolvedOptions } from './options.js'

/** How the 2025-era protocol is served: sessions (each with its own child, or on shared children), or stateless requests on shared children. */
export type LegacyLeg = { kind: 'sessions'; registry: SessionRegistry } | { kind: 'stateless'; shared: StatelessMode }

/** The serving mode behind a legacy leg (start, close, health). */
export function servingMode(leg: LegacyLeg): ServingMode {
  return leg.kind === 'sessions' ? leg.registry : leg.shared
}

/** What every route of one plugin instance shares: the resolved options and what serves the clients. */
export interface ProxyContext {
  options: ResolvedOptions
  legacy: LegacyLeg
  /** The MCP 2026-07-28 leg, unless turned off. */
  modern: ModernLeg | undefined
  /** The plugin's prefix (for the legacy `endpoint` event). */
  prefix: string
  /** Every message and lifecycle event, for metrics, tracing, audit and the user's own listener. */
  tap: Tap
  /** Graceful drain: once started, no new sessions and `/ready` is 503. */
  drain: DrainSwitch
}

/** Take over the raw response (for streams that outlive the handler); headers the hooks set are kept. */
export function hijack(reply: FastifyReply, extra: OutgoingHttpHeaders = {}): OutgoingHttpHeaders {
  const headers = { ...reply.getHeaders(), ...extra } as OutgoingHttpHeaders
  reply.hijack()
  return headers
}

/** The SSE settings of the plugin's options, with the response's extra headers. */
export function sseOptions(context: ProxyContext, headers: OutgoingHttpHeaders): SseSinkOptions {
  const { options } = context
  return { headers, keepAliveMs: options.keepAliveInterval, maxQueuedBytes: options.maxQueuedBytes, retryMs: options.retryInterval, tap: context.tap }
}

/** An SSE stream on a hijacked reply, configured from the plugin's options. */
export function sseSink(context: ProxyContext, reply: FastifyReply, headers: OutgoingHttpHeaders): SseSink {
  return new SseSink(reply.raw, sseOptions(context, headers))
}

/**
 * The sink for the answer to a POST of requests: an SSE stream, or with `jsonResponse` one JSON body
 * that turns into an SSE stream if progress or a server request of the call comes before its answer.
 */
export function answerSink(context: ProxyContext, reply: FastifyReply, headers: OutgoingHttpHeaders, batch: boolean): StreamSink {
  if (context.options.jsonResponse) return new AnswerSink(reply.raw, sseOptions(context, headers), batch)
  const sink = sseSink(context, reply, headers)
  sink.start()
  return sink
}
