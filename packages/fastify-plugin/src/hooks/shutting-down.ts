import type { onRequestHookHandler } from 'fastify'
import { HttpError, replyError } from '../errors.js'

/** Set once the app starts closing (first thing in `preClose`). */
export interface ClosingState {
  closing: boolean
}

/**
 * While the app closes, every request of the plugin (`/ping` and `/ready` included) gets 503 with
 * `Retry-After` and `Connection: close`, and a JSON-RPC error body. Fastify's own answer during close
 * (`return503OnClosing`, on by default) is not JSON-RPC: the server should turn it off.
 */
export function refuseWhileClosing(state: ClosingState): onRequestHookHandler {
  return (_request, reply, done) => {
    if (!state.closing) return done()
    reply.header('retry-after', '5').header('connection', 'close')
    return replyError(reply, HttpError.ShuttingDown)
  }
}
