/** The logging surface the core needs; pino (and so Fastify's logger) satisfies it. */
export interface Logger {
  debug(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
  /** A logger that adds `bindings` to every line (pino's `child`). */
  child?(bindings: object): Logger
}

const noop = (): void => {}

/** A logger that drops everything, for callers that pass none. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop }
