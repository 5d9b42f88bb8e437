import type { FastifyInstance } from 'fastify'
import { ownerOf } from '../auth/principal.js'
import type { ProxyContext } from '../context.js'
import { HttpError, replyError } from '../errors.js'
import { onBothSlashForms } from './paths.js'
import { sessionIdOf } from './protocol-version.js'

/** DELETE on the Streamable HTTP endpoint: the client ends its session; its child is stopped. */
export function registerMcpDelete(app: FastifyInstance, context: ProxyContext, url: string): void {
  onBothSlashForms(app, 'DELETE', url, (path) =>
    app.delete(path, async (request, reply) => {
      if (context.legacy.kind !== 'sessions') return replyError(reply.header('allow', 'POST'), HttpError.StatelessNoStream)
      const id = sessionIdOf(request)
      if (id === undefined) return replyError(reply, HttpError.MissingSession)
      const session = context.legacy.registry.lookup(id, ownerOf(request))
      if (!session || session.transport !== 'streamable') return replyError(reply, HttpError.UnknownSession)
      // The session leaves the registry at once (later requests get 404); the child stops in the background.
      void session.close()
      return reply.code(200).send()
    }),
  )
}
