import type { FastifyInstance } from 'fastify'
import { ownerOf } from '../auth/principal.js'
import { hijack, sseSink, type ProxyContext } from '../context.js'
import { HttpError, replyError, writeRawError } from '../errors.js'
import { acceptsEventStream } from '../http/accept.js'
import { onBothSlashForms } from './paths.js'
import { protocolVersionOk, sessionIdOf } from './protocol-version.js'

/**
 * Open GET streams one session may hold at once. The spec lets a client keep several (each message still
 * goes to exactly one: the newest); a client that drops a stream and reopens it at once, before the
 * old socket's close is seen, or that opens a second one while the head of the first is on its way, is
 * served. Only past this many is a GET refused (409).
 */
const MAX_STANDALONE_CONNECTIONS = 4

/**
 * GET on the Streamable HTTP endpoint: the session's standalone stream for server→client traffic that is
 * not tied to a request, or, with `Last-Event-ID`, the resumption of any stream of the session.
 */
export function registerMcpGet(app: FastifyInstance, context: ProxyContext, url: string): void {
  onBothSlashForms(app, 'GET', url, (path) =>
    app.get(path, { exposeHeadRoute: false }, async (request, reply) => {
      if (context.legacy.kind !== 'sessions') return replyError(reply.header('allow', 'POST'), HttpError.StatelessNoStream)
      if (!acceptsEventStream(request.headers.accept)) return replyError(reply, HttpError.NotAcceptableSse)
      const id = sessionIdOf(request)
      // A GET must be answered with a stream or 405 (spec); there is no stream before initialize.
      if (id === undefined) return replyError(reply.header('allow', 'POST'), HttpError.NoStreamWithoutSession)
      const session = context.legacy.registry.lookup(id, ownerOf(request))
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
      if (session.standaloneConnections >= MAX_STANDALONE_CONNECTIONS) return replyError(reply, HttpError.StreamConflict)
      const headers = hijack(reply, { 'mcp-session-id': session.id })
      const sink = sseSink(context, reply, headers)
      sink.start()
      session.attachStandalone(sink)
      sink.flushHead()
      return reply
    }),
  )
}
