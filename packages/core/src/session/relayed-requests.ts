import type { JsonRpcId } from '../jsonrpc/schemas.js'

/** Answers the child may wait for at once; past this the oldest are forgotten (their answers dropped). */
const MAX_RELAYED = 1024

/**
 * The ids of the child's requests (sampling, elicitation, roots, ping) that were relayed to a client.
 * Only an answer to one of these reaches the child, once: a client cannot answer a request it was never
 * sent, such as a `roots/list` the proxy answers itself under the roots policy, or a request it guesses
 * the id of ahead of time.
 */
export class RelayedRequests {
  #ids = new Set<JsonRpcId>()

  /** A request of the child went to a client. */
  add(id: JsonRpcId): void {
    this.#ids.add(id)
    if (this.#ids.size > MAX_RELAYED) this.#ids.delete(this.#ids.values().next().value as JsonRpcId)
  }

  /** The client answers `id`: true (and forgotten) if that request was relayed to it and not yet answered. */
  take(id: JsonRpcId | null): boolean {
    return id !== null && this.#ids.delete(id)
  }
}
