import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify'
import { AuthFailure, type Authenticate, type Principal } from '../auth/principal.js'
import { HttpError, replyError, type HttpErrorKind } from '../errors.js'

/** How a refused request is answered: the error (its status) and the `WWW-Authenticate` value, if any. */
export interface AuthRefusal {
  error: HttpErrorKind
  challenge: string | undefined
}

/** A scheme the plugin authenticates with, and how it answers a client it refuses. */
export interface RequestAuth {
  authenticate: Authenticate
  refusal: (request: FastifyRequest, failure: AuthFailure) => AuthRefusal
}

function isPrincipal(value: unknown): value is Principal {
  return typeof value === 'object' && value !== null && typeof (value as Principal).id === 'string' && (value as Principal).id !== ''
}

/** Answer a refusal as the scheme says, or 503 when the credential cannot be checked now. */
function refuse(auth: RequestAuth, request: FastifyRequest, reply: FastifyReply, failure: AuthFailure): FastifyReply {
  if (failure.kind === 'unavailable') return replyError(reply.header('retry-after', '5'), HttpError.AuthUnavailable, null, failure.message)
  const { error, challenge } = auth.refusal(request, failure)
  if (challenge !== undefined) reply.header('www-authenticate', challenge)
  return replyError(reply, error, null, failure.message)
}

/**
 * Authenticate in `onRequest`, so an unauthenticated body is never read. The principal is kept on the
 * request (`request.principal`) for the routes, which bind sessions and request states to it. Credentials
 * are never logged.
 */
export function authenticateHook(auth: RequestAuth, exempt: (request: FastifyRequest) => boolean): onRequestHookHandler {
  return async (request, reply) => {
    if (exempt(request)) return
    let outcome: unknown
    try {
      outcome = await auth.authenticate(request)
    } catch (error) {
      request.log.error({ err: error }, 'authenticate threw; the request is refused')
      return replyError(reply, HttpError.Internal)
    }
    if (outcome instanceof AuthFailure) return refuse(auth, request, reply, outcome)
    if (!isPrincipal(outcome)) {
      request.log.error('authenticate returned neither a principal with an id nor an AuthFailure; the request is refused')
      return replyError(reply, HttpError.Internal)
    }
    request.principal = outcome
  }
}
