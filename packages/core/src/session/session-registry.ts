import { randomUUID } from 'node:crypto'
import type { EventStore } from '../events/event-store.js'
import { ProxyError } from '../errors.js'
import type { Logger } from '../logger.js'
import type { ChildPool } from './child-pool.js'
import { Session, type SessionTransport } from './session.js'

export interface SessionRegistryOptions {
  pool: ChildPool
  /** Most sessions alive at once; one more is refused (the HTTP edge answers 503). */
  maxSessions: number
  /** A session with no open connection and no activity for this long is closed; 0 = never. */
  idleTimeoutMs: number
  /** A new event store for each session, or undefined to keep no events (no resumability). */
  createEventStore: (() => EventStore) | undefined
  /** How long a new session's child may take to answer `initialize`. */
  initializeTimeoutMs: number
  /** Prefix of every session id (an instance tag for load balancers); visible ASCII, may be empty. */
  idPrefix: string
  logger: Logger
}

/** Creates, finds, reaps and closes sessions. */
export class SessionRegistry {
  #sessions = new Map<string, Session>()
  /** Children of closed sessions that are still in the stop ladder. */
  #stopping = new Set<Promise<unknown>>()
  #options: SessionRegistryOptions
  #reaper: NodeJS.Timeout | undefined
  #closing = false

  constructor(options: SessionRegistryOptions) {
    this.#options = options
    options.pool.limitTo(() => options.maxSessions - this.#sessions.size)
    if (options.idleTimeoutMs > 0) {
      this.#reaper = setInterval(() => this.reapIdle(), Math.min(60_000, Math.max(50, options.idleTimeoutMs / 4)))
      this.#reaper.unref()
    }
  }

  get size(): number {
    return this.#sessions.size
  }

  /** Start a session with its own child. Throws MCP_PROXY_SESSION_LIMIT when full, MCP_PROXY_CLOSED when shutting down. */
  create(transport: SessionTransport): Session {
    if (this.#closing) throw new ProxyError('MCP_PROXY_CLOSED', 'The proxy is shutting down')
    if (this.#sessions.size >= this.#options.maxSessions) {
      throw new ProxyError('MCP_PROXY_SESSION_LIMIT', `Too many sessions (limit ${this.#options.maxSessions}); retry later`)
    }
    const id = this.#options.idPrefix + randomUUID()
    const logger = this.#options.logger
    const sessionLogger = logger.child?.({ session: id }) ?? logger
    const session = new Session({
      id,
      transport,
      backend: this.#options.pool.take(sessionLogger),
      // The legacy transport has no event ids (and no resumption): it keeps no events.
      store: transport === 'streamable' ? this.#options.createEventStore?.() : undefined,
      initializeTimeoutMs: this.#options.initializeTimeoutMs,
      logger: sessionLogger,
      onClosed: (closed) => {
        this.#sessions.delete(closed.id)
        const exited: Promise<unknown> = closed.backend.exited.then(() => this.#stopping.delete(exited))
        this.#stopping.add(exited)
        sessionLogger.info({ transport, childPid: closed.backend.child.pid, durationMs: Date.now() - closed.createdAt }, 'session closed')
      },
    })
    this.#sessions.set(id, session)
    sessionLogger.info({ transport, childPid: session.backend.child.pid }, 'session opened')
    return session
  }

  get(id: string): Session | undefined {
    return this.#sessions.get(id)
  }

  /** Close sessions idle past the timeout; a session with an open connection is never reaped. */
  reapIdle(now = Date.now()): number {
    let reaped = 0
    for (const session of [...this.#sessions.values()]) {
      if (session.connected || now - session.lastActivity < this.#options.idleTimeoutMs) continue
      this.#options.logger.info({ session: session.id }, 'session idle; reaped')
      void session.close()
      reaped++
    }
    return reaped
  }

  /** Close every session and stop every child (and the pool); resolves when all children are gone. */
  async closeAll(): Promise<void> {
    this.#closing = true
    if (this.#reaper) clearInterval(this.#reaper)
    const sessions = [...this.#sessions.values()]
    await Promise.all([...sessions.map((s) => s.close()), this.#options.pool.close(), ...this.#stopping])
  }

  /** Kill every child at once (the process is exiting and cannot wait). */
  killAll(): void {
    for (const session of this.#sessions.values()) session.backend.child.kill()
    this.#options.pool.kill()
  }
}
