import type { Logger } from '../logger.js'
import { ChildUpstream, type ChildUpstreamOptions } from '../upstream/child-upstream.js'
import type { SessionBackends } from './session-backend.js'

/** How long after the last take the pool refills. */
const REFILL_DELAY_MS = 20

/**
 * Children spawned ahead of time, so a new session does not wait for a process to start. Refilled in
 * the background after each take; a child that dies while waiting is replaced; never more than `size`.
 */
export class ChildPool implements SessionBackends {
  readonly mode = 'session'
  #options: ChildUpstreamOptions
  #size: number
  #idle: ChildUpstream[] = []
  #closed = false
  #refill: NodeJS.Timeout | undefined
  #room: () => number = () => Infinity
  #logger: Logger
  /** The last spawn failed (the command does not exist, or the child died at once). */
  lastSpawnError: string | undefined

  constructor(options: ChildUpstreamOptions, size: number) {
    this.#options = options
    this.#size = size
    this.#logger = options.logger
  }

  /** Children waiting for a session. */
  get idle(): number {
    return this.#idle.length
  }

  /** Most children kept warm. */
  get size(): number {
    return this.#size
  }

  /** Bound the pool by the process budget: `room()` is how many children may wait in it at most. */
  limitTo(room: () => number): void {
    this.#room = room
  }

  /** Start filling the pool. */
  fill(): void {
    while (!this.#closed && this.#idle.length < Math.min(this.#size, this.#room())) this.#idle.push(this.#spawn(true))
  }

  /** Resolves once the first pooled child is running; rejects (MCP_PROXY_SPAWN_FAILED) if it could not start. */
  async started(): Promise<void> {
    await this.#idle[0]?.child.started
  }

  /**
   * A started child for a new session: a pooled one if there is one, else a fresh one. With `env` (entries
   * for this session alone), always a fresh one: a warm child's environment is fixed.
   */
  take(logger: Logger, env?: Record<string, string>): ChildUpstream {
    let child: ChildUpstream | undefined
    if (env === undefined) {
      child = this.#idle.shift()
      // One that is already stopping (it closed its stdout while it waited) is of no use.
      while (child && (!child.child.alive || child.child.stopping)) child = this.#idle.shift()
    }
    child ??= this.#spawn(false, env)
    child.setUnroutedHandler((message) => logger.debug({ method: message.method }, 'MCP server message before initialize; dropped'), logger)
    // Refill once a burst of new sessions is over: spawning during it would compete with their children for CPU.
    this.refill()
    return child
  }

  /** Fill the pool again shortly (after a take, or when a slot of the process budget was freed). */
  refill(): void {
    if (this.#size > 0 && !this.#closed) this.#scheduleRefill()
  }

  #scheduleRefill(): void {
    clearTimeout(this.#refill)
    this.#refill = setTimeout(() => this.fill(), REFILL_DELAY_MS)
    this.#refill.unref()
  }

  report(sessions: number, stopping: number): Record<string, unknown> {
    return { perSession: sessions, stopping, warm: this.idle }
  }

  /** No session will take a warm child: they are stopped (the sessions' own children are not the pool's). */
  stopWarming(): Promise<void> {
    return this.close()
  }

  /** Stop every pooled child. */
  async close(): Promise<void> {
    this.#closed = true
    clearTimeout(this.#refill)
    const idle = this.#idle
    this.#idle = []
    await Promise.all(idle.map((child) => child.stop()))
  }

  #spawn(pooled: boolean, env?: Record<string, string>): ChildUpstream {
    const options = env === undefined ? this.#options : { ...this.#options, command: { ...this.#options.command, env: { ...this.#options.command.env, ...env } } }
    const child = new ChildUpstream(options)
    this.#logger.info({ childPid: child.child.pid, pooled }, 'MCP server started')
    // Readiness follows the last attempt: a spawn that fails sets the error, one that starts clears it
    // (a child that merely exits later, as every session's child does, changes nothing).
    child.child.started.then(
      () => (this.lastSpawnError = undefined),
      () => {},
    )
    child.onClosed((exit) => {
      if (exit.spawnError) this.lastSpawnError = exit.spawnError
      const index = this.#idle.indexOf(child)
      if (index === -1) return
      // It died while waiting in the pool: replace it, unless it could not even start (no respawn loop).
      this.#idle.splice(index, 1)
      // Its slot of the process budget is free once its leftovers are gone too.
      if (!exit.spawnError && exit.durationMs > 1000) void child.gone.then(() => this.fill())
    })
    return child
  }
}
