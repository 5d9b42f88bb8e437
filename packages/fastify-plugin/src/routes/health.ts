import type { FastifyInstance } from 'fastify'
import { servingMode, type ProxyContext } from '../context.js'

/** `GET /ping` (liveness: the process answers) and `GET /ready` (readiness: the MCP server can be reached). */
export function registerHealth(app: FastifyInstance, context: ProxyContext): void {
  app.get('/ping', { config: { healthCheck: true } }, async (_request, reply) => reply.type('text/plain; charset=utf-8').send('pong'))

  app.get('/ready', { config: { healthCheck: true } }, async (_request, reply) => {
    const { ready, report } = servingMode(context.legacy).health()
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', ...report })
  })
}
