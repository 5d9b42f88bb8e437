import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Writable } from 'node:stream'
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import mcpProxy, { DrainSwitch } from '@proxy/fastify-plugin'
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

/** What a metrics registry offers a listener: the text, and its content type. */
interface MetricsSource {
  metrics(): Promise<string>
  readonly contentType: string
}

/** Host names a browser page on this machine could use (a DNS-rebound name is none of them). */
const LOOPBACK_HOST = /^(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])(:\d{1,5})?$/i

/**
 * `--metrics-port`: `GET /metrics` on a listener of its own, 127.0.0.1 only and without the API key (a
 * scraper on this machine, or a sidecar). Started with the app (a port in use fails the start), closed with it.
 */
function serveMetricsOn(app: FastifyInstance, port: number): (registry: MetricsSource) => void {
  let source: MetricsSource | undefined
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? '').split('?')[0]
    const host = request.headers.host
    if (host !== undefined && !LOOPBACK_HOST.test(host)) return void response.writeHead(403).end()
    if (path !== '/metrics' || !source) return void response.writeHead(404).end()
    if (request.method !== 'GET' && request.method !== 'HEAD') return void response.writeHead(405, { allow: 'GET, HEAD' }).end()
    source.metrics().then(
      (text) => {
        response.writeHead(200, { 'content-type': source!.contentType, 'cache-control': 'no-store' })
        response.end(request.method === 'HEAD' ? undefined : text)
      },
      (error: unknown) => {
        app.log.error({ err: error }, 'metrics could not be collected')
        response.writeHead(500).end()
      },
    )
  })
  app.addHook('onReady', async () => {
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) =>
        reject(new Error(`cannot serve metrics on 127.0.0.1:${port} (--metrics-port): ${error.code === 'EADDRINUSE' ? 'the port is already in use' : error.message}`, { cause: error })),
      )
      server.listen(port, '127.0.0.1', resolve)
    })
    const address = server.address()
    const url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : port}/metrics`
    app.log.info({ metrics: url }, `metrics served at ${url}`)
  })
  app.addHook('onClose', async () => {
    if (!server.listening) return
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
  return (registry) => {
    source = registry
  }
}

/**
 * Build the app: Fastify with its logger, and the proxy plugin registered with the options given and the
 * drain switch (which the CLI's SIGTERM handler starts).
 */
export async function buildApp(config: RunConfig, drain: DrainSwitch = new DrainSwitch()): Promise<FastifyInstance> {
  const app = Fastify(await serverOptions(config)) as unknown as FastifyInstance
  const plugin = { ...config.plugin, drain, ...(config.metricsPort === undefined ? {} : { onMetricsRegistry: serveMetricsOn(app, config.metricsPort) }) }
  await app.register(mcpProxy, plugin)
  return app
}
