import type { FastifyRequest } from 'fastify'

/**
 * Who sent a request, once authenticated: the SDK's `AuthInfo` shape without the token (the proxy never
 * keeps a client's token past the check), plus the stable `id` a session is bound to.
 */
export interface Principal {
  /**
   * What a session, a resumed stream and a 2026 `requestState` are bound to: the same person gets the
   * same id on every request (a refreshed token included), another person never does.
   */
  readonly id: string
  /** The subject: the token's `sub`, or the API key's name. */
  readonly subject: string
  /** The token's issuer (OAuth only). */
  readonly issuer?: string
  /** The OAuth client the token was issued to (`client_id`, `azp`), if the token names it. */
  readonly clientId?: string
  /** The scopes the credential carries. */
  readonly scopes: readonly string[]
  /** When the credential expires, in seconds since the epoch. */
  readonly expiresAt?: number
  /** The resource the token was issued for (the proxy's canonical URL, OAuth only). */
  readonly resource?: URL
  /** Every claim of the token (or of its introspection), for `childEnvFromClaims` and your own hooks. */
  readonly claims: Readonly<Record<string, unknown>>
}

/** Why a request is refused authentication; the HTTP edge turns each kind into its status and challenge. */
export type AuthFailureKind =
  /** No credential at all: 401, a challenge without an error code (RFC 6750 §3.1). */
  | 'missing'
  /** A credential that is not accepted (unknown key, bad signature, wrong audience, expired…): 401 `invalid_token`. */
  | 'invalid'
  /** A valid credential that lacks scopes: 403 `insufficient_scope` naming every scope needed. */
  | 'insufficient_scope'
  /** The credential could not be checked now (the authorization server is unreachable): 503, retry later. */
  | 'unavailable'

/**
 * A refusal from an `authenticate` function. `message` is sent to the client, so it must say what to do
 * and must never contain the credential.
 */
export class AuthFailure extends Error {
  readonly kind: AuthFailureKind
  /** For `insufficient_scope`: every scope the request needs (not only the missing ones). */
  readonly scopes: readonly string[]

  constructor(kind: AuthFailureKind, message: string, scopes: readonly string[] = []) {
    super(message)
    this.name = 'AuthFailure'
    this.kind = kind
    this.scopes = scopes
  }
}

/**
 * The seam every scheme plugs into: the API key and OAuth are two implementations. Called in `onRequest`
 * (before the body is read) for every request but health checks, preflights, the protected resource
 * metadata and admin routes. Return the principal, or an `AuthFailure`; a throw is answered 500.
 */
export type Authenticate = (request: FastifyRequest) => Principal | AuthFailure | Promise<Principal | AuthFailure>

declare module 'fastify' {
  interface FastifyRequest {
    /** Who sent this request; null when the proxy authenticates nobody (no API key, no OAuth, no `authenticate`). */
    principal: Principal | null
  }
}

/** The key a session is bound to for a request: its principal's id, or the one anonymous caller. */
export function ownerOf(request: FastifyRequest): string {
  return request.principal?.id ?? 'anonymous'
}
