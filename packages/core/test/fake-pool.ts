// Lease pools over fake children, for the tests of the pool and of what holds its leases.
import { silentLogger } from '../src/logger.js'
import { PooledChild, type LeasePoolOptions } from '../src/shared/lease-pool.js'
import type { SharedChild } from '../src/shared/shared-child.js'

/** A child of a lease pool whose state the test sets (it never ends on its own); subclasses record what is sent to it. */
export class FakePooledChild {
  static #pids = 1000
  state = 'up'
  readonly pid = FakePooledChild.#pids++
  closed = false
  readonly pooled: PooledChild

  constructor() {
    this.pooled = new PooledChild(() => this as unknown as SharedChild)
  }

  /** Like SharedChild.serving: up. */
  get serving(): boolean {
    return this.state === 'up'
  }

  async close(): Promise<void> {
    this.closed = true
    this.state = 'stopped'
  }
}

/** Lease-pool settings over fake children: the first (the primary) is added now, `spawn` adds one more each time. */
export function fakePoolOptions<C extends FakePooledChild>(children: C[], make: () => C, overrides: Partial<LeasePoolOptions> = {}): LeasePoolOptions {
  children.push(make())
  return {
    primary: children[0]!.pooled,
    spawn: async () => {
      const child = make()
      children.push(child)
      return child.pooled
    },
    maxChildren: 2,
    maxQueued: 4,
    queueTimeoutMs: 5000,
    idleMs: 60_000,
    logger: silentLogger,
    ...overrides,
  }
}
