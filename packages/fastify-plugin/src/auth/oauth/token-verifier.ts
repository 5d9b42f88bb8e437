import { createHash } from 'node:crypto'
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose'
import type { Principal } from '../principal.js'
import { AS_TIMEOUT_MS, discoverAuthorizationServer, issuerSpellings, type AuthorizationServerMetadata } from './authorization-server.js'
import { AuthorizationServerUnavailable, checkAudience, principalOf, TokenRejected } from './claims.js'
import { Introspector } from './introspection.js'

/** How the proxy checks access tokens, resolved from the options once. */
export interface TokenVerifierSettings {
  issuer: string
  /** The issuer's key set; undefined: the one its metadata names. */
  jwksUrl: string | undefined
  /** Introspection of opaque tokens; the URL undefined: the one the issuer's metadata names. */
  introspection: { url: string | undefined; clientId: string; clientSecret: string } | undefined
  /** JWS algorithms accepted (asymmetric only; never `none`). */
  algorithms: string[]
  /** Leeway on `exp` and `nbf`, in seconds. */
  clockToleranceSec: number
}

/** Longest a checked JWT is trusted without checking its signature again. */
const CHECKED_JWT_MS = 5 * 60_000
/** JWTs remembered at most (a principal and its claims each, a header-sized token at most 16 KiB: under 16 MiB); the oldest goes first. */
const CHECKED_JWT_ENTRIES = 1024

/** After a failed discovery, the next request tries again only after this long. */
const DISCOVERY_RETRY_MS = 10_000

/** Three base64url segments: a JWS in compact form (an opaque token rarely has two dots). */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

/** Why jose refused a token, in words for the client (jose's own messages can quote claim values). */
function joseReason(error: unknown): string | undefined {
  if (error instanceof errors.JWTExpired) return 'the token has expired (exp)'
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') return 'the token was issued by another authorization server (iss)'
    if (error.claim === 'nbf') return 'the token is not valid yet (nbf)'
    return `the token's ${error.claim} claim is not acceptable`
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return 'the token is signed with an algorithm this server does not accept'
  if (error instanceof errors.JWKSNoMatchingKey) return "the token is signed with a key that is not in the issuer's key set"
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'the token signature does not verify'
  if (error instanceof errors.JWKSMultipleMatchingKeys) return "the token's key id matches several keys of the issuer"
  if (error instanceof errors.JWTInvalid || error instanceof errors.JWSInvalid) return 'the token is not a well-formed signed JWT'
  if (error instanceof errors.JOSENotSupported) return 'the token uses an unsupported algorithm or key type'
  return undefined
}

/**
 * Access tokens checked as the MCP authorization spec asks of a resource server: a JWT against the
 * issuer's keys (discovered from its metadata, cached, fetched again when a token names an unknown key),
 * with `iss`, `aud`, `exp`/`nbf` and the algorithm checked; any other token through introspection when
 * that is configured. Every request is checked; nothing is trusted because a session exists.
 */
export class TokenVerifier {
  readonly #settings: TokenVerifierSettings
  #metadata: Promise<AuthorizationServerMetadata> | undefined
  #metadataFailedAt = 0
  #jwks: ReturnType<typeof createRemoteJWKSet> | undefined
  #introspector: Introspector | undefined
  readonly #checked = new Map<string, { principal: Principal; until: number }>()

  constructor(settings: TokenVerifierSettings) {
    this.#settings = settings
    if (settings.jwksUrl) this.#jwks = this.#keySet(settings.jwksUrl)
    const introspection = settings.introspection
    if (introspection?.url) this.#introspector = new Introspector({ ...introspection, url: introspection.url })
  }

  /** The principal of a valid token for one of `audiences`; throws TokenRejected, or AuthorizationServerUnavailable. */
  async verify(token: string, audiences: readonly string[], resource: string): Promise<Principal> {
    const jwks = await this.#keys()
    if (jwks && COMPACT_JWS.test(token)) {
      // A signature checked once stays checked: until the token expires (at most CHECKED_JWT_MS, also how
      // long a token outlives its key's removal from the key set), the same token for the same audiences
      // and resource costs a hash, not a public-key operation per request.
      const key = `${createHash('sha256').update(token).digest('base64url')} ${resource} ${audiences.join(' ')}`
      const now = Date.now()
      const known = this.#checked.get(key)
      if (known && known.until > now) return known.principal
      const principal = await this.#verifyJwt(token, jwks, audiences, resource)
      const expires = principal.expiresAt === undefined ? now : (principal.expiresAt + this.#settings.clockToleranceSec) * 1000
      this.#checked.delete(key)
      if (this.#checked.size >= CHECKED_JWT_ENTRIES) this.#checked.delete(this.#checked.keys().next().value as string)
      this.#checked.set(key, { principal, until: Math.min(expires, now + CHECKED_JWT_MS) })
      return principal
    }
    const introspector = await this.#introspection()
    if (!introspector) throw new TokenRejected('the token is not a signed JWT from the issuer, and this server does not introspect tokens')
    const claims = await introspector.introspect(token)
    return this.#checkIntrospected(claims, audiences, resource)
  }

  async #verifyJwt(token: string, jwks: ReturnType<typeof createRemoteJWKSet>, audiences: readonly string[], resource: string): Promise<Principal> {
    let payload: JWTPayload
    try {
      ;({ payload } = await jwtVerify(token, jwks, {
        issuer: issuerSpellings(this.#settings.issuer),
        algorithms: this.#settings.algorithms,
        clockTolerance: this.#settings.clockToleranceSec,
        requiredClaims: ['exp'],
      }))
    } catch (error) {
      const reason = joseReason(error)
      if (reason !== undefined) throw new TokenRejected(reason)
      if (error instanceof errors.JWTClaimValidationFailed) throw new TokenRejected('the token is missing a required claim')
      throw new AuthorizationServerUnavailable(`the issuer's key set could not be fetched: ${(error as Error).message}`)
    }
    checkAudience(payload, audiences)
    return principalOf(payload, this.#settings.issuer, resource)
  }

  #checkIntrospected(claims: Record<string, unknown>, audiences: readonly string[], resource: string): Principal {
    const { issuer, clockToleranceSec } = this.#settings
    if (claims.iss !== undefined && !issuerSpellings(issuer).includes(claims.iss as string)) throw new TokenRejected('the token was issued by another authorization server (iss)')
    const now = Date.now() / 1000
    if (typeof claims.exp === 'number' && claims.exp + clockToleranceSec <= now) throw new TokenRejected('the token has expired (exp)')
    if (typeof claims.nbf === 'number' && claims.nbf - clockToleranceSec > now) throw new TokenRejected('the token is not valid yet (nbf)')
    checkAudience(claims, audiences)
    return principalOf(claims, issuer, resource)
  }

  #keySet(url: string): ReturnType<typeof createRemoteJWKSet> {
    // jose caches the set, and fetches it again (at most every 30 s) when a token names a key it lacks.
    return createRemoteJWKSet(new URL(url), { timeoutDuration: AS_TIMEOUT_MS, cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000 })
  }

  async #keys(): Promise<ReturnType<typeof createRemoteJWKSet> | undefined> {
    if (this.#jwks) return this.#jwks
    const metadata = await this.#discovered()
    if (metadata.jwks_uri) this.#jwks ??= this.#keySet(metadata.jwks_uri)
    return this.#jwks
  }

  async #introspection(): Promise<Introspector | undefined> {
    if (this.#introspector || !this.#settings.introspection) return this.#introspector
    const metadata = await this.#discovered()
    if (!metadata.introspection_endpoint) return undefined
    this.#introspector = new Introspector({ ...this.#settings.introspection, url: metadata.introspection_endpoint })
    return this.#introspector
  }

  /** The issuer's metadata, asked once; a failure is retried by a later request, not before DISCOVERY_RETRY_MS. */
  async #discovered(): Promise<AuthorizationServerMetadata> {
    if (this.#metadata === undefined || (this.#metadataFailedAt > 0 && Date.now() - this.#metadataFailedAt > DISCOVERY_RETRY_MS)) {
      this.#metadataFailedAt = 0
      this.#metadata = discoverAuthorizationServer(this.#settings.issuer)
      this.#metadata.catch(() => (this.#metadataFailedAt = Date.now()))
    }
    try {
      return await this.#metadata
    } catch (error) {
      throw new AuthorizationServerUnavailable((error as Error).message)
    }
  }
}
