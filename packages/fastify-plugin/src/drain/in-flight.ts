import type { FastifyInstance, FastifyRequest } from 'fastify'

/** HTTP requests of the plugin still open, long-lived streams included. */
export interface InFlight {
  readonly count: number
}

/**
 * Count the plugin's requests from `onRequest` until their response closes (sent, or the connection
 * gone): a drain waits for them. `ignore` leaves out what never holds work (health checks, preflights).
 */
export function countInFlight(app: FastifyInstance, ignore: (request: FastifyRequest) => boolean): InFlight {
  const inFlight = { count: 0 }
  const done = (): void => {
    inFlight.count--
  }
  app.addHook('onRequest', (request, reply, next) => {
    if (!ignore(request)) {
      inFlight.count++
      reply.raw.once('close', done)
    }
    next()
  })
  return inFlight
}
