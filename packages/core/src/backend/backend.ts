import type { JsonRpcMessage, JsonRpcNotification, JsonRpcRequest, JsonRpcResponse } from '../jsonrpc/schemas.js'
import type { StreamSink } from '../session/stream-sink.js'

/** One client message, parsed once, with the exact text it arrived as when that can be forwarded as is. */
export interface InboundMessage<M extends JsonRpcMessage = JsonRpcMessage> {
  message: M
  text: string | undefined
}

/**
 * What serves the messages of one POST: a session's own child, or a child shared by many requests. The
 * HTTP edge picks one per request and hands it the messages; how the child is reached is the backend's
 * business.
 */
export interface Backend {
  /** Send requests; their answers, and the messages of the child related to them, go to `sink`. */
  serve(requests: InboundMessage<JsonRpcRequest>[], sink: StreamSink): void
  /** Forward notifications, and answers to requests the child sent (only to requests it relayed). */
  forward(messages: InboundMessage<JsonRpcNotification | JsonRpcResponse>[]): void
}

/** A readiness report: whether requests can be served now, and the details `/ready` shows. */
export interface Health {
  ready: boolean
  report: Record<string, unknown>
}

/** One way of serving clients (sessions, or one shared child): started before listening, closed on shutdown. */
export interface ServingMode {
  /** Spawn what must run before the first request; rejects if the MCP server cannot be started. */
  start(): Promise<void>
  /** Stop serving: requests in flight are answered, children stopped; resolves when they are gone. */
  close(): Promise<void>
  health(): Health
}
