import type { ServerResponse } from 'node:http'

/** The open/closed state of one HTTP response and who wants to hear when it closes. */
export class Connection {
  readonly res: ServerResponse
  #open = true
  #listeners: Array<() => void> = []

  constructor(res: ServerResponse) {
    this.res = res
    // A client that left before this answer was made (while the route awaited something) is gone already:
    // 'close' was emitted before anyone listened.
    if (res.destroyed || res.closed) this.#open = false
    else res.once('close', () => this.closed())
  }

  get open(): boolean {
    return this.#open
  }

  /** Call `listener` once when the connection closes (at once if it already has). */
  onClose(listener: () => void): void {
    if (this.#open) this.#listeners.push(listener)
    else listener()
  }

  /** Mark the connection closed (idempotent) and tell the listeners. */
  closed(): void {
    if (!this.#open) return
    this.#open = false
    const listeners = this.#listeners
    this.#listeners = []
    for (const listener of listeners) listener()
  }
}
