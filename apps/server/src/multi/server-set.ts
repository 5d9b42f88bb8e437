import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyBaseLogger, LogController } from 'fastify'
import type { McpProxyOptions } from '@proxy/fastify-plugin'
import type { ServerEntry } from '../config-file/read-config.js'
import { ServedServer, type ServerReport } from './served-server.js'

/** The plugin options of one entry: the command line's as defaults, the entry's `x-mcp-proxy` over them. */
export type OptionsOf = (entry: ServerEntry) => McpProxyOptions

/** What a reload did, by server name. */
export interface ReloadSummary {
  added: string[]
  removed: string[]
  changed: string[]
  unchanged: string[]
}

/** `/servers/<name>/…` and the server's own protected resource metadata (`/.well-known/oauth-protected-resource/servers/<name>/…`). */
const SERVER_PATH = /^(?:\/\.well-known\/oauth-protected-resource)?\/servers\/([A-Za-z0-9][A-Za-z0-9_-]{0,63})(?:[/?]|$)/

/**
 * The servers of a config file, by name. Hands each request under `/servers/<name>/` to its server, and
 * applies a new version of the file: added servers start, removed ones drain and stop, changed ones
 * restart (their sessions end: a client gets 404 and initializes again), unchanged ones are not touched.
 */
export class ServerSet {
  readonly #servers = new Map<string, ServedServer>()
  /** Removed servers still draining: their open sessions are still served. */
  readonly #retiring = new Set<ServedServer>()
  readonly #optionsOf: OptionsOf
  readonly #logger: FastifyBaseLogger
  #closed = false
  #draining = false

  readonly #logController: LogController

  constructor(optionsOf: OptionsOf, logger: FastifyBaseLogger, logController: LogController) {
    this.#optionsOf = optionsOf
    this.#logger = logger
    this.#logController = logController
  }

  /** Start, stop and restart servers so that the set matches `entries`; resolves once every new server's start is over. */
  async apply(entries: readonly ServerEntry[]): Promise<ReloadSummary> {
    const summary: ReloadSummary = { added: [], removed: [], changed: [], unchanged: [] }
    // Once draining or closed, the set only shrinks: a server started now would take sessions the exit cuts.
    if (this.#closed || this.#draining) return summary
    const wanted = new Map(entries.map((entry) => [entry.name, entry]))
    for (const [name, server] of this.#servers) {
      if (wanted.has(name)) continue
      summary.removed.push(name)
      this.#servers.delete(name)
      this.#retire(server, 'removed from the config file')
    }
    const starting: Promise<void>[] = []
    for (const entry of entries) {
      const current = this.#servers.get(entry.name)
      // A server that failed to start is started again by a reload, even when its entry is the same.
      if (current && current.fingerprint === entry.fingerprint && current.status !== 'failed') {
        summary.unchanged.push(entry.name)
        continue
      }
      if (current) {
        summary.changed.push(entry.name)
        void current.close().catch((error: unknown) => this.#logger.error({ err: error, server: entry.name }, 'closing a changed server failed'))
      } else summary.added.push(entry.name)
      const server = new ServedServer(entry.name, entry.fingerprint, this.#optionsOf(entry), this.#logger, this.#logController)
      this.#servers.set(entry.name, server)
      starting.push(server.started)
    }
    await Promise.all(starting)
    return summary
  }

  #retire(server: ServedServer, reason: string): void {
    this.#retiring.add(server)
    void server
      .retire(reason)
      .catch((error: unknown) => this.#logger.error({ err: error, server: server.name }, 'stopping a removed server failed'))
      .finally(() => this.#retiring.delete(server))
  }

  /**
   * Serve a request of a server's paths. True when it was handed over (or answered: a server that is not
   * running gets 503); false for any other path, which the proxy's own routes serve.
   */
  dispatch(request: IncomingMessage, response: ServerResponse): boolean {
    const name = SERVER_PATH.exec(request.url ?? '')?.[1]
    if (name === undefined) return false
    // The current server of that name, else the newest removed one still draining (its sessions go on).
    const server = this.#servers.get(name) ?? [...this.#retiring].reverse().find((s) => s.name === name)
    if (server?.route(request, response)) return true
    if (!server) return false // unknown name: the proxy's 404
    const why = server.status === 'failed' ? 'not running (it failed to start; see GET /servers)' : server.status === 'starting' ? 'starting' : 'stopping (removed or changed in the config file)'
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: null,
      error: { code: -32000, message: `Service Unavailable: the MCP server ${name} is ${why}`, data: { reason: 'MCP_PROXY_SERVER_UNAVAILABLE' } },
    })
    response.writeHead(503, { 'content-type': 'application/json; charset=utf-8', 'retry-after': '5', 'content-length': Buffer.byteLength(body) })
    response.end(body)
    return true
  }

  /** Every server, in the file's order, then the removed ones still draining, for `GET /servers`. */
  list(): Promise<ServerReport[]> {
    return Promise.all([...this.#servers.values(), ...this.#retiring].map((server) => server.report()))
  }

  /** How many servers can take new sessions, of how many. */
  async readiness(): Promise<{ ready: number; total: number }> {
    const states = await Promise.all([...this.#servers.values()].map((server) => server.ready()))
    return { ready: states.filter(Boolean).length, total: states.length }
  }

  /** Drain every server (SIGTERM); resolves when each drain has ended: `timeout` if any ran out of time. */
  async drain(reason: string): Promise<'idle' | 'timeout'> {
    this.#draining = true
    const servers = [...this.#servers.values()]
    await Promise.all(servers.map((server) => server.started))
    const running = servers.filter((server) => server.status !== 'failed')
    for (const server of running) server.drain.start(reason)
    const results = await Promise.all(running.map((server) => server.drain.finished))
    return results.some((result) => result.outcome === 'timeout') ? 'timeout' : 'idle'
  }

  /** Stop every server and every child, draining ones included. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    const all = [...this.#servers.values(), ...this.#retiring]
    this.#servers.clear()
    this.#logger.info({ servers: all.length }, 'stopping every server')
    await Promise.all(all.map((server) => server.close()))
  }
}
