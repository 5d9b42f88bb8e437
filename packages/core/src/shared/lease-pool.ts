import type { Logger } from '../logger.js'
import type { SharedChild } from './shared-child.js'

/** Who holds a child exclusively: its requests to the client are that holder's. */
export interface LeaseHolder {
  readonly id: unknown
}

/** The holder of a child in quarantine: its asks are refused (it holds no call). */
const QUARANTINE: LeaseHolder = { id: null }
/**
 * After a call is cancelled, its child stays in quarantine until it has been silent this long, so a server
 * that keeps working on the cancelled call never asks the next holder its questions.
 */
const SETTLE_MS = 200
/** A child other than the primary still not silent after this long in quarantine is stopped instead of reused. */
const MAX_QUARANTINE_MS = 10_000

/** One pre-initialized child of a pool and who holds it, if anyone. */
export class PooledChild {
  readonly child: SharedChild
  holder: LeaseHolder | undefined
  /**
   * Calls running on this child without holding it (their clients cannot be asked anything, so any ask
   * of the child is refused); nobody gets the child alone while one runs.
   */
  sharers = 0
  idleSince = Date.now()
  /** When the child last showed it still works on a call (its quarantine lasts until it is quiet). */
  lastHeard = 0

  /** `make` builds the child, knowing the PooledChild it belongs to (its messages name their child). */
  constructor(make: (self: PooledChild) => SharedChild) {
    this.child = make(this)
  }
}

/**
 * Start an extra child for a pool (its `spawn`): resolves once it is up. One that cannot start is stopped
 * for good (an extra is never restarted on its own) and the error goes to the pool.
 */
export async function startExtra(extra: PooledChild): Promise<PooledChild> {
  try {
    await extra.child.start()
  } catch (error) {
    await extra.child.close()
    throw error
  }
  return extra
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
  /** Undefined for a shared hold (see `share`). */
  holder: LeaseHolder | undefined
  resolve: (child: PooledChild | undefined) => void
  timer: NodeJS.Timeout
}

/**
 * Exclusive leases on pre-initialized children, one per interactive call in flight: stdio never links a
 * child's request to the call that caused it, so a child asking mid-call must have exactly one caller.
 * The primary child first, then more children grown on demand up to `maxChildren` and stopped when idle,
 * then a bounded FIFO queue. A call whose client cannot be asked anything shares a child instead (many
 * at once), which keeps leases off that child until they are done.
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

  /** The children alive now, the primary first. */
  get children(): readonly PooledChild[] {
    return this.#children
  }

  /** A child came back up after a restart: waiters it fits take it. */
  revive(pooled: PooledChild): void {
    this.#handOn(pooled)
  }

  get leased(): number {
    return this.#children.filter((c) => c.holder !== undefined).length
  }

  get queued(): number {
    return this.#queue.length
  }

  /** A child held by `holder` alone until `release`; undefined when the queue is full or the wait timed out. */
  acquire(holder: LeaseHolder, signal?: AbortSignal): Promise<PooledChild | undefined> {
    return this.#take(holder, signal)
  }

  /**
   * A child to run a call on beside others, until `unshare`: one nobody holds alone. Such a call's client
   * cannot be asked anything; while it runs the child is leased to no one. Undefined as for `acquire`.
   */
  share(signal?: AbortSignal): Promise<PooledChild | undefined> {
    return this.#take(undefined, signal)
  }

  /**
   * A child for `holder` (alone) or to share (undefined) if one is free right now and nobody waits;
   * otherwise undefined, and `acquire` / `share` wait for one.
   */
  takeFree(holder: LeaseHolder | undefined): PooledChild | undefined {
    // Waiters go first: a stream of shared calls must not keep a waiting lease off a child for ever.
    const free = this.#closed || this.#queue.length > 0 ? undefined : this.#free(holder)
    return free && this.#grant(free, holder)
  }

  async #take(holder: LeaseHolder | undefined, signal: AbortSignal | undefined): Promise<PooledChild | undefined> {
    if (this.#closed || signal?.aborted) return undefined
    const free = this.takeFree(holder)
    if (free) return free
    if (this.size < this.#options.maxChildren) {
      const spawned = await this.#grow()
      if (spawned) return this.#grant(spawned, holder)
      if (this.#closed) return undefined
    }
    if (this.#queue.length >= this.#options.maxQueued) return undefined
    const waiting = this.#wait(holder, signal)
    // Queued first, so the child a reclaim frees goes to the longest waiter.
    if (this.#queue.length > this.#children.filter((c) => c.holder === undefined).length) this.#options.reclaim?.()
    return waiting
  }

  // A running child `holder` may have: alone (nobody holds or shares it), or shared (nobody holds it; the
  // one already shared most first, so extra children idle and are reaped).
  #free(holder: LeaseHolder | undefined): PooledChild | undefined {
    let best: PooledChild | undefined
    for (const pooled of this.#children) {
      if (!this.#fits(pooled, holder)) continue
      if (holder !== undefined) return pooled
      if (!best || pooled.sharers > best.sharers) best = pooled
    }
    return best
  }

  #fits(pooled: PooledChild, holder: LeaseHolder | undefined): boolean {
    return pooled.holder === undefined && pooled.child.serving && (holder === undefined || pooled.sharers === 0)
  }

  // Wait in the queue until a child is released, the wait times out, or the caller gives up (its client left).
  #wait(holder: LeaseHolder | undefined, signal: AbortSignal | undefined): Promise<PooledChild | undefined> {
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

  /** Give the child back: the next waiters get it, or it idles (and a child other than the primary is reaped later). */
  release(pooled: PooledChild): void {
    pooled.holder = undefined
    this.#handOn(pooled)
  }

  /** A shared call is over (see `share`). */
  unshare(pooled: PooledChild): void {
    pooled.sharers = Math.max(0, pooled.sharers - 1)
    this.#handOn(pooled)
  }

  /**
   * Give the child back after its holder's call was cancelled (or timed out): the child may still work on
   * that call, so it is held in quarantine (its asks refused) until it has asked nothing for a while; one
   * other than the primary that keeps asking is stopped instead, the primary released anyway.
   */
  releaseAfterCancel(pooled: PooledChild): void {
    pooled.holder = QUARANTINE
    const since = Date.now()
    const check = (): void => {
      if (pooled.holder !== QUARANTINE) return
      const now = Date.now()
      if (now - pooled.lastHeard >= SETTLE_MS) return this.release(pooled)
      if (now - since >= MAX_QUARANTINE_MS) {
        if (pooled === this.#options.primary) {
          this.#options.logger.warn({ childPid: pooled.child.pid }, 'the MCP server kept asking after its call was cancelled; released anyway (it is the primary)')
          return this.release(pooled)
        }
        this.#options.logger.warn({ childPid: pooled.child.pid }, 'an MCP server kept asking after its call was cancelled; stopped instead of reused')
        return this.forget(pooled)
      }
      setTimeout(check, SETTLE_MS).unref()
    }
    setTimeout(check, SETTLE_MS).unref()
  }

  // A child became free (or freer): waiters it fits take it, in order.
  #handOn(pooled: PooledChild): void {
    if (pooled.holder === undefined && pooled.sharers === 0) pooled.idleSince = Date.now()
    if (!this.#children.includes(pooled)) return
    while (this.#queue.length > 0 && this.#fits(pooled, this.#queue[0]!.holder)) {
      const waiter = this.#queue.shift()!
      clearTimeout(waiter.timer)
      waiter.resolve(this.#grant(pooled, waiter.holder))
    }
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

  #grant(pooled: PooledChild, holder: LeaseHolder | undefined): PooledChild {
    if (holder === undefined) pooled.sharers++
    else pooled.holder = holder
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
    this.#growForWaiters()
  }

  // A child left while calls wait: one takes its place for them (a newcomer must not get it first).
  #growForWaiters(): void {
    if (this.#closed || this.#queue.length === 0 || this.size >= this.#options.maxChildren) return
    void this.#grow().then((spawned) => spawned && this.#handOn(spawned))
  }

  // One more child in the pool (counted while it starts); undefined if it could not start or the pool closed meanwhile.
  async #grow(): Promise<PooledChild | undefined> {
    this.#spawning++
    try {
      const spawned = await this.#options.spawn()
      if (this.#closed) {
        void spawned.child.close()
        return undefined
      }
      this.#children.push(spawned)
      return spawned
    } catch (error) {
      this.#options.logger.warn({ err: error }, 'an extra MCP server could not be started; calls wait for a child')
      return undefined
    } finally {
      this.#spawning--
    }
  }

  #reapIdle(): void {
    const now = Date.now()
    for (const pooled of [...this.#children]) {
      if (pooled === this.#options.primary || pooled.holder !== undefined || pooled.sharers > 0 || now - pooled.idleSince < this.#options.idleMs) continue
      this.#options.logger.info({ childPid: pooled.child.pid }, 'an extra MCP server was idle; stopped')
      this.#remove(pooled)
    }
  }
}
