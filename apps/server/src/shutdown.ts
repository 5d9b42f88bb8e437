import type { FastifyInstance } from 'fastify'

/** What SIGTERM drains: the plugin's DrainSwitch, or every server of a config file. */
export interface Drainable {
  /** Start draining; false when a drain had already started. */
  start(reason: string): boolean
  /** Resolves once the drain has ended. */
  readonly finished: Promise<{ outcome: string }>
}

const SIGNALS = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const
type Signal = keyof typeof SIGNALS

export interface ShutdownOptions {
  /** Exit 1 if closing has not finished after this long. */
  timeoutMs: number
  /** Also shut down when the proxy's own stdin ends. */
  exitOnStdinClose: boolean
  /** The drain: SIGTERM starts it, and its end (however it was started) shuts the proxy down. */
  drain: Drainable
  /** SIGHUP does this instead of shutting down (with --config: read the file again). */
  onHangup?: () => void
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
 * SIGTERM (what orchestrators send) drains first: `/ready` 503, no new sessions, open ones go on until they
 * end or the drain timeout. When a drain ends (SIGTERM's, or one started by `POST /drain`), and at once on
 * SIGINT/SIGHUP (and, if asked, the end of stdin): stop accepting, end open streams, stop every child (the
 * plugin's preClose), then exit 0. A timer (unref'd) exits 1 if closing takes longer than `timeoutMs`. A
 * second signal, or any signal while closing, exits at once (128 + its number); @proxy/core kills the
 * children left. A SIGTERM after `POST /drain` started a drain waits for that drain. With `onHangup`,
 * SIGHUP calls it instead (and is not counted as a signal).
 */
export function handleShutdown(app: FastifyInstance, options: ShutdownOptions): void {
  const { drain } = options
  let closing = false
  const close = (reason: string): void => {
    if (closing) return
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
  const exitNow = (reason: string, code: number): never => {
    app.log.warn({ reason }, 'second signal: exiting now, killing the MCP servers still running')
    process.exit(code)
  }
  void drain.finished.then((result) => close(`drained (${result.outcome})`))
  // Signals are counted on their own: a drain started by POST /drain does not make the orchestrator's
  // SIGTERM a "second" one (it waits for that drain), and SIGINT/SIGHUP still close gracefully.
  let signalled = false
  const onSignal = (signal: Signal): void => {
    if (signal === 'SIGHUP' && options.onHangup && !closing) return options.onHangup()
    if (signalled || closing) return exitNow(signal, 128 + SIGNALS[signal])
    signalled = true
    if (signal !== 'SIGTERM') return close(signal)
    if (!drain.start('SIGTERM')) app.log.info({ signal }, 'SIGTERM: a drain is already running; the proxy shuts down when it ends')
  }
  for (const signal of Object.keys(SIGNALS) as Signal[]) process.on(signal, () => onSignal(signal))
  if (options.exitOnStdinClose) {
    let ended = false
    const onEnd = (): void => {
      if (ended) return
      ended = true
      if (closing) return
      close('stdin closed')
    }
    process.stdin.on('end', onEnd)
    process.stdin.on('close', onEnd)
    process.stdin.on('error', onEnd)
    process.stdin.resume()
  }
}
