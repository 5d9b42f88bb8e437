import type { FastifyInstance, onRequestHookHandler } from 'fastify'
import type { DrainLoad, DrainSwitch } from '../drain/drain-switch.js'
import { HttpError, replyError } from '../errors.js'
import { bearerToken, digest, keyMatches } from '../auth/secrets.js'

/**
 * `POST /drain` with `Authorization: Bearer <admin token>`: start draining (what SIGTERM does), answer 202
 * with what is still open. Idempotent: a second call reports the drain already running. The admin token is
 * its own credential: the API key neither opens nor is needed for this route.
 */
export function registerDrainRoute(app: FastifyInstance, drain: DrainSwitch, adminToken: string, load: () => DrainLoad, timeoutMs: number): void {
  const expected = digest(adminToken)
  // In onRequest: a caller without the token gets 401 before any body is read.
  const adminOnly: onRequestHookHandler = (request, reply, done) => {
    const token = bearerToken(request.headers.authorization)
    if (token !== undefined && keyMatches(token, expected)) return done()
    reply.header('www-authenticate', 'Bearer realm="mcp-proxy-admin"')
    return replyError(reply, HttpError.AdminUnauthorized)
  }
  app.post('/drain', { config: { adminRoute: true }, onRequest: adminOnly }, async (request, reply) => {
    const started = drain.start('POST /drain')
    request.log.info({ started }, started ? 'drain requested over HTTP' : 'drain requested over HTTP: already draining')
    // The drain request itself is not one of the requests being waited for.
    return reply.code(202).send({ status: drain.state, started, ...load(), timeoutMs })
  })
}
