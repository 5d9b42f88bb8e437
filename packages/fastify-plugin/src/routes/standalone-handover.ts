import type { Session } from '@proxy/core'

/**
 * How long a GET waits for the session's previous standalone connection to be seen closed. A client
 * that drops its stream and opens a new one at once often gets here before the old socket's close
 * event; only a connection still open after this is a real second stream (409).
 */
export const HANDOVER_MS = 250
const POLL_MS = 10

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Wait (bounded) until the standalone stream of `session` has no open connection. Resolves true once
 * it is free, false if it is still taken after HANDOVER_MS, the session closed, or `gone()` (the
 * waiting client left).
 */
export async function standaloneFree(session: Session, gone: () => boolean): Promise<boolean> {
  const deadline = Date.now() + HANDOVER_MS
  while (session.standaloneConnected) {
    if (Date.now() >= deadline) return false
    await sleep(POLL_MS)
    if (session.closed || gone()) return false
  }
  return true
}
