import type { FastifyRequest } from 'fastify'
import { HttpError } from '../../errors.js'
import type { AuthRefusal } from '../../hooks/authenticate.js'
import { presentedKey, type ApiKeys } from '../api-keys.js'
import { AuthFailure, type Principal } from '../principal.js'
import { bearerToken } from '../secrets.js'
import { AuthorizationServerUnavailable, TokenRejected } from './claims.js'
import { canonicalResource, metadataUrlOf, siblingResource, WELL_KNOWN } from './resource.js'
import { TokenVerifier } from './token-verifier.js'

/** The OAuth settings, resolved once (see the `oauth` option). */
export interface ResolvedOAuth {
  issuer: string
  /** The canonical URL of the Streamable HTTP endpoint; undefined: taken from each request's (checked) Host. */
  resourceUrl: string | undefined
  /** The one audience accepted; undefined: the endpoint's resource URLs. */
  audience: string | undefined
  jwksUrl: string | undefined
  introspection: { url: string | undefined; clientId: string; clientSecret: string } | undefined
  /** Scopes every token must carry; advertised in the metadata and the challenge. */
  scopes: string[]
  algorithms: string[]
  clockToleranceSec: number
  resourceName: string | undefined
}

/** Where the plugin serves MCP, to name the resource of each endpoint. */
export interface Endpoints {
  /** The prefix of the app the plugin is registered on (its metadata routes are under it). */
  hostPrefix: string
  /** The full prefix of the MCP routes (the host app's and the plugin's own). */
  prefix: string
  stream: string | false
  sse: string | false
  messages: string
}

/** An RFC 6750 auth-param value: a quoted string without the characters that would end it. */
const quoted = (value: string): string => `"${value.replace(/["\\]/g, '')}"`

/**
 * This proxy as an OAuth 2.1 resource server: the resource URL of each endpoint, the audiences a token may
 * name, the Protected Resource Metadata (RFC 9728) and the `WWW-Authenticate` challenges. It validates
 * tokens and never issues them: it is not an authorization server.
 */
export class OAuthResource {
  readonly settings: ResolvedOAuth
  readonly #endpoints: Endpoints
  readonly #verifier: TokenVerifier
  readonly #apiKeys: ApiKeys | undefined
  /** Each endpoint's resource when `resourceUrl` is configured (empty otherwise: taken from each request). */
  readonly #configured = new Map<string, string>()

  constructor(settings: ResolvedOAuth, endpoints: Endpoints, apiKeys: ApiKeys | undefined) {
    this.settings = settings
    this.#endpoints = endpoints
    this.#apiKeys = apiKeys
    this.#verifier = new TokenVerifier(settings)
    const configured = settings.resourceUrl
    const { stream } = endpoints
    // A configured resource names every endpoint's once: the Streamable one's, and `/sse` beside it.
    if (configured !== undefined) {
      for (const endpoint of [endpoints.stream, endpoints.sse]) {
        if (endpoint !== false) this.#configured.set(endpoint, stream === false || endpoint === stream ? configured : siblingResource(configured, stream, endpoint))
      }
    }
  }

  /** The path (after the prefix) a request's resource is named by: the legacy `/sse` for its two routes, else the Streamable one. */
  #endpointOf(request: FastifyRequest): string {
    const { prefix, stream, sse, messages } = this.#endpoints
    const url = request.routeOptions.url ?? ''
    const path = url.startsWith(prefix) ? url.slice(prefix.length).replace(/(.)\/$/, '$1') : url
    if (sse !== false && (path === sse || path === messages)) return sse
    return stream === false ? (sse as string) : stream
  }

  /** The canonical resource URL of the endpoint this request is for. */
  resourceOf(request: FastifyRequest): string {
    return this.resourceFor(request, this.#endpointOf(request))
  }

  /** The canonical resource URL of `endpoint` (a path after the prefix), as a client reaching it through this request would name it. */
  resourceFor(request: FastifyRequest, endpoint: string): string {
    const configured = this.#configured.get(endpoint)
    if (configured !== undefined) return configured
    // Only reached when Host is checked against an allow-list (resolveOptions refuses otherwise). The raw
    // Host header and the socket, never X-Forwarded-*: a host app with trustProxy would otherwise let a
    // client name the audience its token is checked against.
    const scheme = (request.raw.socket as { encrypted?: boolean }).encrypted === true ? 'https' : 'http'
    return canonicalResource(`${scheme}://${request.headers.host ?? ''}${this.#endpoints.prefix}${endpoint}`)
  }

  /** Audiences a token presented on this request may name. */
  #audiences(request: FastifyRequest): string[] {
    if (this.settings.audience !== undefined) return [this.settings.audience]
    const { stream, sse } = this.#endpoints
    return [stream, sse].filter((e): e is string => e !== false).map((endpoint) => this.resourceFor(request, endpoint))
  }

  /** An API key (when configured too), else an OAuth access token from `Authorization: Bearer`. */
  async authenticate(request: FastifyRequest): Promise<Principal | AuthFailure> {
    if (this.#apiKeys) {
      const key = presentedKey(request.headers)
      const principal = key === undefined ? undefined : this.#apiKeys.match(key)
      if (principal) return principal
    }
    const token = bearerToken(request.headers.authorization)
    if (token === undefined || token === '') return new AuthFailure('missing', 'send an OAuth access token for this resource as Authorization: Bearer <token>')
    let principal: Principal
    try {
      principal = await this.#verifier.verify(token, this.#audiences(request), this.resourceOf(request))
    } catch (error) {
      if (error instanceof TokenRejected) return new AuthFailure('invalid', error.message)
      if (error instanceof AuthorizationServerUnavailable) {
        request.log.warn({ reason: error.message }, 'access token not checked: the authorization server cannot be reached')
        return new AuthFailure('unavailable', 'the authorization server cannot be reached to check the token; retry later')
      }
      throw error
    }
    const missing = this.settings.scopes.filter((scope) => !principal.scopes.includes(scope))
    if (missing.length > 0) return new AuthFailure('insufficient_scope', `the token lacks the scope${missing.length > 1 ? 's' : ''} ${missing.join(' ')}`, this.settings.scopes)
    return principal
  }

  /** 401 for a missing or refused token, 403 for missing scopes; both with their challenge. */
  refusal(request: FastifyRequest, failure: AuthFailure): AuthRefusal {
    return { error: failure.kind === 'insufficient_scope' ? HttpError.InsufficientScope : HttpError.Unauthorized, challenge: this.challenge(request, failure) }
  }

  /** The `WWW-Authenticate` value of a refusal (RFC 6750 §3 with the `resource_metadata` of RFC 9728 §5.1). */
  challenge(request: FastifyRequest, failure: AuthFailure): string {
    const params: string[] = []
    if (failure.kind === 'invalid') params.push(`error="invalid_token"`, `error_description=${quoted(failure.message)}`)
    if (failure.kind === 'insufficient_scope') params.push(`error="insufficient_scope"`, `error_description=${quoted(failure.message)}`)
    const scopes = failure.kind === 'insufficient_scope' ? failure.scopes : this.settings.scopes
    if (scopes.length > 0) params.push(`scope=${quoted(scopes.join(' '))}`)
    params.push(`resource_metadata=${quoted(this.#metadataUrl(this.resourceOf(request)))}`)
    return `Bearer ${params.join(', ')}`
  }

  /**
   * Where the metadata of `resource` is: the RFC 9728 address. Registered inside a prefixed scope, the
   * plugin can only serve it under that scope's prefix too, and the challenge names that address instead
   * (clients follow the challenge first); a configured resource URL is taken as routed by the operator.
   */
  #metadataUrl(resource: string): string {
    const standard = metadataUrlOf(resource)
    const { hostPrefix } = this.#endpoints
    if (this.settings.resourceUrl !== undefined || hostPrefix === '') return standard
    const url = new URL(standard)
    return `${url.origin}${hostPrefix}${url.pathname}`
  }

  /** The paths (on the host app, before its prefix) where the metadata of each endpoint is served. */
  metadataPaths(endpoints: readonly string[]): Array<{ path: string; endpoint: string }> {
    const served = endpoints.map((endpoint) => ({ path: `${WELL_KNOWN}${this.#endpoints.prefix}${endpoint}`, endpoint }))
    // Behind a proxy that rewrites paths, the configured resource's own address too.
    const extra = endpoints.flatMap((endpoint) => {
      const configured = this.#configured.get(endpoint)
      return configured === undefined ? [] : [{ path: new URL(metadataUrlOf(configured)).pathname, endpoint }]
    })
    return [...served, ...extra.filter((e) => !served.some((s) => s.path === e.path))]
  }

  /** The Protected Resource Metadata document of `endpoint` (RFC 9728 §2). */
  metadata(request: FastifyRequest, endpoint: string): Record<string, unknown> {
    const { issuer, scopes, resourceName } = this.settings
    return {
      resource: this.resourceFor(request, endpoint),
      authorization_servers: [issuer],
      ...(scopes.length > 0 ? { scopes_supported: scopes } : {}),
      bearer_methods_supported: ['header'],
      ...(resourceName === undefined ? {} : { resource_name: resourceName }),
    }
  }
}
