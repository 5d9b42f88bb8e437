import type { Logger } from '../logger.js'
import type { SessionBackend, SessionBackends } from '../session/session-backend.js'
import { SessionHub } from './session-hub.js'
import { SharedChildren, type SharedChildrenOptions } from './shared-children.js'
import { SharedLink } from './shared-link.js'

export type SharedSessionsOptions = Omit<SharedChildrenOptions, 'publish' | 'onChildUp' | 'role'>

/**
 * Shared mode's source of session backends: every session gets a SharedLink onto the same pre-initialized
 * children, so opening one spawns nothing.
 */
export class SharedSessions implements SessionBackends {
  readonly mode = 'shared'
  /** No process is kept per session: the process budget is the sessions' alone. */
  readonly size = 0
  readonly idle = 0
  readonly children: SharedChildren
  readonly hub: SessionHub
  #started: Promise<void> | undefined

  constructor(options: SharedSessionsOptions) {
    this.hub = new SessionHub(options.logger)
    this.children = new SharedChildren({
      ...options,
      role: 'shared',
      publish: (message, text) => this.hub.publish(message, text),
      onChildUp: (pooled, primary) => this.hub.childUp(pooled, primary),
    })
    this.hub.bind(this.children)
  }

  take(logger: Logger): SessionBackend {
    return new SharedLink(this.children, this.hub, logger)
  }

  get lastSpawnError(): string | undefined {
    return this.children.serving ? undefined : `the shared MCP server is ${this.children.primary.child.state}`
  }

  limitTo(): void {}

  fill(): void {
    this.#started ??= this.children.start()
    // The first start's failure is reported by `started`; a later one by the restart policy.
    this.#started.catch(() => {})
  }

  async started(): Promise<void> {
    await this.#started
  }

  refill(): void {}

  /** The shared children serve the open sessions until the end: nothing to stop while draining. */
  stopWarming(): Promise<void> {
    return Promise.resolve()
  }

  close(): Promise<void> {
    return this.children.close()
  }

  report(): Record<string, unknown> {
    return this.children.health().report
  }
}
