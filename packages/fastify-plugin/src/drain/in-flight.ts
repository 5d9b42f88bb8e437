import type { FastifyInstance, onRequestHookHandler, RouteOptions } from 'fastify'

/** HTTP requests of the plugin still open, long-lived streams included. */
export interface InFlight {
  readonly count: number
}

/**
 * Count the requests of the plugin's routes from `onRequest` until their response closes (sent, or the
 * connection gone): a drain waits for them. `ignore` leaves out routes that never hold work (health
 * checks, preflights, admin calls); it is decided once per route, when the route is added, so the message
 * routes pay only the count. A pipelined request queued behind a stream never sees its response close when
 * the socket dies, so the socket's close counts too; whichever comes first ends the request, once.
 * Must be called before the routes are registered.
 */
export function countInFlight(app: FastifyInstance, ignore: (route: RouteOptions) => boolean): InFlight {
  const inFlight = { count: 0 }
  const count: onRequestHookHandler = (request, reply, next) => {
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
    next()
  }
  app.addHook('onRoute', (route) => {
    if (ignore(route)) return
    const existing = route.onRequest
    route.onRequest = existing === undefined ? [count] : [count, ...(Array.isArray(existing) ? existing : [existing])]
  })
  return inFlight
}
