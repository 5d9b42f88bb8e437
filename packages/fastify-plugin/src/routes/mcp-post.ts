import type { FastifyInstance } from 'fastify'
import { answerSink, hijack, type ProxyContext } from '../context.js'
import { HttpError, replyError } from '../errors.js'
import { acceptsPostAnswers } from '../http/accept.js'
import type { ParsedBody } from '../http/body.js'
import { readInbound } from './inbound.js'
import { legacyTarget } from './legacy-backend.js'
import { onBothSlashForms } from './paths.js'

/** POST on the Streamable HTTP endpoint: client messages in, answers out as an SSE stream or JSON. */
export function registerMcpPost(app: FastifyInstance, context: ProxyContext, url: string): void {
  onBothSlashForms(app, 'POST', url, (path) =>
    app.post(path, async (request, reply) => {
      if (!acceptsPostAnswers(request.headers.accept)) return replyError(reply, HttpError.NotAcceptable)
      const body = request.body as ParsedBody | undefined
      if (!body) return replyError(reply, HttpError.UnsupportedMediaType)
      const inbound = readInbound(body)
      if (inbound.invalid) return replyError(reply, HttpError.InvalidRequest, inbound.invalid.id, inbound.invalid.reason)

      const target = await legacyTarget(context.legacy, request, reply, inbound)
      if (!target) return reply
      if (inbound.others.length > 0) target.backend.forward(inbound.others)
      request.log.debug({ requests: inbound.requests.length, others: inbound.others.length }, 'client messages')
      if (inbound.requests.length === 0) return reply.code(202).send()

      const headers = hijack(reply, target.headers)
      target.backend.serve(inbound.requests, answerSink(context, reply, headers, inbound.batch))
      return reply
    }),
  )
}
