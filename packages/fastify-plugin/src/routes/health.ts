import type { FastifyInstance } from 'fastify'
import { servingMode, type ProxyContext } from '../context.js'

/** `GET /ping` (liveness: the process answers) and `GET /ready` (readiness: the MCP server can be reached). */
export function registerHealth(app: FastifyInstance, context: ProxyContext): void {
  app.get('/ping', { config: { healthCheck: true } }, async (_request, reply) => reply.type('text/plain; charset=utf-8').send('pong'))

  app.get('/ready', { config: { healthCheck: true } }, async (_request, reply) => {
    // Readiness follows the 2025 leg, which every client can use; the 2026-07-28 leg is reported beside it.
    const { ready, report } = servingMode(context.legacy).health()
    const modern = context.modern?.health().report
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', ...report, ...(modern ? { modern } : {}) })
  })
}
