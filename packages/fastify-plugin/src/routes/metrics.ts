import type { FastifyInstance } from 'fastify'
import type { Registry } from 'prom-client'

/**
 * `GET <path>`: the registry in the Prometheus text format. Behind the API key like every other route,
 * unless `exempt` (`metricsPublic`), which treats it like `/ping`: no API key (the Origin/Host guard
 * still applies).
 */
export function registerMetricsRoute(app: FastifyInstance, registry: Registry, path: string, exempt: boolean): void {
  app.get(path, { config: { healthCheck: exempt } }, async (_request, reply) => {
    const text = await registry.metrics()
    return reply.header('cache-control', 'no-store').type(registry.contentType).send(text)
  })
}
