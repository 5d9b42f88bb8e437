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
    const sessions = context.registry?.size ?? 0
    const lastSpawnError = pool?.lastSpawnError
    return reply.code(lastSpawnError ? 503 : 200).send({
      status: lastSpawnError ? 'unavailable' : 'ready',
      mode: 'session',
      sessions,
      children: { perSession: sessions, warm: pool?.idle ?? 0 },
      ...(lastSpawnError ? { lastSpawnError } : {}),
    })
  })
}
