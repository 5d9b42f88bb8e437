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
  // Several servers in one process: every series says which one it is about.
  if (context.options.name !== undefined) registry.setDefaultLabels({ server: context.options.name })
  const { legacy } = context
  const instruments = createInstruments(registry)
  // Drains: a gauge while one runs, a count of how they ended; refused sessions are in the refusals (MCP_PROXY_DRAINING).
  instruments.draining.set(context.drain.draining ? 1 : 0)
  for (const outcome of ['idle', 'timeout']) instruments.drains.inc({ outcome }, 0)
  const offDrain = context.drain.onChange((state, result) => {
    instruments.draining.set(1)
    if (state === 'drained' && result) instruments.drains.inc({ outcome: result.outcome })
  })
  const recorder = new MetricsRecorder(instruments, {
    toolNames: options.toolNames,
    sessionPid: (session) => (legacy.kind === 'sessions' ? legacy.registry.get(session)?.backend.pid : undefined),
  })
  const unsubscribe = context.tap.subscribe(recorder.record)
  app.addHook('onClose', async () => {
    unsubscribe()
    offDrain()
  })
  if (options.path !== false) registerMetricsRoute(app, registry, options.path, options.public)
  options.onRegistry?.(registry)
}
