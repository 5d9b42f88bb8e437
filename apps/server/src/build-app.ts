import { readFileSync } from 'node:fs'
import Fastify, { LogController, type FastifyInstance } from 'fastify'
import mcpProxy from '@proxy/fastify-plugin'
import pretty from 'pino-pretty'
import type { CliOptions } from './parse-args.js'

/** Headers whose values are secrets: never written to the log. */
const REDACT = ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie']

/** Build the Fastify app: logger on stderr, HTTPS if asked, the proxy plugin registered. */
export async function buildApp(options: CliOptions): Promise<FastifyInstance> {
  const usePretty = options.logFormat === 'pretty' || (options.logFormat === undefined && process.stderr.isTTY === true)
  const stream = usePretty ? pretty({ destination: 2, colorize: process.stderr.isTTY === true, ignore: 'pid,hostname' }) : process.stderr
  const app = Fastify({
    logger: { level: options.logLevel, redact: REDACT, stream },
    // Per-request lines ("incoming request", "request completed") only with --verbose.
    logController: new LogController({ disableRequestLogging: options.logLevel !== 'debug' }),
    // Streams are ended by the plugin before close; idle keep-alive sockets must not hold shutdown.
    forceCloseConnections: true,
    keepAliveTimeout: options.keepAliveTimeout,
    // SSE streams are long-lived: no whole-request deadline (bodies are bounded by --max-body-size).
    requestTimeout: 0,
    ...(options.https
      ? {
          https: {
            cert: readFileSync(options.https.cert),
            key: readFileSync(options.https.key),
            ...(options.https.ca ? { ca: readFileSync(options.https.ca) } : {}),
          },
        }
      : {}),
  })
  await app.register(mcpProxy, options.plugin)
  return app
}
