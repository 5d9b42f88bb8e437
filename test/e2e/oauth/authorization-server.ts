// A real OAuth 2.1 authorization server for the end-to-end tests: oidc-provider (panva/node-oidc-provider)
// running in this process on 127.0.0.1, so the proxy (an OAuth resource server) and the official MCP SDK
// clients meet the discovery, registration, authorization code + PKCE, resource indicator, JWT access token
// and introspection behaviour of a genuine server instead of a mock.
//
// Things worth knowing about oidc-provider 9 (checked in its source, node_modules/.pnpm/oidc-provider@9.13.3):
// - It runs on plain http: nothing checks for an https issuer or NODE_ENV=production. Cookies only get the
//   Secure flag when the request itself is secure, so they work over http too.
// - http: redirect URIs are fine for `web` clients (only the implicit flow forbids them), but a web client's
//   redirect URI must match exactly. A `native` client (application_type 'native') may use any port on a
//   loopback redirect URI (RFC 8252). The v2 SDK client registers loopback redirect URIs as `native`; the v1
//   SDK sends whatever its provider's clientMetadata says (usually no application_type, i.e. `web`): both
//   work here.
// - Scopes a client registers (client metadata `scope`) must be listed in `scopes`, so the MCP scopes are
//   declared there even though the scope a resource-bound token may carry comes from getResourceServerInfo.
//   A token bound to a resource only carries that resource's scopes: `openid` never appears in its `scope`.
// - The access token format is chosen per resource (getResourceServerInfo's accessTokenFormat): a JWT
//   (header typ "at+jwt", RS256) or an opaque string. The introspection endpoint refuses JWTs outright
//   (400 unsupported_token_type): only opaque tokens can be introspected.
// - Introspection spreads the token's extra claims (extraTokenClaims, e.g. `email`) into its response.
// - Each Provider keeps its grants, codes, sessions and opaque tokens in its own in-memory store (an LRU of
//   1000 entries, no timers), dropped with the provider: servers started by different tests share nothing.
// - Console noise, harmless: "Unsupported runtime" (oidc-provider 9 wants Node 22 LTS; it works on Node 20),
//   and the warnings about the in-memory adapter and devInteractions (the built-in login and consent pages).
import { createHash, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
// @ts-expect-error -- oidc-provider ships no type declarations (and @types/oidc-provider is not installed).
import Provider from 'oidc-provider'

/** The scopes a resource server accepts, unless `resourceScope` says otherwise. */
const MCP_SCOPES = 'mcp:tools mcp:admin'

export interface AuthorizationServerOptions {
  /** Port on 127.0.0.1; 0 (the default) picks a free one. */
  port?: number
  /** Resources (exact `resource` values) whose access tokens are opaque instead of JWTs. */
  opaqueResources?: string[]
  /** Space-separated scopes every resource accepts (default "mcp:tools mcp:admin"). */
  resourceScope?: string
  /** Extra claims for a user's access tokens, merged over the default `email: <sub>@example.test`. */
  extraClaims?: (subject: string) => Record<string, unknown>
}

/** An access token and, for a JWT, its (unverified) decoded payload. */
export interface IssuedToken {
  accessToken: string
  /** The JWT payload; undefined for an opaque token. */
  claims: Record<string, unknown> | undefined
  /** The whole token endpoint response (token_type, expires_in, scope …). */
  response: Record<string, unknown>
}

export interface ClientCredentials {
  clientId: string
  clientSecret: string
}

export interface AuthorizationServer {
  /** http://127.0.0.1:PORT (no trailing slash), the `iss` of every token. */
  issuer: string
  /** The statically registered clients. */
  clients: {
    /** Confidential, client_credentials only, may request the MCP scopes. */
    machine: ClientCredentials
    /** Confidential, may only call the introspection endpoint (for the proxy). */
    introspector: ClientCredentials
    /** Public (PKCE), native, redirect URI http://127.0.0.1/callback: used by authorizationCodeToken. */
    interactive: { clientId: string; redirectUri: string }
  }
  /** POST /token grant_type=client_credentials with `resource` (as `machine` unless told otherwise). */
  clientCredentialsToken: (request: { resource: string; scope: string } & Partial<ClientCredentials>) => Promise<IssuedToken>
  /** The whole authorization code + PKCE flow for the user `login`, through the dev login and consent pages. */
  authorizationCodeToken: (request: { resource: string; scope: string; login: string }) => Promise<IssuedToken>
  /**
   * Log `login` in and consent on an authorization URL a client built; resolves with the URL the server
   * redirects to in the end (the client's redirect_uri with `code` and `state`), without following it.
   */
  driveLogin: (authorizationUrl: URL, login: string) => Promise<URL>
  /** POST /token/introspection as `introspector` (unless told otherwise); the JSON response. */
  introspect: (token: string, as?: ClientCredentials) => Promise<Record<string, unknown>>
  /** Stop listening and drop every connection. */
  close: () => Promise<void>
}

/** The part of oidc-provider's Provider this file uses. */
interface OidcProvider {
  callback: () => (req: IncomingMessage, res: ServerResponse) => void
}
const OidcProviderClass = Provider as new (issuer: string, configuration: Record<string, unknown>) => OidcProvider

/** The token endpoint needs no more than this from a resource-bound token (oidc-provider's token model). */
interface TokenLike {
  accountId?: string
}

export async function startAuthorizationServer(options: AuthorizationServerOptions = {}): Promise<AuthorizationServer> {
  const opaque = new Set(options.opaqueResources ?? [])
  const clients = {
    machine: { clientId: 'machine-client', clientSecret: `machine-${randomUUID()}` },
    introspector: { clientId: 'proxy-introspector', clientSecret: `introspector-${randomUUID()}` },
    interactive: { clientId: 'interactive-client', redirectUri: 'http://127.0.0.1/callback' },
  }

  // The issuer has to name the real port, so listen first and plug the provider in afterwards.
  let handle: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.writeHead(503).end()
  const server = createServer((req, res) => handle(req, res))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve())
  })
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  const provider = new OidcProviderClass(issuer, {
    clients: [
      {
        client_id: clients.machine.clientId,
        client_secret: clients.machine.clientSecret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        scope: MCP_SCOPES,
      },
      {
        client_id: clients.introspector.clientId,
        client_secret: clients.introspector.clientSecret,
        grant_types: [],
        response_types: [],
        redirect_uris: [],
      },
      {
        client_id: clients.interactive.clientId,
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: [clients.interactive.redirectUri],
      },
    ],
    jwks: { keys: [signingKey()] },
    // Signed cookies (the dev interactions keep their state in them); a fresh key per server.
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    scopes: ['openid', 'offline_access', ...MCP_SCOPES.split(' ')],
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    // Any login is a user: the subject is the login itself.
    findAccount: (_ctx: unknown, sub: string) => ({
      accountId: sub,
      claims: () => ({ sub, email: emailOf(sub), email_verified: true }),
    }),
    // OAuth 2.1: PKCE for every authorization code, confidential clients included.
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      // Open registration (no initial access token), as the MCP SDK clients expect.
      registration: { enabled: true },
      introspection: {
        enabled: true,
        // The proxy's client may introspect any token; any other client only its own tokens.
        allowedPolicy: (_ctx: unknown, caller: { clientId: string }, token: { clientId: string }) =>
          caller.clientId === clients.introspector.clientId || caller.clientId === token.clientId,
      },
      resourceIndicators: {
        enabled: true,
        // When a client leaves `resource` out of the token request (or asks for openid too), still bind the
        // token to the resource it was authorized for, rather than issuing a userinfo-only opaque token.
        useGrantedResource: () => true,
        // Every absolute URL is a resource server; its tokens are RS256 JWTs unless listed as opaque.
        getResourceServerInfo: (_ctx: unknown, resource: string) => ({
          scope: options.resourceScope ?? MCP_SCOPES,
          audience: resource,
          accessTokenTTL: 300,
          ...(opaque.has(resource) ? { accessTokenFormat: 'opaque' } : { accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } }),
        }),
      },
    },
    // User tokens (JWT payload or introspection response) carry the user's email and the test's claims.
    extraTokenClaims: (_ctx: unknown, token: TokenLike) =>
      token.accountId ? { email: emailOf(token.accountId), ...options.extraClaims?.(token.accountId) } : undefined,
    // Explicit lifetimes (seconds) silence the "you SHOULD change" notices of the default functions.
    ttl: { AccessToken: 300, AuthorizationCode: 60, ClientCredentials: 300, Grant: 3600, IdToken: 300, Interaction: 600, RefreshToken: 3600, Session: 3600 },
    clientBasedCORS: () => true,
  })
  handle = provider.callback()

  const endpoint = (path: string): string => `${issuer}${path}`

  const driveLogin = async (authorizationUrl: URL, login: string): Promise<URL> => {
    const jar = new CookieJar()
    const origin = new URL(issuer).origin
    let response = await jar.fetch(authorizationUrl)
    // auth → login page → auth (resume) → consent page → auth (resume) → redirect_uri: about 6 hops.
    for (let hop = 0; hop < 12; hop++) {
      const location = response.headers.get('location')
      if (location) {
        const next = new URL(location, response.url || authorizationUrl)
        if (next.origin !== origin) return next
        response = await jar.fetch(next)
        continue
      }
      const page = await response.text()
      const prompt = /name="prompt" value="(\w+)"/.exec(page)?.[1]
      if (!response.ok || !prompt) throw new Error(`unexpected authorization server page (${response.status} ${response.url}):\n${page.slice(0, 2000)}`)
      // The form posts back to the interaction's own URL (POST /interaction/:uid); the dev login checks no password.
      const form = prompt === 'login' ? { prompt, login, password: 'any' } : { prompt }
      response = await jar.fetch(new URL(response.url), { method: 'POST', body: new URLSearchParams(form) })
    }
    throw new Error('too many redirects while driving the login')
  }

  const tokenRequest = async (body: Record<string, string>, auth?: ClientCredentials): Promise<IssuedToken> => {
    const headers: Record<string, string> = auth ? { authorization: basic(auth) } : {}
    const response = await fetch(endpoint('/token'), { method: 'POST', headers, body: new URLSearchParams(body) })
    const json = (await response.json()) as Record<string, unknown>
    if (!response.ok || typeof json.access_token !== 'string') throw new Error(`token request failed (${response.status}): ${JSON.stringify(json)}`)
    return { accessToken: json.access_token, claims: decodeJwt(json.access_token), response: json }
  }

  return {
    issuer,
    clients,
    driveLogin,

    clientCredentialsToken: ({ resource, scope, clientId = clients.machine.clientId, clientSecret = clients.machine.clientSecret }) =>
      tokenRequest({ grant_type: 'client_credentials', resource, scope }, { clientId, clientSecret }),

    authorizationCodeToken: async ({ resource, scope, login }) => {
      const verifier = randomBytes(32).toString('base64url')
      const state = randomBytes(16).toString('base64url')
      const authorize = new URL(endpoint('/auth'))
      authorize.search = new URLSearchParams({
        client_id: clients.interactive.clientId,
        redirect_uri: clients.interactive.redirectUri,
        response_type: 'code',
        scope,
        resource,
        state,
        code_challenge: createHash('sha256').update(verifier).digest('base64url'),
        code_challenge_method: 'S256',
      }).toString()
      const callback = await driveLogin(authorize, login)
      const code = callback.searchParams.get('code')
      if (!code || callback.searchParams.get('state') !== state) throw new Error(`authorization failed: ${callback.href}`)
      return tokenRequest({
        grant_type: 'authorization_code',
        client_id: clients.interactive.clientId,
        redirect_uri: clients.interactive.redirectUri,
        code,
        code_verifier: verifier,
        resource,
      })
    },

    introspect: async (token, as = clients.introspector) => {
      const response = await fetch(endpoint('/token/introspection'), {
        method: 'POST',
        headers: { authorization: basic(as) },
        body: new URLSearchParams({ token }),
      })
      const json = (await response.json()) as Record<string, unknown>
      if (!response.ok) throw new Error(`introspection failed (${response.status}): ${JSON.stringify(json)}`)
      return json
    },

    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()))
        // fetch keeps connections alive: without this, close() would wait for them to time out.
        server.closeAllConnections()
      }),
  }
}

/** A fresh RS256 signing key (private JWK) for the provider's JWKS. */
function signingKey(): Record<string, unknown> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'RS256', use: 'sig' }
}

function emailOf(subject: string): string {
  return `${subject}@example.test`
}

/** HTTP Basic client authentication (RFC 6749 §2.3.1: both parts form-urlencoded first). */
function basic({ clientId, clientSecret }: ClientCredentials): string {
  const encode = (s: string): string => encodeURIComponent(s).replace(/%20/g, '+')
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`
}

/** The payload of a JWT, not verified; undefined if `token` is not a JWT. */
function decodeJwt(token: string): Record<string, unknown> | undefined {
  const parts = token.split('.')
  if (parts.length !== 3) return undefined
  try {
    return JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>
  } catch {
    return undefined
  }
}

/**
 * fetch has no cookie jar: this one keeps the provider's interaction and session cookies by name (paths and
 * expiry ignored, except that a cleared cookie is dropped) and never follows redirects itself.
 */
class CookieJar {
  private readonly cookies = new Map<string, string>()

  async fetch(url: URL, init: RequestInit = {}): Promise<Response> {
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ')
    const response = await fetch(url, { ...init, redirect: 'manual', headers: cookie ? { cookie } : {} })
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';')
      const eq = pair.indexOf('=')
      const name = pair.slice(0, eq).trim()
      const value = pair.slice(eq + 1).trim()
      const expires = attributes.find((a) => a.trim().toLowerCase().startsWith('expires='))
      const expired = expires !== undefined && Date.parse(expires.split('=')[1] ?? '') <= Date.now()
      if (!value || expired) this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
    return response
  }
}
