import type { FastifyReply, FastifyRequest } from 'fastify'
import { DEFAULT_BACKLOG_LIMIT, EventStream } from '@proxy/core'
import { answerSink, hijack, type ProxyContext } from '../context.js'
import { HttpError, replyError } from '../errors.js'
import type { Inbound } from './inbound.js'
import { protocolVersionOk } from './protocol-version.js'

// A stateless POST's stream keeps no events, belongs to no session, and (ending with its answers) never
// keeps a backlog.
const NO_SESSION = { store: undefined, backlogLimit: DEFAULT_BACKLOG_LIMIT, streamFinished: () => {}, backlogDropped: () => {} }

/** Stateless mode: every POST stands alone and goes to the one shared child; initialize is answered locally. */
export function serveStateless(context: ProxyContext, request: FastifyRequest, reply: FastifyReply, inbound: Inbound): FastifyReply {
  const shared = context.shared!
  const firstId = inbound.requests[0]?.message.id ?? null
  if (!protocolVersionOk(request)) return replyError(reply, HttpError.BadProtocolVersion, firstId)
  if (inbound.initialize && inbound.batch) return replyError(reply, HttpError.InitializeInBatch, firstId)
  if (shared.state !== 'up' && inbound.requests.some((r) => r.message.method !== 'initialize')) {
    reply.header('retry-after', '2')
    return replyError(reply, HttpError.ChildUnavailable, firstId, shared.state)
  }
  for (const { message, text } of inbound.others) {
    if ('method' in message) shared.notify(message, text)
    else shared.respond(message, text)
  }
  if (inbound.requests.length === 0) return reply.code(202).send()

  const headers = hijack(reply)
  const stream = new EventStream('stateless', NO_SESSION, true)
  stream.attach(answerSink(context, reply, headers, inbound.batch))
  for (const { message, text } of inbound.requests) {
    stream.expect(message.id)
    if (message.method === 'initialize') {
      const answer = shared.initializeAnswer(message.id, (message.params as { protocolVersion?: unknown } | undefined)?.protocolVersion)
      stream.deliver(answer, JSON.stringify(answer))
    } else {
      shared.request(stream, message, text)
    }
  }
  return reply
}
