import type { IncomingHttpHeaders } from 'node:http'
import { AuthFailure, type Principal } from './principal.js'
import { timingSafeEqual } from 'node:crypto'
import { bearerToken, digest } from './secrets.js'

/** The key a request presents: `X-API-Key`, else an `Authorization: Bearer` value. */
export function presentedKey(headers: IncomingHttpHeaders): string | undefined {
  const apiKey = headers['x-api-key']
  if (typeof apiKey === 'string') return apiKey
  return bearerToken(headers.authorization)
}

/**
 * The configured API keys, each its own principal (`api-key:1`, `api-key:2`, … in the order given): a
 * session opened with one key is not reachable with another. Keys are kept as digests and every one is
 * compared, in constant time, on each check.
 */
export class ApiKeys {
  readonly #digests: Buffer[]
  readonly #principals: Principal[]

  constructor(keys: readonly string[]) {
    this.#digests = keys.map(digest)
    this.#principals = keys.map((_key, i) => Object.freeze({ id: `api-key:${i + 1}`, subject: `api-key-${i + 1}`, scopes: [], claims: { sub: `api-key-${i + 1}` } }))
  }

  /** The principal of the key, or undefined when it is none of them. */
  match(presented: string): Principal | undefined {
    // Hashed once (equal lengths for timingSafeEqual), then compared with every key, whichever matches.
    const hashed = digest(presented)
    let found: Principal | undefined
    this.#digests.forEach((expected, i) => {
      if (timingSafeEqual(hashed, expected) && found === undefined) found = this.#principals[i]
    })
    return found
  }
}

/** What a client is told when it sends no key, or a wrong one: which header carries it. */
export const API_KEY_HINT = 'send it in the X-API-Key header, or as Authorization: Bearer <key>'

/** Authenticate by API key alone (no OAuth): a missing key and a wrong key are both refused. */
export function apiKeyAuthenticate(keys: ApiKeys): (headers: IncomingHttpHeaders) => Principal | AuthFailure {
  return (headers) => {
    const key = presentedKey(headers)
    if (key === undefined) return new AuthFailure('missing', API_KEY_HINT)
    return keys.match(key) ?? new AuthFailure('invalid', `the key sent is not valid; ${API_KEY_HINT}`)
  }
}

/**
 * The hint sent with API-key mode's 403: not `Bearer` (clients read a Bearer challenge as an invitation to
 * an OAuth login, which cannot succeed here); it names the header instead.
 */
export const API_KEY_CHALLENGE = 'ApiKey realm="mcp-proxy", header="X-API-Key"'
