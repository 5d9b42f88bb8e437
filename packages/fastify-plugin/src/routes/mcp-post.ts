import type { FastifyInstance } from 'fastify'
import { answerSink, hijack, type ProxyContext } from '../context.js'
import { HttpError, replyError } from '../errors.js'
import { acceptsPostAnswers } from '../http/accept.js'
import type { ParsedBody } from '../http/body.js'
import { readInbound } from './inbound.js'
import { legacyTarget } from './legacy-backend.js'
import { classifyEra, mayBeModern } from '../modern/classify.js'
import { serveModern } from './modern-post.js'
import { onBothSlashForms } from './paths.js'

/**
 * POST on the Streamable HTTP endpoint: client messages in, answers out as an SSE stream or JSON. Each body
 * is classified once: 2026-07-28 requests go to the modern leg, the rest to the 2025 session machinery.
 */
export function registerMcpPost(app: FastifyInstance, context: ProxyContext, url: string): void {
  onBothSlashForms(app, 'POST', url, (path) =>
    app.post(path, async (request, reply) => {
      const body = request.body as ParsedBody | undefined
      const inbound = body && readInbound(body)
      // The era is decided by the body, once: a 2026-07-28 claim goes to the modern leg (or its ladder).
      if (context.modern && inbound && !inbound.invalid && mayBeModern(body.value, request.headers)) {
        const outcome = classifyEra(body.value, request.headers)
        if (outcome.era !== 'legacy') return serveModern(context, context.modern, request, reply, outcome)
      }
      if (!acceptsPostAnswers(request.headers.accept)) return replyError(reply, HttpError.NotAcceptable)
      if (!inbound) return replyError(reply, HttpError.UnsupportedMediaType)
      if (inbound.invalid) return replyError(reply, HttpError.InvalidRequest, inbound.invalid.id, inbound.invalid.reason)

      const target = await legacyTarget(context.legacy, context.options, request, reply, inbound)
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
