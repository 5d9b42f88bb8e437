import type { IncomingMessage, ServerResponse } from 'node:http'
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type LightMyRequestResponse, type LogController } from 'fastify'
import mcpProxy, { DrainSwitch, resolveOptions, type McpProxyOptions } from '@proxy/fastify-plugin'

/** Where one server of a config file is in its life. */
export type ServerStatus = 'starting' | 'ready' | 'failed' | 'draining'

/** What `GET /servers` shows of one server. */
export interface ServerReport {
  name: string
  status: ServerStatus
  /** The paths it is served at (absent when its transport is off). */
  streamable?: string
  sse?: string
  /** Why it failed to start. */
  error?: string
  /** Its own `/ready` report (sessions, children…), once it runs. */
  health?: Record<string, unknown>
}

/** The prefix every path of one server starts with. */
export const serverPrefix = (name: string): string => `/servers/${name}`

/**
 * One server of a config file: its own Fastify instance (never listening: the proxy's one server hands it
 * its requests with `routing`), the plugin registered under `/servers/<name>`, its own drain switch, and a
 * logger whose every line carries `server: <name>`. Started in the background; a server that cannot
 * start is reported, and the others go on.
 */
export class ServedServer {
  readonly name: string
  readonly fingerprint: string
  readonly drain = new DrainSwitch()
  #status: ServerStatus = 'starting'
  #error: string | undefined
  #app: FastifyInstance | undefined
  readonly #options: McpProxyOptions
  /** The Host its own readiness is asked with: one its Host guard allows. */
  readonly #probeHost: string
  /** Settles when the start is over, however it went. */
  readonly started: Promise<void>

  readonly #logController: LogController

  constructor(name: string, fingerprint: string, options: McpProxyOptions, logger: FastifyBaseLogger, logController: LogController) {
    this.name = name
    this.#logController = logController
    this.fingerprint = fingerprint
    this.#options = options
    const allowed = resolveOptions(options).allowedHosts
    this.#probeHost = allowed === undefined ? 'localhost' : ([...allowed][0] ?? 'localhost')
    this.drain.onChange((state) => {
      if (state === 'draining' && this.#status === 'ready') this.#status = 'draining'
    })
    this.started = this.#start(logger.child({ server: name }))
  }

  get status(): ServerStatus {
    return this.#status
  }

  async #start(logger: FastifyBaseLogger): Promise<void> {
    // The proxy's own logger (a child naming the server) and request logging as the CLI set it (--verbose).
    const app = Fastify({ loggerInstance: logger, logController: this.#logController, return503OnClosing: false }) as unknown as FastifyInstance
    try {
      await app.register(mcpProxy, { ...this.#options, prefix: serverPrefix(this.name), drain: this.drain })
      // ready() starts the warm children: a command that cannot be spawned fails here.
      await app.ready()
      this.#app = app
      if (this.#status === 'starting') this.#status = 'ready'
      logger.info({ prefix: serverPrefix(this.name) }, `server ${this.name} ready`)
    } catch (error) {
      this.#status = 'failed'
      this.#error = error instanceof Error ? error.message : String(error)
      logger.error({ err: error }, `server ${this.name} failed to start; the other servers go on`)
      await app.close().catch(() => undefined)
    }
  }

  /** Hand a request of this server's paths to its app; false while it has none (starting, failed). */
  route(request: IncomingMessage, response: ServerResponse): boolean {
    if (!this.#app) return false
    this.#app.routing(request, response)
    return true
  }

  /** Its report for `GET /servers`, with its own readiness. */
  async report(): Promise<ServerReport> {
    const prefix = serverPrefix(this.name)
    const { streamEndpoint = '/mcp', sseEndpoint = '/sse', stateless } = this.#options
    const report: ServerReport = { name: this.name, status: this.#status }
    if (streamEndpoint !== false) report.streamable = prefix + streamEndpoint
    if (sseEndpoint !== false && stateless !== true) report.sse = prefix + sseEndpoint
    if (this.#error !== undefined) report.error = this.#error
    if (this.#app) {
      report.health = (await this.#readiness(this.#app)).json()
    }
    return report
  }

  /** Can it take new sessions now? */
  async ready(): Promise<boolean> {
    if (!this.#app || this.#status !== 'ready') return false
    return (await this.#readiness(this.#app)).statusCode === 200
  }

  /** Its plugin's own `/ready`, asked in-process. */
  #readiness(app: FastifyInstance): Promise<LightMyRequestResponse> {
    return app.inject({ method: 'GET', url: `${serverPrefix(this.name)}/ready`, headers: { host: this.#probeHost } })
  }

  /** Drain (no new sessions; open ones go on until they end or the drain timeout), then stop. */
  async retire(reason: string): Promise<void> {
    await this.started
    if (!this.#app) return
    this.drain.start(reason)
    await this.drain.finished
    await this.close()
  }

  /** Stop now: open streams end, every child is stopped. */
  async close(): Promise<void> {
    await this.started
    const app = this.#app
    this.#app = undefined
    await app?.close()
  }
}
