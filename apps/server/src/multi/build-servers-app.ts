import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import Fastify, { LogController, type FastifyInstance, type FastifyRequest } from 'fastify'
import { ApiKeys, bearerToken, digest, FST_MCP_PROXY_INVALID_OPTIONS, keyMatches, originGuard, presentedKey, resolveOptions, type McpProxyOptions } from '@proxy/fastify-plugin'
import { serverOptions } from '../build-app.js'
import { readConfig, type ConfigFile, type ServerEntry } from '../config-file/read-config.js'
import { UsageError, type RunConfig } from '../parse-args.js'
import type { Drainable } from '../shutdown.js'
import { serverPrefix } from './served-server.js'
import { ServerSet } from './server-set.js'

/** Options a config file may not set per server: what the file itself says (the command), paths the proxy fixes, and code. */
const NOT_SETTINGS = new Set(['command', 'args', 'cwd', 'env', 'streamEndpoint', 'sseEndpoint', 'messagesEndpoint', 'drain', 'tap', 'onMetricsRegistry', 'authenticate', 'metricsPath', 'host', 'name', 'adminToken'])

/**
 * With --config, `--resource-url` is the proxy's public base URL (`https://mcp.example.com`): each server is
 * its own protected resource, `<base>/servers/<name>/mcp`, so a token for one server is not one for another.
 */
export function serverResource(base: string, name: string): string {
  return `${base.replace(/\/+$/, '')}${serverPrefix(name)}/mcp`
}

/** The proxy serving the servers of a config file, and what the CLI drives it with. */
export interface ServersApp {
  app: FastifyInstance
  servers: ServerSet
  /** SIGTERM: drain every server, then the usual shutdown. */
  drain: Drainable
  /** SIGHUP: read the file again and apply it (a broken file changes nothing). */
  reload: () => Promise<void>
}

/**
 * The plugin options of one entry: the command line's options as defaults (not its command), the file's
 * `x-mcp-proxy` settings over them, then the entry's command, arguments, directory and environment.
 * Checked here, so that a bad setting is named with its file and server.
 */
export function entryOptions(config: RunConfig, file: string, entry: ServerEntry): McpProxyOptions {
  // The admin token opens the proxy's own POST /drain (every server), not one per server.
  const { command: _command, args: _args, cwd: _cwd, env: baseEnv, adminToken: _adminToken, ...base } = config.plugin
  for (const key of Object.keys(entry.settings)) {
    if (NOT_SETTINGS.has(key)) throw new UsageError(`${file}: server ${entry.name}, x-mcp-proxy.${key}: not a per-server setting (the server's own fields and the proxy's paths are not settings)`)
  }
  const options: McpProxyOptions = {
    ...base,
    ...(base.oauth?.resourceUrl === undefined ? {} : { oauth: { ...base.oauth, resourceUrl: serverResource(base.oauth.resourceUrl, entry.name) } }),
    ...(entry.settings as Partial<McpProxyOptions>),
    name: entry.name,
    command: entry.command,
    args: entry.args,
    env: { ...baseEnv, ...entry.env },
    ...(entry.cwd === undefined ? {} : { cwd: entry.cwd }),
  }
  try {
    resolveOptions(options)
  } catch (error) {
    if (error instanceof FST_MCP_PROXY_INVALID_OPTIONS) throw new UsageError(`${file}: server ${entry.name}: ${error.message.replace(/^Invalid @proxy\/fastify-plugin options: \//, 'x-mcp-proxy.')}`)
    throw error
  }
  return options
}

/** A drain of every server, as the shutdown handler sees one. */
class ServersDrain implements Drainable {
  #started = false
  #resolve!: (result: { outcome: string }) => void
  readonly finished = new Promise<{ outcome: string }>((resolve) => (this.#resolve = resolve))
  readonly #servers: ServerSet

  constructor(servers: ServerSet) {
    this.#servers = servers
  }

  get draining(): boolean {
    return this.#started
  }

  start(reason: string): boolean {
    if (this.#started) return false
    this.#started = true
    void this.#servers.drain(reason).then((outcome) => this.#resolve({ outcome }))
    return true
  }
}

/**
 * `mcp-proxy --config FILE`: one listening server; `/servers/<name>/…` goes to that server's own Fastify
 * instance (through `routing`, before the proxy's router), everything else to the proxy's own routes:
 * `/ping`, `/ready` (200 while at least one server can take sessions, or every one with
 * `--ready-requires-all`), and `GET /servers` (name, paths, status and health of each, as JSON).
 */
export async function buildServersApp(config: RunConfig, initial: ConfigFile, requireAll: boolean): Promise<ServersApp> {
  const options = await serverOptions(config)
  const { https, ...rest } = options
  // The set needs the app's logger, the app needs the server: the listener finds the set once it exists.
  const dispatch: { to?: ServerSet } = {}
  const serverFactory = (handler: RequestListener): ReturnType<typeof createServer> => {
    const listener = (request: IncomingMessage, response: ServerResponse): void => {
      if (!dispatch.to?.dispatch(request, response)) handler(request, response)
    }
    const server = https ? createHttpsServer(https, listener) : createServer(listener)
    server.keepAliveTimeout = config.keepAliveTimeout
    server.requestTimeout = 0
    return server as ReturnType<typeof createServer>
  }
  const app = Fastify({ ...rest, serverFactory }) as unknown as FastifyInstance
  const requestLogging = new LogController({ disableRequestLogging: config.logLevel !== 'debug' })
  const set = new ServerSet((entry) => entryOptions(config, initial.path, entry), app.log, requestLogging)
  dispatch.to = set
  const drain = new ServersDrain(set)

  // The proxy's own routes get the Host/Origin guard of the servers' (a health check may come without Host).
  const { resolved } = config
  const health = (request: FastifyRequest): boolean => request.url === '/ping' || request.url === '/ready'
  app.addHook('onRequest', originGuard(resolved.allowedOrigins, resolved.allowedHosts, health))
  const keys = resolved.apiKeys.length > 0 ? new ApiKeys(resolved.apiKeys) : undefined
  const keyGiven = (request: FastifyRequest): boolean => {
    const presented = presentedKey(request.headers)
    return presented !== undefined && keys?.match(presented) !== undefined
  }
  app.get('/ping', async (_request, reply) => reply.type('text/plain; charset=utf-8').send('pong'))
  app.get('/ready', async (_request, reply) => {
    const { ready, total } = await set.readiness()
    const serving = !drain.draining && (requireAll ? ready === total && total > 0 : ready > 0)
    return reply.code(serving ? 200 : 503).send({ status: drain.draining ? 'draining' : serving ? 'ready' : 'unavailable', servers: { ready, total } })
  })
  // Names, paths and status for anyone who may reach the proxy; health and start errors (command paths)
  // only with an API key when keys are configured.
  app.get('/servers', async (request) => {
    const servers = await set.list()
    if (!keys || keyGiven(request)) return { servers }
    return { servers: servers.map(({ name, status, streamable, sse }) => ({ name, status, ...(streamable ? { streamable } : {}), ...(sse ? { sse } : {}) })) }
  })
  if (config.plugin.adminToken !== undefined) {
    const admin = digest(config.plugin.adminToken)
    app.post('/drain', async (request, reply) => {
      const token = bearerToken(request.headers.authorization)
      if (token === undefined || !keyMatches(token, admin)) return reply.code(401).header('www-authenticate', 'Bearer realm="mcp-proxy-admin"').send({ error: 'send the admin token as Authorization: Bearer' })
      const started = drain.start('POST /drain')
      return reply.code(202).send({ status: 'draining', started })
    })
  }
  // Before the server closes: every server's streams end and its children stop.
  app.addHook('preClose', () => set.close())

  const reload = async (): Promise<void> => {
    if (drain.draining) {
      app.log.warn('SIGHUP ignored: the proxy is draining and will exit')
      return
    }
    let entries: ServerEntry[]
    try {
      const file = readConfig(initial.path, process.env)
      for (const warning of file.warnings) app.log.warn(warning)
      for (const entry of file.servers) entryOptions(config, initial.path, entry)
      entries = file.servers
    } catch (error) {
      app.log.error({ err: error }, `reload of ${initial.path} failed; the servers go on as they were`)
      return
    }
    const summary = await set.apply(entries)
    app.log.info(summary, `reloaded ${initial.path}`)
  }

  for (const warning of initial.warnings) app.log.warn(warning)
  // Every entry checked before any starts: a mistake in the file is a usage error, not a half-started proxy.
  for (const entry of initial.servers) entryOptions(config, initial.path, entry)
  await set.apply(initial.servers)
  return { app, servers: set, drain, reload }
}
