import { ErrorCode, errorResponse } from '../jsonrpc/errors.js'
import type { JsonRpcId, JsonRpcMessage, JsonRpcNotification } from '../jsonrpc/schemas.js'
import { trySerialize } from '../jsonrpc/serialize.js'
import type { StreamSink } from '../session/stream-sink.js'
import type { Upstream, UpstreamCaller } from '../upstream/upstream.js'
import { SUBSCRIPTION_ID_META_KEY } from './meta-keys.js'

/**
 * A `subscriptions/listen` passed through to a 2026-07-28 child: the child's notifications for it (tagged
 * with its subscription id, which is the child's id of the request) and its final answer go to the
 * client's stream.
 */
export class ListenRelay implements UpstreamCaller {
  readonly streaming = true
  readonly id: JsonRpcId
  #sink: StreamSink
  #done = false

  constructor(id: JsonRpcId, sink: StreamSink) {
    this.id = id
    this.#sink = sink
  }

  get done(): boolean {
    return this.#done
  }

  deliver(message: JsonRpcMessage, text: string): void {
    if (this.#done) return
    const isResponse = !('method' in message)
    this.#sink.send(undefined, text, isResponse ? 'response' : 'message')
    if (!isResponse) return
    this.#done = true
    this.#sink.end()
  }

  abandon(): void {
    this.#done = true
  }
}

/**
 * A 2026 child's notification that names its listen request by subscription id (the child's id of that
 * request): delivered to that request's caller with the client's own id restored. False when it names none.
 */
export function relayToSubscription(message: JsonRpcNotification, upstream: Upstream): boolean {
  const meta = (message.params as { _meta?: Record<string, unknown> } | undefined)?._meta
  const subscriptionId = meta?.[SUBSCRIPTION_ID_META_KEY]
  if (typeof subscriptionId !== 'string' && typeof subscriptionId !== 'number') return false
  const request = upstream.requestOf(subscriptionId)
  if (!request) return false
  const restored = { ...message, params: { ...message.params, _meta: { ...meta, [SUBSCRIPTION_ID_META_KEY]: request.id } } }
  const text = trySerialize(restored)
  if (text !== undefined) request.caller.deliver(restored, text)
  return true
}

/** Past the cap on listen streams: an in-band -32603 on the stream, then its end. */
export function refuseListen(id: JsonRpcId, sink: StreamSink): void {
  sink.send(undefined, JSON.stringify(errorResponse(id, ErrorCode.InternalError, 'Subscription limit reached')), 'response')
  sink.end()
}
