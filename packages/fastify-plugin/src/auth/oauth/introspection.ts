import { createHash } from 'node:crypto'
import { fetchJson } from './authorization-server.js'
import { AuthorizationServerUnavailable, TokenRejected } from './claims.js'

/** Where and as whom the proxy introspects opaque tokens (RFC 7662, `client_secret_basic`). */
export interface IntrospectionClient {
  url: string
  clientId: string
  clientSecret: string
}

/** An active token's claims, kept until this time (ms). */
interface Cached {
  claims: Record<string, unknown>
  until: number
}

/** Longest a token's introspection is trusted before the authorization server is asked again (a revocation shows within this). */
const MAX_CACHE_MS = 60_000
/** A refused token is not asked about again for this long (a client retrying a dead token costs one call, not one per request). */
const NEGATIVE_CACHE_MS = 10_000
/** Tokens remembered at most; with the per-entry cap below, the cache stays under 32 MiB. */
const MAX_ENTRIES = 4096
/** An answer larger than this (as JSON) is used but not cached. */
const MAX_CACHED_BYTES = 8 * 1024

/** `token_type` values of an access token usable as a Bearer token (RFC 7662 names the RFC 6749 types; some servers answer the RFC 8693 URI). */
const ACCESS_TOKEN_TYPES = new Set(['bearer', 'access_token', 'urn:ietf:params:oauth:token-type:access_token'])

/** RFC 6749 §2.3.1: the id and secret are form-encoded before they are put in the Basic credentials. */
function basic(clientId: string, clientSecret: string): string {
  const encode = (value: string): string => encodeURIComponent(value).replace(/%20/g, '+')
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`
}

/**
 * Opaque tokens checked by the authorization server, each answer cached (by the token's SHA-256, never the
 * token) until the token expires or a minute has passed, whichever is first. The caller checks issuer,
 * audience and times on what this returns.
 */
export class Introspector {
  readonly #client: IntrospectionClient
  readonly #authorization: string
  readonly #active = new Map<string, Cached>()
  readonly #refused = new Map<string, { reason: string; until: number }>()
  readonly #asking = new Map<string, Promise<Record<string, unknown>>>()

  constructor(client: IntrospectionClient) {
    this.#client = client
    this.#authorization = basic(client.clientId, client.clientSecret)
  }

  /** The claims of an active token; throws TokenRejected for an inactive one, AuthorizationServerUnavailable when it cannot ask. */
  async introspect(token: string, now = Date.now()): Promise<Record<string, unknown>> {
    const key = createHash('sha256').update(token).digest('base64url')
    const cached = this.#active.get(key)
    if (cached && cached.until > now) return cached.claims
    const refused = this.#refused.get(key)
    if (refused && refused.until > now) throw new TokenRejected(refused.reason)
    // Requests that arrive together with one new token share one call to the authorization server.
    const asking = this.#asking.get(key)
    if (asking) return asking
    const ask = this.#ask(token, key, now).finally(() => this.#asking.delete(key))
    this.#asking.set(key, ask)
    return ask
  }

  async #ask(token: string, key: string, now: number): Promise<Record<string, unknown>> {
    let answer: Record<string, unknown>
    try {
      answer = await fetchJson(this.#client.url, {
        method: 'POST',
        headers: { authorization: this.#authorization, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
      })
    } catch (error) {
      throw new AuthorizationServerUnavailable(`token introspection failed: ${(error as Error).message}`)
    }
    const type = typeof answer.token_type === 'string' ? answer.token_type.toLowerCase() : undefined
    if (answer.active !== true || (type !== undefined && !ACCESS_TOKEN_TYPES.has(type))) {
      // An active refresh token (or any other kind) is not an access token.
      const reason = answer.active === true ? 'the token is not an access token' : 'the token is not active (expired, revoked or unknown to the authorization server)'
      this.#remember(this.#refused, key, { reason, until: now + NEGATIVE_CACHE_MS })
      throw new TokenRejected(reason)
    }
    const expires = typeof answer.exp === 'number' ? answer.exp * 1000 : Infinity
    if (JSON.stringify(answer).length <= MAX_CACHED_BYTES) this.#remember(this.#active, key, { claims: answer, until: Math.min(expires, now + MAX_CACHE_MS) })
    return answer
  }

  /** Bounded: the oldest entry goes first once the map is full (a Map iterates in insertion order). */
  #remember<T>(map: Map<string, T>, key: string, value: T): void {
    map.delete(key)
    if (map.size >= MAX_ENTRIES) map.delete(map.keys().next().value as string)
    map.set(key, value)
  }
}
