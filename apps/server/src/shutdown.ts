import type { FastifyInstance } from 'fastify'

/**
 * SIGINT/SIGTERM: stop accepting, end open streams, stop every child (the plugin's preClose), then exit 0.
 * If that takes longer than `boundMs`, exit 1 anyway. A second signal exits at once; children still
 * running are killed on the way out by @proxy/core.
 */
export function handleShutdown(app: FastifyInstance, boundMs: number, exitOnStdinClose: boolean): void {
  let closing = false
  const stop = (reason: string, code: number): void => {
    if (closing) {
      app.log.warn({ reason }, 'second signal: exiting now')
      process.exit(code)
    }
    closing = true
    app.log.info({ reason }, 'shutting down')
    const force = setTimeout(() => {
      app.log.error({ boundMs }, 'shutdown took too long; exiting')
      process.exit(1)
    }, boundMs)
    force.unref()
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        app.log.error({ err: error }, 'error while shutting down')
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', () => stop('SIGINT', 130))
  process.on('SIGTERM', () => stop('SIGTERM', 143))
  if (exitOnStdinClose) {
    process.stdin.on('end', () => stop('stdin closed', 0))
    process.stdin.resume()
  }
}
