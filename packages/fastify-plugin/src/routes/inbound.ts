import {
  classify,
  type ClassifiedMessage,
  type InboundMessage,
  type JsonRpcId,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
} from '@proxy/core'
import type { ParsedBody } from '../http/body.js'

/** A POSTed body, classified once and split by what each message needs. */
export interface Inbound {
  batch: boolean
  requests: InboundMessage<JsonRpcRequest>[]
  /** Notifications and responses: forwarded, answered with 202. */
  others: InboundMessage<JsonRpcNotification | JsonRpcResponse>[]
  initialize: JsonRpcRequest | undefined
  /** The first invalid message, if any (the whole POST is refused). */
  invalid: { reason: string; id: JsonRpcId | null } | undefined
}

/** Classify a parsed body. A single message keeps its exact text for forwarding (unless it spans lines). */
export function readInbound(body: ParsedBody): Inbound {
  const classified = classify(body.value)
  const batch = classified.kind === 'batch'
  const items: ClassifiedMessage[] = classified.kind === 'batch' ? classified.messages : [classified]
  // The child reads one message per line: a text with a raw line break must be re-serialized.
  const text = batch || body.text.includes('\n') || body.text.includes('\r') ? undefined : body.text
  const inbound: Inbound = { batch, requests: [], others: [], initialize: undefined, invalid: undefined }
  // Two requests with one id in a batch: their answers could not be told apart.
  const ids = batch ? new Set<string>() : undefined
  for (const item of items) {
    switch (item.kind) {
      case 'invalid':
        inbound.invalid ??= { reason: item.reason, id: item.id }
        break
      case 'request': {
        const key = typeof item.message.id === 'string' ? `s${item.message.id}` : `n${item.message.id}`
        if (ids?.has(key)) inbound.invalid ??= { reason: `duplicate request id ${JSON.stringify(item.message.id)} in the batch`, id: null }
        ids?.add(key)
        inbound.requests.push({ message: item.message, text })
        if (item.message.method === 'initialize') inbound.initialize = item.message
        break
      }
      default:
        inbound.others.push({ message: item.message, text })
    }
  }
  return inbound
}
