import { canonicalResource } from './resource.js'
import type { Principal } from '../principal.js'

/** A token the proxy will not accept; `reason` is told to the client (it never holds the token). */
export class TokenRejected extends Error {
  constructor(reason: string) {
    super(reason)
    this.name = 'TokenRejected'
  }
}

/** The authorization server could not be asked (metadata, keys or introspection unreachable). */
export class AuthorizationServerUnavailable extends Error {
  constructor(reason: string) {
    super(reason)
    this.name = 'AuthorizationServerUnavailable'
  }
}

/** Scopes as a token carries them: a space-separated `scope` (RFC 9068, RFC 7662) or an `scp` array (Entra, Okta). */
export function scopesOf(claims: Record<string, unknown>): string[] {
  if (typeof claims.scope === 'string') return claims.scope.split(' ').filter((s) => s !== '')
  if (Array.isArray(claims.scp)) return claims.scp.filter((s): s is string => typeof s === 'string')
  if (typeof claims.scp === 'string') return claims.scp.split(' ').filter((s) => s !== '')
  return []
}

function canonicalOrSelf(value: string): string {
  try {
    return canonicalResource(value)
  } catch {
    return value
  }
}

/**
 * The audience check of RFC 8707 and the MCP spec: the token's `aud` (a string or a list) must name one
 * of the accepted audiences. URLs compare in canonical form (case of scheme and host, trailing slash);
 * anything else (an API identifier such as `api://mcp`) compares exactly.
 */
export function checkAudience(claims: Record<string, unknown>, accepted: readonly string[]): void {
  const aud = claims.aud
  const listed = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : []
  if (listed.length === 0) throw new TokenRejected('the token names no audience (aud); it must be issued for this resource')
  const wanted = new Set(accepted.map(canonicalOrSelf))
  if (!listed.some((a) => wanted.has(canonicalOrSelf(a)))) throw new TokenRejected('the token was issued for another resource (aud)')
}

/** The principal a checked token stands for: its issuer and subject (a client-credentials token without `sub`: its client). */
export function principalOf(claims: Record<string, unknown>, issuer: string, resource: string): Principal {
  const clientId = typeof claims.client_id === 'string' ? claims.client_id : typeof claims.azp === 'string' ? claims.azp : undefined
  const subject = typeof claims.sub === 'string' && claims.sub !== '' ? claims.sub : clientId
  if (subject === undefined) throw new TokenRejected('the token names no subject (sub) and no client (client_id)')
  return Object.freeze({
    id: `oauth:${JSON.stringify([issuer, subject])}`,
    subject,
    issuer,
    ...(clientId === undefined ? {} : { clientId }),
    scopes: Object.freeze(scopesOf(claims)),
    ...(typeof claims.exp === 'number' ? { expiresAt: claims.exp } : {}),
    resource: new URL(resource),
    claims: Object.freeze({ ...claims }),
  })
}
