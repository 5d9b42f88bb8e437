import type { FastifyInstance } from 'fastify'
import { servingMode, type ProxyContext } from '../context.js'

/** `GET /ping` (liveness: the process answers) and `GET /ready` (readiness: the MCP server can be reached). */
export function registerHealth(app: FastifyInstance, context: ProxyContext): void {
  app.get('/ping', { config: { healthCheck: true } }, async (_request, reply) => reply.type('text/plain; charset=utf-8').send('pong'))

  app.get('/ready', { config: { healthCheck: true } }, async (_request, reply) => {
    // Readiness follows the 2025 leg, which every client can use; the 2026-07-28 leg is reported beside it.
    // Draining turns it 503 at once, so a balancer stops sending new sessions here.
    const { ready, report } = servingMode(context.legacy).health()
    const modern = context.modern?.health().report
    const { instanceId: instance, name } = context.options
    const status = context.drain.draining ? 'draining' : ready ? 'ready' : 'unavailable'
    return reply
      .code(status === 'ready' ? 200 : 503)
      .send({ status, ...(name === undefined ? {} : { name }), ...(instance === undefined ? {} : { instance }), ...report, ...(modern ? { modern } : {}) })
  })
}
