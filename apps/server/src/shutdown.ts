import type { FastifyInstance } from 'fastify'

const SIGNALS = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const
type Signal = keyof typeof SIGNALS

export interface ShutdownOptions {
  /** Exit 1 if closing has not finished after this long. */
  timeoutMs: number
  /** Also shut down when the proxy's own stdin ends. */
  exitOnStdinClose: boolean
}

/**
 * Signals before the server listens: exit at once. Nothing is serving yet, and children already
 * spawned are killed on the way out by @proxy/core's exit hook. Returns a function that removes them.
 */
export function exitOnEarlySignals(): () => void {
  const handlers = Object.entries(SIGNALS).map(([signal, number]) => {
    const handler = (): void => process.exit(128 + number)
    process.once(signal, handler)
    return () => process.off(signal, handler)
  })
  return () => handlers.forEach((off) => off())
}

/**
 * SIGINT/SIGTERM/SIGHUP (and, if asked, the end of stdin): stop accepting, end open streams, stop every
 * child (the plugin's preClose), then exit 0. A timer (unref'd) exits 1 if that takes longer than
 * `timeoutMs`. A second signal exits at once (128 + its number); @proxy/core kills the children left.
 */
export function handleShutdown(app: FastifyInstance, options: ShutdownOptions): void {
  let closing = false
  const stop = (reason: string, exitNow: number): void => {
    if (closing) {
      app.log.warn({ reason }, 'second signal: exiting now, killing the MCP servers still running')
      process.exit(exitNow)
    }
    closing = true
    app.log.info({ reason, timeoutMs: options.timeoutMs }, 'shutting down: closing streams and stopping MCP servers')
    const force = setTimeout(() => {
      app.log.error({ timeoutMs: options.timeoutMs }, 'shutdown took too long; exiting')
      process.exit(1)
    }, options.timeoutMs)
    force.unref()
    app.close().then(
      () => {
        app.log.info('stopped')
        process.exit(0)
      },
      (error: unknown) => {
        app.log.error({ err: error }, 'error while shutting down')
        process.exit(1)
      },
    )
  }
  for (const [signal, number] of Object.entries(SIGNALS) as [Signal, number][]) process.on(signal, () => stop(signal, 128 + number))
  if (options.exitOnStdinClose) {
    let ended = false
    const onEnd = (): void => {
      if (ended) return
      ended = true
      stop('stdin closed', 1)
    }
    process.stdin.on('end', onEnd)
    process.stdin.on('close', onEnd)
    process.stdin.on('error', onEnd)
    process.stdin.resume()
  }
}
