import type { FastifyInstance } from 'fastify'
import type { ProxyContext } from '../context.js'

/** `GET /ping` (liveness: the process answers) and `GET /ready` (readiness: the MCP server can be reached). */
export function registerHealth(app: FastifyInstance, context: ProxyContext, pool: { idle: number; lastSpawnError: string | undefined } | undefined): void {
  app.get('/ping', { config: { healthCheck: true } }, async (_request, reply) => reply.type('text/plain; charset=utf-8').send('pong'))

  app.get('/ready', { config: { healthCheck: true } }, async (_request, reply) => {
    if (context.shared) {
      const { state, pid, recentExits } = context.shared
      return reply.code(state === 'up' ? 200 : 503).send({ status: state === 'up' ? 'ready' : 'unavailable', mode: 'stateless', child: { state, pid, recentExits } })
    }
    const registry = context.registry!
    const sessions = registry.size
    const lastSpawnError = pool?.lastSpawnError
    const { evicted, backlogDroppedEvents, backlogDroppedBytes } = registry.stats
    return reply.code(lastSpawnError ? 503 : 200).send({
      status: lastSpawnError ? 'unavailable' : 'ready',
      mode: 'session',
      sessions,
      maxSessions: context.options.maxSessions,
      children: { perSession: sessions, stopping: registry.stopping, warm: pool?.idle ?? 0 },
      // What the proxy gave up to stay bounded, since it started.
      evicted,
      backlogDropped: { events: backlogDroppedEvents, bytes: backlogDroppedBytes },
      ...(lastSpawnError ? { lastSpawnError } : {}),
    })
  })
}
