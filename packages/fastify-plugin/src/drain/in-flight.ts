import type { FastifyInstance, FastifyRequest } from 'fastify'

/** HTTP requests of the plugin still open, long-lived streams included. */
export interface InFlight {
  readonly count: number
}

/**
 * Count the plugin's requests from `onRequest` until their response closes (sent, or the connection
 * gone): a drain waits for them. `ignore` leaves out what never holds work (health checks, preflights).
 * A pipelined request queued behind a stream never sees its response close when the socket dies, so the
 * socket's own close counts too; whichever comes first ends the request, once.
 */
export function countInFlight(app: FastifyInstance, ignore: (request: FastifyRequest) => boolean): InFlight {
  const inFlight = { count: 0 }
  app.addHook('onRequest', (request, reply, next) => {
    if (!ignore(request)) {
      inFlight.count++
      const response = reply.raw
      const socket = request.raw.socket
      let ended = false
      const done = (): void => {
        // The socket's close can run this after the response's close did (one emit triggers the other).
        if (ended) return
        ended = true
        response.off('close', done)
        socket.off('close', done)
        inFlight.count--
      }
      response.once('close', done)
      socket.once('close', done)
    }
    next()
  })
  return inFlight
}
