import { readFileSync } from 'node:fs'
import type { Writable } from 'node:stream'
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import mcpProxy from '@proxy/fastify-plugin'
import type { RunConfig } from './parse-args.js'

/** Where secrets could appear in a log line: never written, whatever the level. */
export const REDACT = ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie', 'headers.authorization', 'headers["x-api-key"]']

/** Logs go to stderr (stdout stays clean): readable on a terminal, one JSON object per line otherwise. */
async function logStream(config: RunConfig): Promise<Writable> {
  const isTTY = process.stderr.isTTY === true
  const format = config.logFormat ?? (isTTY ? 'pretty' : 'json')
  if (format === 'json') return process.stderr
  // Loaded only when used (it costs memory a JSON-logging server does not need).
  const { default: pretty } = await import('pino-pretty')
  // sync: the last lines before process.exit() are not lost.
  return pretty({ destination: 2, sync: true, colorize: isTTY, translateTime: 'SYS:HH:MM:ss.l' })
}

function readPem(path: string, flag: string): Buffer {
  try {
    return readFileSync(path)
  } catch (error) {
    throw new Error(`cannot read the ${flag} file ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { cause: error })
  }
}

/** Fastify options of the CLI: logger, HTTPS, keep-alive, and a close that idle sockets cannot hold up. */
export async function serverOptions(config: RunConfig): Promise<FastifyServerOptions & { https?: { cert: Buffer; key: Buffer; ca?: Buffer } }> {
  const { tls } = config
  return {
    logger: {
      level: config.logLevel,
      redact: REDACT,
      // No pid/hostname on every line: `childPid` and `session` are what a reader needs.
      base: null,
      stream: await logStream(config),
    },
    // "incoming request" / "request completed" lines only with --verbose.
    logController: new LogController({ disableRequestLogging: config.logLevel !== 'debug' }),
    // The plugin ends open streams in preClose; idle keep-alive sockets must not hold close() open.
    forceCloseConnections: true,
    // During shutdown the plugin answers every request itself (503, Retry-After, a JSON-RPC error body).
    return503OnClosing: false,
    keepAliveTimeout: config.keepAliveTimeout,
    // SSE responses live long: no whole-request deadline (bodies are bounded by --max-body-size and --body-timeout).
    requestTimeout: 0,
    ...(tls
      ? {
          https: {
            cert: readPem(tls.cert, '--ssl-cert'),
            key: readPem(tls.key, '--ssl-key'),
            ...(tls.ca === undefined ? {} : { ca: readPem(tls.ca, '--ssl-ca') }),
          },
        }
      : {}),
  }
}

/** Build the app: Fastify with its logger, and the proxy plugin registered with the options given. */
export async function buildApp(config: RunConfig): Promise<FastifyInstance> {
  const app = Fastify(await serverOptions(config)) as unknown as FastifyInstance
  await app.register(mcpProxy, config.plugin)
  return app
}
