import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Session } from '@proxy/core'
import { answerSink, hijack, type ProxyContext } from '../context.js'
import { HttpError, replyError } from '../errors.js'
import { acceptsPostAnswers } from '../http/accept.js'
import type { ParsedBody } from '../http/body.js'
import { readInbound, type Inbound } from './inbound.js'
import { toleratesPriming } from '../http/client-quirks.js'
import { openSession } from './open-session.js'
import { onBothSlashForms } from './paths.js'
import { protocolVersionOk, sessionIdOf } from './protocol-version.js'
import { serveStateless } from './stateless-post.js'

/** Find (or, for initialize, create) the session a POST belongs to; answers the error itself otherwise. */
async function sessionFor(context: ProxyContext, request: FastifyRequest, reply: FastifyReply, inbound: Inbound): Promise<Session | undefined> {
  const registry = context.registry!
  const id = sessionIdOf(request)
  const firstId = inbound.requests[0]?.message.id ?? null
  if (inbound.initialize) {
    if (inbound.batch) return void replyError(reply, HttpError.InitializeInBatch, firstId)
    if (id !== undefined && registry.get(id)) return void replyError(reply, HttpError.AlreadyInitialized, inbound.initialize.id)
    return openSession(registry, 'streamable', reply, firstId, { priming: toleratesPriming(request.headers['user-agent']) })
  }
  if (id === undefined) return void replyError(reply, HttpError.MissingSession, firstId)
  const session = registry.get(id)
  if (!session || session.transport !== 'streamable') return void replyError(reply, HttpError.UnknownSession, firstId)
  if (!protocolVersionOk(request)) return void replyError(reply, HttpError.BadProtocolVersion, firstId)
  if (inbound.batch && session.protocolVersion !== '2025-03-26') return void replyError(reply, HttpError.BatchNotAllowed, firstId)
  return session
}

/** POST on the Streamable HTTP endpoint: client messages in, answers out as an SSE stream or JSON. */
export function registerMcpPost(app: FastifyInstance, context: ProxyContext, url: string): void {
  onBothSlashForms(app, 'POST', url, (path) =>
    app.post(path, async (request, reply) => {
      if (!acceptsPostAnswers(request.headers.accept)) return replyError(reply, HttpError.NotAcceptable)
      const body = request.body as ParsedBody | undefined
      if (!body) return replyError(reply, HttpError.UnsupportedMediaType)
      const inbound = readInbound(body)
      if (inbound.invalid) return replyError(reply, HttpError.InvalidRequest, inbound.invalid.id, inbound.invalid.reason)
      if (context.shared) return serveStateless(context, request, reply, inbound)

      const session = await sessionFor(context, request, reply, inbound)
      if (!session) return reply
      // The client left while a slot was being freed for its new session: nobody will read the answer.
      if (inbound.initialize && reply.raw.destroyed) {
        void session.close()
        return reply
      }
      if (inbound.others.length > 0) session.forward(inbound.others)
      request.log.debug({ session: session.id, requests: inbound.requests.length, others: inbound.others.length }, 'client messages')
      if (inbound.requests.length === 0) return reply.code(202).send()

      const headers = hijack(reply, { 'mcp-session-id': session.id })
      session.sendRequests(inbound.requests, answerSink(context, reply, headers, inbound.batch))
      return reply
    }),
  )
}
