import type { FastifyInstance } from 'fastify'
import { hijack, sseSink, type ProxyContext } from '../context.js'
import { HttpError, replyError, writeRawError } from '../errors.js'
import { acceptsEventStream } from '../http/accept.js'
import { onBothSlashForms } from './paths.js'
import { protocolVersionOk, sessionIdOf } from './protocol-version.js'
import { standaloneFree } from './standalone-handover.js'

/**
 * GET on the Streamable HTTP endpoint: the session's standalone stream for server→client traffic that is
 * not tied to a request, or, with `Last-Event-ID`, the resumption of any stream of the session.
 */
export function registerMcpGet(app: FastifyInstance, context: ProxyContext, url: string): void {
  onBothSlashForms(app, 'GET', url, (path) =>
    app.get(path, { exposeHeadRoute: false }, async (request, reply) => {
      if (!context.registry) return replyError(reply.header('allow', 'POST'), HttpError.StatelessNoStream)
      if (!acceptsEventStream(request.headers.accept)) return replyError(reply, HttpError.NotAcceptableSse)
      const id = sessionIdOf(request)
      if (id === undefined) return replyError(reply, HttpError.MissingSession)
      const session = context.registry.get(id)
      if (!session || session.transport !== 'streamable') return replyError(reply, HttpError.UnknownSession)
      if (!protocolVersionOk(request)) return replyError(reply, HttpError.BadProtocolVersion)

      const lastEventId = request.headers['last-event-id']
      if (typeof lastEventId === 'string' && lastEventId !== '') {
        const headers = hijack(reply, { 'mcp-session-id': session.id })
        const sink = sseSink(context, reply, headers)
        if (!(await session.resume(lastEventId, sink))) writeRawError(reply.raw, headers, HttpError.UnknownEventId)
        else sink.start() // a live stream with nothing to replay yet still gets its head now (no-op once ended)
        return reply
      }
      if (session.standaloneConnected && !(await standaloneFree(session, () => reply.raw.destroyed))) {
        if (session.closed) return replyError(reply, HttpError.UnknownSession)
        return replyError(reply, HttpError.StreamConflict)
      }
      const headers = hijack(reply, { 'mcp-session-id': session.id })
      const sink = sseSink(context, reply, headers)
      sink.start()
      session.attachStandalone(sink)
      return reply
    }),
  )
}
