import type { FastifyInstance } from 'fastify'
import { ownerOf } from '../auth/principal.js'
import type { SessionRegistry } from '@proxy/core'
import { hijack, sseSink, type ProxyContext } from '../context.js'
import { HttpError, replyError } from '../errors.js'
import { acceptsEventStream } from '../http/accept.js'
import type { ParsedBody } from '../http/body.js'
import { readInbound } from './inbound.js'
import { openSession, sessionStart } from './open-session.js'
import { onBothSlashForms } from './paths.js'

/**
 * The legacy HTTP+SSE transport (2024-11-05): GET opens the stream, whose first event names the URL to
 * POST messages to; answers arrive on the stream. Closing the stream ends the session.
 */
export function registerLegacySse(app: FastifyInstance, context: ProxyContext, registry: SessionRegistry, sseUrl: string, messagesUrl: string): void {
  onBothSlashForms(app, 'GET', sseUrl, (path) =>
    app.get(path, { exposeHeadRoute: false }, async (request, reply) => {
      // Every check before the session: a refused GET (an `<img>` tag, a browser navigation) spawns no child.
      if (!acceptsEventStream(request.headers.accept)) return replyError(reply, HttpError.NotAcceptableSse)
      const session = await openSession(registry, 'legacy-sse', reply, null, sessionStart(request, context.options))
      if (!session) return reply
      // The client left while a slot was being freed: its stream would never close.
      if (reply.raw.destroyed) {
        void session.close()
        return reply
      }
      // The id also goes in a header, so a load balancer can learn which instance owns the session.
      const headers = hijack(reply, { 'mcp-session-id': session.id })
      const sink = sseSink(context, reply, headers)
      sink.sendNamed('endpoint', `${context.prefix}${messagesUrl}?sessionId=${encodeURIComponent(session.id)}`)
      session.attachStandalone(sink)
      return reply
    }),
  )

  // A Streamable HTTP client that was given the SSE URL POSTs initialize there first: 405 makes it fall back to GET.
  onBothSlashForms(app, 'POST', sseUrl, (path) =>
    app.post(path, async (_request, reply) => replyError(reply.header('allow', 'GET'), HttpError.MethodNotAllowed)),
  )

  onBothSlashForms(app, 'POST', messagesUrl, (path) =>
    app.post<{ Querystring: { sessionId?: string } }>(path, async (request, reply) => {
      const id = request.query.sessionId
      if (typeof id !== 'string' || id === '') return replyError(reply, HttpError.MissingSessionId)
      const session = registry.lookup(id, ownerOf(request))
      if (!session || session.transport !== 'legacy-sse') return replyError(reply, HttpError.UnknownSession)
      const body = request.body as ParsedBody | undefined
      if (!body) return replyError(reply, HttpError.UnsupportedMediaType)
      const inbound = readInbound(body)
      if (inbound.invalid) return replyError(reply, HttpError.InvalidRequest, inbound.invalid.id, inbound.invalid.reason)
      if (inbound.others.length > 0) session.forward(inbound.others)
      if (inbound.requests.length > 0) session.serve(inbound.requests)
      return reply.code(202).header('content-type', 'text/plain; charset=utf-8').send('Accepted')
    }),
  )
}
