import type { FastifyInstance } from 'fastify'
import type { ProxyContext } from '../context.js'
import type { MetricsOptions } from '../options.js'
import { registerMetricsRoute } from '../routes/metrics.js'
import { createInstruments, createRegistry } from './instruments.js'
import { MetricsRecorder } from './recorder.js'

/**
 * Prometheus metrics of one plugin instance: its own registry (two instances in one process never share
 * one), a tap listener that keeps the instruments, and `GET /metrics` unless the path is off (then the
 * host serves the registry it is handed, e.g. on a port of its own). Called only when metrics are on:
 * otherwise the tap has no listener for them and nothing is counted.
 */
export function registerMetrics(app: FastifyInstance, context: ProxyContext, options: MetricsOptions): void {
  const registry = createRegistry()
  const { legacy } = context
  const recorder = new MetricsRecorder(createInstruments(registry), {
    toolNames: options.toolNames,
    sessionPid: (session) => (legacy.kind === 'sessions' ? legacy.registry.get(session)?.backend.child.pid : undefined),
  })
  const unsubscribe = context.tap.subscribe(recorder.record)
  app.addHook('onClose', async () => unsubscribe())
  if (options.path !== false) registerMetricsRoute(app, registry, options.path, options.public)
  options.onRegistry?.(registry)
}
