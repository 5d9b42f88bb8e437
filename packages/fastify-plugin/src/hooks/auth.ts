import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyRequest, onRequestHookHandler } from 'fastify'
import { HttpError, replyError } from '../errors.js'

/** The SHA-256 of a secret, the form `keyMatches` compares against. */
export const digest = (value: string): Buffer => createHash('sha256').update(value).digest()

/** Compare a presented key with the expected one in constant time (hashing first equalizes lengths). */
export function keyMatches(presented: string, expectedDigest: Buffer): boolean {
  return timingSafeEqual(digest(presented), expectedDigest)
}

/** The token of an `Authorization: Bearer <token>` header, if that is what it holds. */
export function bearerToken(authorization: string | undefined): string | undefined {
  return typeof authorization === 'string' && authorization.slice(0, 7).toLowerCase() === 'bearer ' ? authorization.slice(7).trim() : undefined
}

function presentedKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  const apiKey = headers['x-api-key']
  if (typeof apiKey === 'string') return apiKey
  return bearerToken(headers.authorization as string | undefined)
}

/**
 * API-key check in `onRequest`, so an unauthorised body is never read. Accepts `X-API-Key: <key>` or
 * `Authorization: Bearer <key>`; `/ping` and CORS preflights are exempt. The key is never logged.
 */
export function apiKeyAuth(apiKey: string, exempt: (request: FastifyRequest) => boolean): onRequestHookHandler {
  const expected = digest(apiKey)
  return (request, reply, done) => {
    if (exempt(request)) return done()
    const key = presentedKey(request.headers)
    if (key !== undefined && keyMatches(key, expected)) return done()
    reply.header('www-authenticate', 'Bearer realm="mcp-proxy"')
    return replyError(reply, HttpError.Unauthorized)
  }
}
