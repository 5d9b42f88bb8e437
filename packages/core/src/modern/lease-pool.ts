import type { Logger } from '../logger.js'
import type { SharedChild } from '../stateless/shared-child.js'

/** Who holds a child exclusively: its requests to the client are that holder's. */
export interface LeaseHolder {
  readonly id: unknown
}

/** One pre-initialized child of the modern leg and who holds it, if anyone. */
export class PooledChild {
  readonly child: SharedChild
  holder: LeaseHolder | undefined
  idleSince = Date.now()
  /** When the child last sent a message that answers no request (an ask, a log, a notification). */
  lastHeard = 0

  /** `make` builds the child, knowing the PooledChild it belongs to (its messages name their child). */
  constructor(make: (self: PooledChild) => SharedChild) {
    this.child = make(this)
  }
}

export interface LeasePoolOptions {
  /** The primary child: it also serves every non-interactive request, leased or not. */
  primary: PooledChild
  /** Spawn and initialize one more child like the primary (its end must call `forget`); rejects if it cannot start. */
  spawn: () => Promise<PooledChild>
  /** Most children at once, the primary included. */
  maxChildren: number
  /** Calls that may wait for a lease beyond that; more are refused at once. */
  maxQueued: number
  /** How long a call waits for a lease before it is refused. */
  queueTimeoutMs: number
  /** A child other than the primary idle this long is stopped. */
  idleMs: number
  /**
   * Every child is held and no more may start: free one if some holder can give way (a call parked
   * longest, waiting for a client that may never come back). True if a child will be released.
   */
  reclaim?: () => boolean
  logger: Logger
}

interface Waiter {
  holder: LeaseHolder
  resolve: (child: PooledChild | undefined) => void
  timer: NodeJS.Timeout
}

/**
 * Exclusive leases on pre-initialized children, one per interactive call in flight: stdio never links a
 * child's request to the call that caused it, so a child asking mid-call must have exactly one caller.
 * The primary child first, then more children grown on demand up to `maxChildren` and stopped when idle,
 * then a bounded FIFO queue.
 */
export class LeasePool {
  #options: LeasePoolOptions
  #children: PooledChild[]
  #spawning = 0
  #queue: Waiter[] = []
  #reaper: NodeJS.Timeout
  #closed = false

  constructor(options: LeasePoolOptions) {
    this.#options = options
    this.#children = [options.primary]
    this.#reaper = setInterval(() => this.#reapIdle(), Math.max(50, Math.min(5000, options.idleMs / 2)))
    this.#reaper.unref()
  }

  /** Children alive, the primary included (one being spawned counts). */
  get size(): number {
    return this.#children.length + this.#spawning
  }

  get leased(): number {
    return this.#children.filter((c) => c.holder !== undefined).length
  }

  get queued(): number {
    return this.#queue.length
  }

  /** A child held by `holder` alone until `release`; undefined when the queue is full or the wait timed out. */
  async acquire(holder: LeaseHolder, signal?: AbortSignal): Promise<PooledChild | undefined> {
    if (this.#closed || signal?.aborted) return undefined
    const free = this.#children.find((c) => c.holder === undefined && c.child.state === 'up')
    if (free) return this.#lease(free, holder)
    if (this.size < this.#options.maxChildren) {
      this.#spawning++
      try {
        const spawned = await this.#options.spawn()
        if (this.#closed) {
          void spawned.child.close()
          return undefined
        }
        this.#children.push(spawned)
        return this.#lease(spawned, holder)
      } catch (error) {
        this.#options.logger.warn({ err: error }, 'an extra MCP server for an interactive 2026-07-28 call could not be started; the call waits for a lease')
      } finally {
        this.#spawning--
      }
    }
    if (this.#queue.length >= this.#options.maxQueued) return undefined
    const waiting = this.#wait(holder, signal)
    // Queued first, so the child a reclaim frees goes to the longest waiter.
    if (this.#queue.length > this.#children.filter((c) => c.holder === undefined).length) this.#options.reclaim?.()
    return waiting
  }

  // Wait in the queue until a child is released, the wait times out, or the caller gives up (its client left).
  #wait(holder: LeaseHolder, signal: AbortSignal | undefined): Promise<PooledChild | undefined> {
    return new Promise((resolve) => {
      const leave = (): void => {
        const index = this.#queue.indexOf(waiter)
        if (index === -1) return
        this.#queue.splice(index, 1)
        clearTimeout(waiter.timer)
        resolve(undefined)
      }
      const waiter: Waiter = { holder, resolve, timer: setTimeout(leave, this.#options.queueTimeoutMs) }
      waiter.timer.unref()
      this.#queue.push(waiter)
      signal?.addEventListener('abort', leave, { once: true })
    })
  }

  /** Give the child back: the next waiter gets it, or it idles (and a child other than the primary is reaped later). */
  release(pooled: PooledChild): void {
    pooled.holder = undefined
    pooled.idleSince = Date.now()
    if (!this.#children.includes(pooled) || pooled.child.state !== 'up') return
    const waiter = this.#queue.shift()
    if (!waiter) return
    clearTimeout(waiter.timer)
    waiter.resolve(this.#lease(pooled, waiter.holder))
  }

  /** Stop every child but the primary (the leg closes that one); waiters are refused. */
  async close(): Promise<void> {
    this.#closed = true
    clearInterval(this.#reaper)
    for (const waiter of this.#queue.splice(0)) {
      clearTimeout(waiter.timer)
      waiter.resolve(undefined)
    }
    const extras = this.#children.filter((c) => c !== this.#options.primary)
    this.#children = [this.#options.primary]
    await Promise.all(extras.map((c) => c.child.close()))
  }

  #lease(pooled: PooledChild, holder: LeaseHolder): PooledChild {
    pooled.holder = holder
    return pooled
  }

  /** A child other than the primary ended (or idled out): it leaves the pool and is stopped for good. */
  forget(pooled: PooledChild): void {
    this.#remove(pooled)
  }

  #remove(pooled: PooledChild): void {
    const index = this.#children.indexOf(pooled)
    if (index === -1 || pooled === this.#options.primary) return
    this.#children.splice(index, 1)
    void pooled.child.close()
  }

  #reapIdle(): void {
    const now = Date.now()
    for (const pooled of [...this.#children]) {
      if (pooled === this.#options.primary || pooled.holder !== undefined || now - pooled.idleSince < this.#options.idleMs) continue
      this.#options.logger.info({ childPid: pooled.child.pid }, 'an extra MCP server of the 2026-07-28 leg was idle; stopped')
      this.#remove(pooled)
    }
  }
}
