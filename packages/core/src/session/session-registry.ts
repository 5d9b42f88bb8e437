import { randomUUID } from 'node:crypto'
import type { Health, ServingMode } from '../backend/backend.js'
import type { EventStore } from '../events/event-store.js'
import { ProxyError } from '../errors.js'
import type { Logger } from '../logger.js'
import type { Tap } from '../tap/tap.js'
import type { SessionBackends } from './session-backend.js'
import type { BacklogLimit } from './event-stream.js'
import type { RootsPolicy } from './roots-policy.js'
import { Session, type SessionTransport } from './session.js'

export interface SessionRegistryOptions {
  /** Where sessions get their backends: the warm pool of per-session children, or the shared children. */
  pool: SessionBackends
  /**
   * Most sessions alive at once. At the cap, the session idle longest (no open stream, nothing in
   * flight) is closed to make room; if every session is busy, a new one is refused (the HTTP edge
   * answers 503). Child processes, those still being stopped included, never exceed this plus the
   * pool's size.
   */
  maxSessions: number
  /** A session with no open connection and no activity for this long is closed; 0 = never. */
  idleTimeoutMs: number
  /** A new event store for each session, or undefined to keep no events (no resumability). */
  createEventStore: (() => EventStore) | undefined
  /** How long a new session's child may take to answer `initialize`. */
  initializeTimeoutMs: number
  /** Prefix of every session id (an instance tag for load balancers); visible ASCII, may be empty. */
  idPrefix: string
  /** What each child learns about its client's roots. @default forward */
  roots?: RootsPolicy
  /** Bound of the server messages a session keeps for a GET stream that is not connected. */
  backlogLimit?: BacklogLimit
  /** How long `open` waits for a child of a closed session to finish stopping when no process slot is free. @default 1000 */
  slotWaitMs?: number
  /** Where sessions opening and closing are reported. */
  tap?: Tap
  logger: Logger
}

/** What a new session is told about its client, from the request that opens it. */
export interface SessionStart {
  /** Send priming events on its POST streams (see SessionOptions.priming). @default true */
  priming?: boolean
  /** The principal the session is bound to (see `lookup`). @default 'anonymous' */
  owner?: string
  /**
   * Entries added to this session's child environment (the user's identity, from their token's claims).
   * Such a session gets a child spawned for it, never a warm one started before anyone asked.
   */
  env?: Record<string, string>
}

/** Counters of what the registry had to give up, for health and metrics. */
export interface SessionStats {
  /** Sessions closed to make room for a new one at the session cap. */
  evicted: number
  /** Server messages dropped because their session's client stayed away (backlog over its bound). */
  backlogDroppedEvents: number
  backlogDroppedBytes: number
}

/** Creates, finds, reaps and closes sessions. */
export class SessionRegistry implements ServingMode {
  readonly stats: SessionStats = { evicted: 0, backlogDroppedEvents: 0, backlogDroppedBytes: 0 }
  #sessions = new Map<string, Session>()
  /** Children of closed sessions that are still in the stop ladder (or whose leftovers are). */
  #stopping = new Set<Promise<unknown>>()
  #options: SessionRegistryOptions
  #reaper: NodeJS.Timeout | undefined
  #closing = false
  #admitting = true
  #poolClosed: Promise<void> | undefined

  constructor(options: SessionRegistryOptions) {
    this.#options = options
    // Warm children come out of the same process budget: sessions + stopping + warm ≤ cap + pool size.
    options.pool.limitTo(() => this.#processBudget - this.#sessions.size - this.#stopping.size)
    if (options.idleTimeoutMs > 0) {
      // A tenth of the timeout (at most 5 s): a session is closed close to when it became idle too long.
      this.#reaper = setInterval(() => this.reapIdle(), Math.min(5000, Math.max(50, options.idleTimeoutMs / 10)))
      this.#reaper.unref()
    }
  }

  get size(): number {
    return this.#sessions.size
  }

  /**
   * Drain: refuse new sessions from now on (MCP_PROXY_DRAINING); the open ones go on. The warm pool is
   * emptied, since no session will take its children.
   */
  stopAdmitting(): void {
    if (!this.#admitting) return
    this.#admitting = false
    this.#poolClosed = this.#options.pool.stopWarming()
  }

  /** Children of closed sessions still being stopped. */
  get stopping(): number {
    return this.#stopping.size
  }

  get #processBudget(): number {
    return this.#options.maxSessions + this.#options.pool.size
  }

  /** A new session can get a child now: a warm one, or a new process within the budget. */
  get #processSlotFree(): boolean {
    const { pool } = this.#options
    return pool.idle > 0 || this.#sessions.size + this.#stopping.size + pool.idle < this.#processBudget
  }

  /**
   * Start a session with its own child, now. At the session cap the session idle longest gives way.
   * Throws MCP_PROXY_SESSION_LIMIT when every session is busy or no process slot is free,
   * MCP_PROXY_DRAINING while draining, MCP_PROXY_CLOSED when shutting down.
   */
  create(transport: SessionTransport, start: SessionStart = {}): Session {
    this.#refuseUnlessAdmitting()
    this.#makeRoom()
    if (!this.#processSlotFree) throw this.#limitError('the child processes of closed sessions are still stopping')
    return this.#start(transport, start)
  }

  /**
   * Like `create`, but when the only thing missing is a process slot (children of closed sessions are
   * still stopping), wait for one to finish, at most `slotWaitMs`.
   */
  async open(transport: SessionTransport, start: SessionStart = {}): Promise<Session> {
    this.#refuseUnlessAdmitting()
    const deadline = Date.now() + (this.#options.slotWaitMs ?? 1000)
    for (;;) {
      // Room is made again after each wait: a concurrent open may have taken the slot this one waited for.
      this.#makeRoom()
      if (this.#processSlotFree) break
      const left = deadline - Date.now()
      if (this.#stopping.size === 0 || left <= 0) throw this.#limitError('the child processes of closed sessions are still stopping')
      let timer: NodeJS.Timeout | undefined
      await Promise.race([...this.#stopping, new Promise((resolve) => (timer = setTimeout(resolve, left)))])
      clearTimeout(timer)
      this.#refuseUnlessAdmitting()
    }
    return this.create(transport, start)
  }

  #refuseUnlessAdmitting(): void {
    if (this.#closing) throw new ProxyError('MCP_PROXY_CLOSED', 'The proxy is shutting down')
    if (!this.#admitting) throw new ProxyError('MCP_PROXY_DRAINING', 'The proxy is draining: it takes no new sessions; open one on another instance')
  }

  // At the cap, close the session idle longest (no open stream, no request in flight), or refuse.
  #makeRoom(): void {
    if (this.#sessions.size < this.#options.maxSessions) return
    let oldest: Session | undefined
    for (const session of this.#sessions.values()) {
      if (session.connected || session.busy || session.justOpened) continue
      if (!oldest || session.lastActivity < oldest.lastActivity) oldest = session
    }
    if (!oldest) throw this.#limitError('every session has an open stream or a request in flight')
    this.stats.evicted++
    this.#options.logger.info({ session: oldest.id, idleMs: Date.now() - oldest.lastActivity }, 'session cap reached: the session idle longest is closed to make room')
    void oldest.close()
  }

  #limitError(why: string): ProxyError {
    return new ProxyError('MCP_PROXY_SESSION_LIMIT', `Too many sessions (limit ${this.#options.maxSessions}): ${why}; retry later`)
  }

  #start(transport: SessionTransport, start: SessionStart): Session {
    const id = this.#options.idPrefix + randomUUID()
    const logger = this.#options.logger
    const sessionLogger = logger.child?.({ session: id }) ?? logger
    const session = new Session({
      id,
      transport,
      ...(start.owner === undefined ? {} : { owner: start.owner }),
      backend: this.#options.pool.take(sessionLogger, start.env),
      // The legacy transport has no event ids (and no resumption): it keeps no events.
      store: transport === 'streamable' ? this.#options.createEventStore?.() : undefined,
      initializeTimeoutMs: this.#options.initializeTimeoutMs,
      ...(this.#options.roots ? { roots: this.#options.roots } : {}),
      ...(this.#options.backlogLimit ? { backlogLimit: this.#options.backlogLimit } : {}),
      ...(start.priming === undefined ? {} : { priming: start.priming }),
      logger: sessionLogger,
      onBacklogDropped: (events, bytes) => {
        this.stats.backlogDroppedEvents += events
        this.stats.backlogDroppedBytes += bytes
        if (this.#options.tap?.active) this.#options.tap.emit({ type: 'events-dropped', events, bytes, why: 'backlog' })
      },
      onClosed: (closed) => {
        this.#sessions.delete(closed.id)
        // Its child counts against the process budget until it and its leftovers are gone; then the
        // warm pool may grow back into the freed slot.
        const gone: Promise<unknown> = closed.backend.gone.then(() => {
          this.#stopping.delete(gone)
          if (!this.#closing) this.#options.pool.refill()
        })
        this.#stopping.add(gone)
        const durationMs = Date.now() - closed.createdAt
        sessionLogger.info({ transport, childPid: closed.backend.pid, durationMs }, 'session closed')
        if (this.#options.tap?.active) this.#options.tap.emit({ type: 'session-closed', session: closed.id, transport, durationMs })
      },
    })
    this.#sessions.set(id, session)
    sessionLogger.info({ transport, childPid: session.backend.pid }, 'session opened')
    if (this.#options.tap?.active) this.#options.tap.emit({ type: 'session-opened', session: id, transport })
    return session
  }

  get(id: string): Session | undefined {
    return this.#sessions.get(id)
  }

  /**
   * The session `id` if `owner` opened it. Another principal is told nothing more than for an id that never
   * existed (the HTTP edge answers both 404), so a session id is no credential and leaks no one's session.
   */
  lookup(id: string, owner: string): Session | undefined {
    const session = this.#sessions.get(id)
    return session !== undefined && session.owner === owner ? session : undefined
  }

  /** Close sessions idle past the timeout; a session with an open connection or a request in flight is never reaped. */
  reapIdle(now = Date.now()): number {
    let reaped = 0
    for (const session of [...this.#sessions.values()]) {
      // A call still running is not idleness either (its client may resume the stream); the request
      // timeout bounds it.
      if (session.connected || session.busy || now - session.lastActivity < this.#options.idleTimeoutMs) continue
      this.#options.logger.info({ session: session.id }, 'session idle; reaped')
      void session.close()
      reaped++
    }
    return reaped
  }

  /** Fill the warm pool; rejects (MCP_PROXY_SPAWN_FAILED) if the first child cannot be started. */
  async start(): Promise<void> {
    this.#options.pool.fill()
    await this.#options.pool.started()
  }

  health(): Health {
    const { pool, maxSessions } = this.#options
    const lastSpawnError = pool.lastSpawnError
    const { evicted, backlogDroppedEvents, backlogDroppedBytes } = this.stats
    return {
      ready: lastSpawnError === undefined,
      report: {
        mode: pool.mode,
        sessions: this.size,
        maxSessions,
        children: pool.report(this.size, this.stopping),
        // What the proxy gave up to stay bounded, since it started.
        evicted,
        backlogDropped: { events: backlogDroppedEvents, bytes: backlogDroppedBytes },
        ...(lastSpawnError ? { lastSpawnError } : {}),
      },
    }
  }

  /** Close every session and stop every child (and the pool); resolves when all children are gone. */
  async close(): Promise<void> {
    this.#closing = true
    if (this.#reaper) clearInterval(this.#reaper)
    const sessions = [...this.#sessions.values()]
    await Promise.all([...sessions.map((s) => s.close()), this.#poolClosed, this.#options.pool.close(), ...this.#stopping])
  }
}
