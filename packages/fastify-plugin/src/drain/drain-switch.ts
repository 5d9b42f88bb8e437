import type { Logger } from '@proxy/core'

/** How a drain ended: nothing left to serve, or the drain timeout passed first. */
export type DrainOutcome = 'idle' | 'timeout'

export interface DrainResult {
  /** What started it (`SIGTERM`, `POST /drain`, or the caller's own words). */
  reason: string
  outcome: DrainOutcome
  durationMs: number
  /** Sessions, HTTP requests and parked 2026 calls still open when it ended (all 0 when idle). */
  sessionsLeft: number
  requestsLeft: number
  parkedLeft: number
}

/** What is still being served: sessions, HTTP requests in flight (streams included), 2026 calls parked for input. */
export interface DrainLoad {
  sessions: number
  requests: number
  /** 2026-07-28 calls waiting for the client's retry (MRTR): their answer is still to come. */
  parked: number
}

/** What a drain acts on; the plugin binds its own. */
export interface DrainTarget {
  /** After this long the drain ends whatever is still open. */
  timeoutMs: number
  /** Refuse new sessions from now on. */
  stopAdmitting(): void
  load(): DrainLoad
  logger: Logger
}

export type DrainState = 'serving' | 'draining' | 'drained'

/** How often a drain looks whether everything has ended. */
const POLL_MS = 100

/**
 * Graceful drain of one plugin instance, for rolling restarts behind a load balancer. `start()` turns
 * `/ready` to 503 and new sessions away (503 + Retry-After); open sessions, their streams and per-request
 * (2026-07-28, stateless) traffic go on until nothing is left or the timeout passes; then `finished`
 * resolves. What happens next (usually the normal shutdown) is the owner's call: the CLI closes and exits.
 *
 * Create one, pass it as the plugin's `drain` option, and call `start()` (on SIGTERM, say). Without the
 * option the plugin makes its own, which only `POST /drain` can start.
 */
export class DrainSwitch {
  #state: DrainState = 'serving'
  #target: DrainTarget | undefined
  #pendingReason: string | undefined
  #listeners = new Set<(state: DrainState, result?: DrainResult) => void>()
  #resolve!: (result: DrainResult) => void
  /** Resolves once the drain has ended (never, if it is never started). */
  readonly finished: Promise<DrainResult> = new Promise((resolve) => (this.#resolve = resolve))

  get state(): DrainState {
    return this.#state
  }

  /** Draining or drained: not ready, no new sessions. */
  get draining(): boolean {
    return this.#state !== 'serving'
  }

  /** Called when the drain starts and when it ends; returns a function that removes the listener. */
  onChange(listener: (state: DrainState, result?: DrainResult) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Bind to what it drains (the plugin does, once). A start that came first takes effect now. */
  bind(target: DrainTarget): void {
    if (this.#target) throw new Error('a DrainSwitch serves one plugin instance; create one per registration')
    this.#target = target
    if (this.#pendingReason !== undefined) this.#begin(target, this.#pendingReason)
  }

  /** Start draining. Returns false when a drain had already started (it goes on as it was). */
  start(reason: string): boolean {
    if (this.#state !== 'serving' || this.#pendingReason !== undefined) return false
    if (this.#target) this.#begin(this.#target, reason)
    else this.#pendingReason = reason
    return true
  }

  #begin(target: DrainTarget, reason: string): void {
    this.#state = 'draining'
    const startedAt = Date.now()
    target.stopAdmitting()
    const at = target.load()
    target.logger.info({ reason, ...at, timeoutMs: target.timeoutMs }, 'draining: /ready is 503 and new sessions are refused; open sessions and requests go on until they end or the drain timeout')
    this.#emit('draining')

    const timers: NodeJS.Timeout[] = []
    const end = (outcome: DrainOutcome): void => {
      for (const timer of timers) clearTimeout(timer)
      const left = target.load()
      const result: DrainResult = { reason, outcome, durationMs: Date.now() - startedAt, sessionsLeft: left.sessions, requestsLeft: left.requests, parkedLeft: left.parked }
      this.#state = 'drained'
      if (outcome === 'idle') target.logger.info(result, 'drained: every session and request has ended')
      else target.logger.warn(result, 'drain timeout: closing what is still open')
      this.#emit('drained', result)
      this.#resolve(result)
    }
    const idle = (): boolean => {
      const { sessions, requests, parked } = target.load()
      return sessions === 0 && requests === 0 && parked === 0
    }
    if (idle()) return end('idle')
    if (target.timeoutMs === 0) return end('timeout')
    // The server's own handles keep the process alive while it drains; these must not keep it alive after.
    timers.push(setInterval(() => idle() && end('idle'), POLL_MS).unref(), setTimeout(() => end('timeout'), target.timeoutMs).unref())
  }

  #emit(state: DrainState, result?: DrainResult): void {
    for (const listener of this.#listeners) {
      try {
        listener(state, result)
      } catch (error) {
        this.#target?.logger.warn({ err: error }, 'a drain listener threw')
      }
    }
  }
}
