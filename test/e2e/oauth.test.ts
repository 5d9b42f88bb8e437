// End to end: the built CLI as an OAuth 2.1 resource server (--oauth-issuer …) in front of the echo fixture,
// with a real authorization server (oidc-provider, in process: ./oauth/authorization-server.ts). The official
// SDK clients run their own OAuth flow against it; raw fetch checks the refusals (status, WWW-Authenticate,
// JSON-RPC body), introspection of opaque tokens, the binding of a session to its principal, the child's
// environment from the user's claims, and that the API-key mode still answers 403, never 401.
import { createHmac, createPublicKey, generateKeyPairSync, randomUUID, sign, type JsonWebKey, type KeyObject } from 'node:crypto'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  Client,
  StreamableHTTPClientTransport,
  UnauthorizedError,
  type CallToolResult,
  type OAuthClientProvider,
  type OAuthDiscoveryState,
  type StoredOAuthClientInformation,
  type StoredOAuthTokens,
} from '@modelcontextprotocol/client'
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js'
import { UnauthorizedError as V1UnauthorizedError, type OAuthClientProvider as V1OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js'
import { StreamableHTTPClientTransport as V1StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { ECHO_SERVER, MCP_HEADERS, eventReader, marker, messageOf, processesWith, startProxy, within, type Proxy } from './helpers.js'
import { startAuthorizationServer, type AuthorizationServer } from './oauth/authorization-server.js'

const PROTOCOL_VERSION = '2025-06-18'

// ---- proxies: every one started here is stopped (and checked for leftover children) in afterAll ----

interface RunningProxy {
  proxy: Proxy
  mark: string
}
const running: RunningProxy[] = []

/** The built CLI in front of the echo fixture with `flags`; stopped by `stopEveryProxy`. */
async function startEchoProxy(flags: string[]): Promise<Proxy> {
  const mark = marker()
  const proxy = await startProxy([process.execPath, ECHO_SERVER, mark], [ECHO_SERVER, mark], flags)
  running.push({ proxy, mark })
  return proxy
}

/** Stop every proxy this file started; each must exit 0 and leave no child behind. */
async function stopEveryProxy(): Promise<void> {
  const stopped = await Promise.all(running.splice(0).map(async ({ proxy }) => ({ base: proxy.base, ...(await proxy.stop()) })))
  for (const { base, code, leftovers } of stopped) {
    expect(code, `exit code of the proxy on ${base}`).toBe(0)
    expect(leftovers, `children left by the proxy on ${base}`).toEqual([])
  }
}

afterAll(stopEveryProxy, 30_000)

/** The canonical resource a loopback proxy derives from the Host header (what tokens must name). */
function resourceOf(proxy: Proxy): string {
  return `${proxy.base}/mcp`
}

// ---- raw Streamable HTTP ----

interface RpcAnswer {
  status: number
  headers: Headers
  /** The JSON-RPC message (from a JSON body or the first matching SSE event); undefined if none. */
  body: Record<string, unknown> | undefined
  /** The raw text of a non-SSE body. */
  text: string
}

let nextId = 1

/** Authorization headers for a bearer token (or none). */
function bearer(token: string | undefined): Record<string, string> {
  return token === undefined ? {} : { authorization: `Bearer ${token}` }
}

/** POST one JSON-RPC message to /mcp and read the answer whether it comes as JSON or as an SSE stream (bounded). */
async function post(proxy: Proxy, message: Record<string, unknown>, headers: Record<string, string> = {}): Promise<RpcAnswer> {
  const res = await within(
    fetch(proxy.streamable, { method: 'POST', headers: { ...MCP_HEADERS, ...headers }, body: JSON.stringify(message) }),
    10_000,
    `POST ${String(message.method)}`,
  )
  return readAnswer(res, message.id)
}

async function readAnswer(res: Response, id: unknown): Promise<RpcAnswer> {
  const type = res.headers.get('content-type') ?? ''
  if (type.includes('text/event-stream')) {
    const reader = eventReader(res)
    try {
      const events = await reader.until((e) => messageOf(e)?.id === id, 10_000)
      return { status: res.status, headers: res.headers, body: messageOf(events.at(-1)!), text: '' }
    } finally {
      await reader.close()
    }
  }
  const text = await within(res.text(), 10_000, 'a response body')
  let body: Record<string, unknown> | undefined
  try {
    body = text ? (JSON.parse(text) as Record<string, unknown>) : undefined
  } catch {
    body = undefined
  }
  return { status: res.status, headers: res.headers, body, text }
}

function initializeMessage(): Record<string, unknown> {
  return {
    jsonrpc: '2.0',
    id: nextId++,
    method: 'initialize',
    params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'e2e-oauth', version: '1.0.0' } },
  }
}

/** POST initialize with these credentials headers. */
function initialize(proxy: Proxy, headers: Record<string, string> = {}): Promise<RpcAnswer> {
  return post(proxy, initializeMessage(), headers)
}

/** Headers of a request inside a session. */
function inSession(sessionId: string, headers: Record<string, string>): Record<string, string> {
  return { ...headers, 'mcp-session-id': sessionId, 'mcp-protocol-version': PROTOCOL_VERSION }
}

/** initialize + notifications/initialized with these credentials; the session id. */
async function openSession(proxy: Proxy, headers: Record<string, string>): Promise<string> {
  const answer = await initialize(proxy, headers)
  expect(answer.status, `initialize: ${answer.text || JSON.stringify(answer.body)}`).toBe(200)
  expect(answer.body?.result).toBeDefined()
  const sessionId = answer.headers.get('mcp-session-id')
  expect(sessionId).toBeTruthy()
  const initialized = await within(
    fetch(proxy.streamable, {
      method: 'POST',
      headers: { ...MCP_HEADERS, ...inSession(sessionId!, headers) },
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
    }),
    10_000,
    'notifications/initialized',
  )
  await initialized.body?.cancel()
  expect(initialized.status).toBe(202)
  return sessionId!
}

function listTools(proxy: Proxy, sessionId: string, headers: Record<string, string>): Promise<RpcAnswer> {
  return post(proxy, { jsonrpc: '2.0', id: nextId++, method: 'tools/list', params: {} }, inSession(sessionId, headers))
}

function callTool(proxy: Proxy, sessionId: string, headers: Record<string, string>, name: string, args: Record<string, unknown>): Promise<RpcAnswer> {
  return post(proxy, { jsonrpc: '2.0', id: nextId++, method: 'tools/call', params: { name, arguments: args } }, inSession(sessionId, headers))
}

/** The text of a tools/call result. */
function textOf(answer: RpcAnswer): string {
  const result = answer.body?.result as CallToolResult | undefined
  expect(result, `a tools/call result; got ${JSON.stringify(answer.body)}`).toBeDefined()
  return result!.content.flatMap((c) => (c.type === 'text' ? [c.text] : [])).join('\n')
}

/** `Bearer a="b", c="d"` → { scheme: 'Bearer', a: 'b', c: 'd' } (quoted values only, as the proxy sends). */
function parseChallenge(header: string | null): Record<string, string> {
  expect(header, 'a WWW-Authenticate header').toBeTruthy()
  const scheme = /^\s*(\S+)/.exec(header!)?.[1] ?? ''
  const params: Record<string, string> = { scheme }
  for (const m of header!.slice(scheme.length).matchAll(/([\w-]+)="((?:[^"\\]|\\.)*)"/g)) params[m[1]!] = m[2]!.replace(/\\(.)/g, '$1')
  return params
}

/** The JSON-RPC error body every refusal carries. */
function expectRefusalBody(answer: RpcAnswer, reason: string): { message: string } {
  expect(answer.body, `a JSON-RPC error body; got ${answer.text}`).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32000, data: { reason } } })
  const error = answer.body!.error as { message: unknown }
  expect(typeof error.message).toBe('string')
  return { message: error.message as string }
}

/** A 401 for a bad token: Bearer invalid_token with a description and the metadata URL. */
function expectInvalidToken(answer: RpcAnswer, proxy: Proxy): void {
  expect(answer.status, `status; body ${answer.text}`).toBe(401)
  const challenge = parseChallenge(answer.headers.get('www-authenticate'))
  expect(challenge.scheme).toBe('Bearer')
  expect(challenge.error).toBe('invalid_token')
  expect(challenge.error_description).toBeTruthy()
  expect(challenge.resource_metadata).toBe(`${proxy.base}/.well-known/oauth-protected-resource/mcp`)
  expectRefusalBody(answer, 'MCP_PROXY_UNAUTHORIZED')
}

// ---- JWTs crafted here (jose does not resolve from the repository root) ----

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

function decodePart(token: string, index: 0 | 1): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[index]!, 'base64url').toString('utf8')) as Record<string, unknown>
}

/** An RS256 JWT signed with `key`. */
function signRs256(header: Record<string, unknown>, payload: Record<string, unknown>, key: KeyObject): string {
  const input = `${b64url({ ...header, alg: 'RS256' })}.${b64url(payload)}`
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`
}

/** An HS256 JWT with `secret` as the HMAC key. */
function signHs256(header: Record<string, unknown>, payload: Record<string, unknown>, secret: string | Buffer): string {
  const input = `${b64url({ ...header, alg: 'HS256' })}.${b64url(payload)}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}

/** The issuer's JWKS (through its metadata, as the proxy finds it). */
async function jwksOf(as: AuthorizationServer): Promise<(JsonWebKey & { kid?: string })[]> {
  const metadata = (await (await fetch(`${as.issuer}/.well-known/openid-configuration`)).json()) as { jwks_uri: string }
  return ((await (await fetch(metadata.jwks_uri)).json()) as { keys: (JsonWebKey & { kid?: string })[] }).keys
}

// ---- an in-memory OAuthClientProvider for the SDK clients ----

/** Keeps everything in memory; records the authorization URL instead of opening a browser. */
class InMemoryOAuthProvider implements OAuthClientProvider {
  /** Nothing listens there: driveLogin stops at the redirect to it. */
  readonly redirectUrl = 'http://127.0.0.1:9/callback'
  authorizationUrl: URL | undefined
  private client: StoredOAuthClientInformation | undefined
  private stored: StoredOAuthTokens | undefined
  private verifier: string | undefined
  private discovery: OAuthDiscoveryState | undefined

  get clientMetadata(): OAuthClientProvider['clientMetadata'] {
    return {
      client_name: 'e2e OAuth client',
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    }
  }
  clientInformation(): StoredOAuthClientInformation | undefined {
    return this.client
  }
  saveClientInformation(info: StoredOAuthClientInformation): void {
    this.client = info
  }
  tokens(): StoredOAuthTokens | undefined {
    return this.stored
  }
  saveTokens(tokens: StoredOAuthTokens): void {
    this.stored = tokens
  }
  redirectToAuthorization(url: URL): void {
    this.authorizationUrl = url
  }
  saveCodeVerifier(verifier: string): void {
    this.verifier = verifier
  }
  codeVerifier(): string {
    if (!this.verifier) throw new Error('no code verifier saved')
    return this.verifier
  }
  // v2 only: lets finishAuth check that the code comes from the authorization server it was sent to.
  saveDiscoveryState(state: OAuthDiscoveryState): void {
    this.discovery = state
  }
  discoveryState(): OAuthDiscoveryState | undefined {
    return this.discovery
  }
}

/** What every SDK flow must have put in the authorization URL it asked the user to open. */
function expectAuthorizationUrl(url: URL | undefined, as: AuthorizationServer, resource: string): URL {
  expect(url, 'redirectToAuthorization was called').toBeDefined()
  expect(url!.origin).toBe(as.issuer)
  expect(url!.searchParams.get('resource')).toBe(resource)
  expect(url!.searchParams.get('code_challenge_method')).toBe('S256')
  expect(url!.searchParams.get('code_challenge')).toMatch(/^[\w-]{43}$/)
  expect(url!.searchParams.get('response_type')).toBe('code')
  expect(url!.searchParams.get('scope')?.split(' ')).toContain('mcp:tools')
  return url!
}

// =====================================================================================================

describe('OAuth resource server', { timeout: 60_000 }, () => {
  let as: AuthorizationServer
  /** OAuth only, scope mcp:tools required. */
  let proxy: Proxy
  let resource: string

  beforeAll(async () => {
    as = await startAuthorizationServer()
    proxy = await startEchoProxy(['--oauth-issuer', as.issuer, '--oauth-scopes', 'mcp:tools'])
    resource = resourceOf(proxy)
  })

  afterAll(async () => {
    await as?.close()
  })

  describe('protected resource metadata', () => {
    it('serves RFC 9728 metadata without a token, with CORS *', async () => {
      for (const path of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource']) {
        const res = await fetch(`${proxy.base}${path}`)
        expect(res.status, path).toBe(200)
        expect(res.headers.get('access-control-allow-origin'), path).toBe('*')
        expect(await res.json(), path).toEqual({
          resource,
          authorization_servers: [as.issuer],
          scopes_supported: ['mcp:tools'],
          bearer_methods_supported: ['header'],
        })
      }
      const sse = await fetch(`${proxy.base}/.well-known/oauth-protected-resource/sse`)
      expect(sse.status).toBe(200)
      expect(((await sse.json()) as { resource: string }).resource).toBe(`${proxy.base}/sse`)
    })

    it('the legacy /sse endpoint challenges with its own metadata and takes a token for /sse', async () => {
      const missing = await within(fetch(proxy.sse, { headers: { accept: 'text/event-stream' } }), 10_000, 'GET /sse')
      await missing.body?.cancel()
      expect(missing.status).toBe(401)
      expect(parseChallenge(missing.headers.get('www-authenticate')).resource_metadata).toBe(`${proxy.base}/.well-known/oauth-protected-resource/sse`)

      const token = await as.clientCredentialsToken({ resource: `${proxy.base}/sse`, scope: 'mcp:tools' })
      const controller = new AbortController()
      try {
        const res = await within(fetch(proxy.sse, { headers: { accept: 'text/event-stream', ...bearer(token.accessToken) }, signal: controller.signal }), 10_000, 'GET /sse')
        expect(res.status).toBe(200)
        const reader = eventReader(res)
        // the legacy transport's first event names the POST endpoint
        expect((await reader.until((e) => e.event === 'endpoint')).at(-1)?.data).toContain('sessionId=')
        await reader.close()
      } finally {
        controller.abort()
      }
    })

    it('leaves /ping and /ready open', async () => {
      expect((await fetch(`${proxy.base}/ping`)).status).toBe(200)
      expect((await fetch(`${proxy.base}/ready`)).status).toBe(200)
    })
  })

  describe('the official SDK clients run the whole flow', () => {
    it('v2 client: 401 → metadata → registration → PKCE login → token → tools', async () => {
      const provider = new InMemoryOAuthProvider()
      // Every URL the SDK fetches, to see that it followed the challenge to the metadata and the issuer.
      const fetched: string[] = []
      const recordingFetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
        fetched.push(`${init?.method ?? 'GET'} ${input instanceof Request ? input.url : String(input)}`)
        return fetch(input, init)
      }
      const first = new StreamableHTTPClientTransport(proxy.streamable, { authProvider: provider, fetch: recordingFetch })
      const unauthorized = await within(
        new Client({ name: 'e2e-oauth-v2', version: '2.0.0' }).connect(first).then(
          () => undefined,
          (error: unknown) => error,
        ),
        15_000,
        'the first connect of the v2 client',
      )
      expect(unauthorized).toBeInstanceOf(UnauthorizedError)
      const url = expectAuthorizationUrl(provider.authorizationUrl, as, resource)
      // It registered itself dynamically (the harness only knows its static clients).
      expect(url.searchParams.get('client_id')).toBe(provider.clientInformation()?.client_id)
      expect(fetched, 'the URLs the SDK fetched').toEqual(
        expect.arrayContaining([
          `GET ${proxy.base}/.well-known/oauth-protected-resource/mcp`,
          expect.stringMatching(new RegExp(`^GET ${as.issuer}/\\.well-known/(oauth-authorization-server|openid-configuration)`)),
          expect.stringMatching(new RegExp(`^POST ${as.issuer}/`)),
        ]),
      )

      const callback = await within(as.driveLogin(url, 'alice'), 15_000, 'the login of alice')
      expect(callback.searchParams.get('code')).toBeTruthy()
      await within(first.finishAuth(callback.searchParams), 10_000, 'finishAuth')
      const accessToken = provider.tokens()?.access_token
      expect(accessToken).toBeTruthy()
      expect(decodePart(accessToken!, 1)).toMatchObject({ iss: as.issuer, aud: resource, sub: 'alice' })

      const client = new Client({ name: 'e2e-oauth-v2', version: '2.0.0' })
      try {
        await within(client.connect(new StreamableHTTPClientTransport(proxy.streamable, { authProvider: provider })), 10_000, 'the second connect')
        const { tools } = await client.listTools()
        expect(tools.map((t) => t.name)).toContain('echo')
        const result = (await client.callTool({ name: 'echo', arguments: { text: 'hello through OAuth' } })) as CallToolResult
        expect(result.content).toEqual([{ type: 'text', text: 'hello through OAuth' }])
      } finally {
        await client.close()
      }
    })

    it('v1 client (@modelcontextprotocol/sdk): UnauthorizedError, finishAuth(code), then tools', async () => {
      const provider = new InMemoryOAuthProvider()
      const v1Provider = provider as unknown as V1OAuthClientProvider
      const first = new V1StreamableHTTPClientTransport(proxy.streamable, { authProvider: v1Provider })
      const unauthorized = await within(
        new V1Client({ name: 'e2e-oauth-v1', version: '1.0.0' }).connect(first).then(
          () => undefined,
          (error: unknown) => error,
        ),
        15_000,
        'the first connect of the v1 client',
      )
      expect(unauthorized).toBeInstanceOf(V1UnauthorizedError)
      const url = expectAuthorizationUrl(provider.authorizationUrl, as, resource)
      const callback = await within(as.driveLogin(url, 'carol'), 15_000, 'the login of carol')
      await within(first.finishAuth(callback.searchParams.get('code')!), 10_000, 'finishAuth')
      expect(decodePart(provider.tokens()!.access_token, 1)).toMatchObject({ aud: resource, sub: 'carol' })

      const client = new V1Client({ name: 'e2e-oauth-v1', version: '1.0.0' })
      try {
        await within(client.connect(new V1StreamableHTTPClientTransport(proxy.streamable, { authProvider: v1Provider })), 10_000, 'the second connect')
        const { tools } = await client.listTools()
        expect(tools.map((t) => t.name)).toContain('echo')
        const result = await client.callTool({ name: 'echo', arguments: { text: 'hello from v1' } })
        expect(result.content).toEqual([{ type: 'text', text: 'hello from v1' }])
      } finally {
        await client.close()
      }
    })
  })

  describe('refusals', () => {
    /** A valid client-credentials token for this proxy, the base of the forged ones. */
    let valid: string

    beforeAll(async () => {
      valid = (await as.clientCredentialsToken({ resource, scope: 'mcp:tools' })).accessToken
    })

    it('accepts a valid token (so the refusals below are about the token)', async () => {
      const answer = await initialize(proxy, bearer(valid))
      expect(answer.status, answer.text).toBe(200)
      expect(answer.body?.result).toBeDefined()
    })

    it('no token → 401 challenge naming the metadata and the scope, without error=', async () => {
      const answer = await initialize(proxy)
      expect(answer.status).toBe(401)
      const challenge = parseChallenge(answer.headers.get('www-authenticate'))
      expect(challenge).toEqual({
        scheme: 'Bearer',
        scope: 'mcp:tools',
        resource_metadata: `${proxy.base}/.well-known/oauth-protected-resource/mcp`,
      })
      expectRefusalBody(answer, 'MCP_PROXY_UNAUTHORIZED')
    })

    it('a token for another audience → 401 invalid_token', async () => {
      const other = await as.clientCredentialsToken({ resource: 'http://127.0.0.1:1/mcp', scope: 'mcp:tools' })
      expect(other.claims?.aud).toBe('http://127.0.0.1:1/mcp')
      expectInvalidToken(await initialize(proxy, bearer(other.accessToken)), proxy)
    })

    it('a token signed by a key not in the JWKS (valid claims) → 401 invalid_token', async () => {
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
      const forged = signRs256({ typ: 'at+jwt', kid: randomUUID() }, decodePart(valid, 1), privateKey)
      expectInvalidToken(await initialize(proxy, bearer(forged)), proxy)
    })

    it('a token signed by another key that claims the JWKS key id → 401 invalid_token', async () => {
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
      const forged = signRs256(decodePart(valid, 0), decodePart(valid, 1), privateKey)
      expectInvalidToken(await initialize(proxy, bearer(forged)), proxy)
    })

    it('alg none → 401 invalid_token', async () => {
      const unsigned = `${b64url({ alg: 'none', typ: 'at+jwt' })}.${b64url(decodePart(valid, 1))}.`
      expectInvalidToken(await initialize(proxy, bearer(unsigned)), proxy)
    })

    it('HS256 with the public key as the HMAC secret → 401 invalid_token', async () => {
      const header = decodePart(valid, 0)
      const jwk = (await jwksOf(as)).find((k) => k.kid === header.kid)
      expect(jwk?.n).toBeTruthy()
      const pem = createPublicKey({ key: jwk!, format: 'jwk' }).export({ type: 'spki', format: 'pem' })
      // The classic key-confusion secrets: the modulus, and the PEM a naive verifier would pass to HMAC.
      for (const secret of [jwk!.n!, Buffer.from(jwk!.n!, 'base64url'), pem]) {
        expectInvalidToken(await initialize(proxy, bearer(signHs256({ typ: 'at+jwt', kid: header.kid }, decodePart(valid, 1), secret))), proxy)
      }
    })

    it('a token whose payload was altered after signing → 401 invalid_token', async () => {
      const [head, , signature] = valid.split('.')
      const altered = `${head}.${b64url({ ...decodePart(valid, 1), sub: 'admin' })}.${signature}`
      expectInvalidToken(await initialize(proxy, bearer(altered)), proxy)
    })

    it('takes the scheme in any case (RFC 9110 §11.1), but the token only in the header', async () => {
      expect((await initialize(proxy, { authorization: `bearer ${valid}` })).status).toBe(200)
      const inQuery = await within(
        fetch(`${proxy.streamable.href}?access_token=${encodeURIComponent(valid)}`, { method: 'POST', headers: MCP_HEADERS, body: JSON.stringify(initializeMessage()) }),
        10_000,
        'POST with access_token in the query',
      )
      await inQuery.body?.cancel()
      expect(inQuery.status).toBe(401)
    })

    it('garbage → 401 invalid_token', async () => {
      expectInvalidToken(await initialize(proxy, bearer('not-a-token')), proxy)
    })

    it('a token without the required scope → 403 insufficient_scope naming it', async () => {
      // A second proxy requiring mcp:admin; the token only has mcp:tools.
      const admin = await startEchoProxy(['--oauth-issuer', as.issuer, '--oauth-scopes', 'mcp:admin'])
      const toolsOnly = await as.clientCredentialsToken({ resource: resourceOf(admin), scope: 'mcp:tools' })
      expect(String(toolsOnly.claims?.scope).split(' ')).toEqual(['mcp:tools'])
      const answer = await initialize(admin, bearer(toolsOnly.accessToken))
      expect(answer.status, answer.text).toBe(403)
      const challenge = parseChallenge(answer.headers.get('www-authenticate'))
      expect(challenge.scheme).toBe('Bearer')
      expect(challenge.error).toBe('insufficient_scope')
      expect(challenge.error_description).toBeTruthy()
      expect(challenge.scope).toBe('mcp:admin')
      expect(challenge.resource_metadata).toBe(`${admin.base}/.well-known/oauth-protected-resource/mcp`)
      expectRefusalBody(answer, 'MCP_PROXY_INSUFFICIENT_SCOPE')

      const both = await as.clientCredentialsToken({ resource: resourceOf(admin), scope: 'mcp:tools mcp:admin' })
      expect((await initialize(admin, bearer(both.accessToken))).status).toBe(200)
    })
  })

  describe('session bound to its principal', () => {
    let alice: Record<string, string>
    let bob: Record<string, string>
    let aliceSession: string

    beforeAll(async () => {
      alice = bearer((await as.authorizationCodeToken({ resource, scope: 'mcp:tools', login: 'alice' })).accessToken)
      bob = bearer((await as.authorizationCodeToken({ resource, scope: 'mcp:tools', login: 'bob' })).accessToken)
      aliceSession = await openSession(proxy, alice)
    })

    it("bob's valid token with alice's session id → 404 exactly like an unknown session", async () => {
      const message = { jsonrpc: '2.0', id: 4242, method: 'tools/list', params: {} }
      const hijack = await post(proxy, message, inSession(aliceSession, bob))
      const unknown = await post(proxy, message, inSession(randomUUID(), bob))
      expect(unknown.status).toBe(404)
      expect(hijack.status, hijack.text).toBe(404)
      expect(hijack.body).toEqual(unknown.body)
      expect(hijack.headers.get('content-type')).toBe(unknown.headers.get('content-type'))
      // alice's session is untouched
      expect((await listTools(proxy, aliceSession, alice)).status).toBe(200)
    })

    it('bob cannot resume (GET with Last-Event-ID) nor delete alice’s session', async () => {
      const get = (sessionId: string): Promise<Response> =>
        within(
          fetch(proxy.streamable, { headers: { accept: 'text/event-stream', 'last-event-id': '1', ...inSession(sessionId, bob) } }),
          10_000,
          'GET',
        )
      const hijack = await get(aliceSession)
      const unknown = await get(randomUUID())
      expect(unknown.status).toBe(404)
      expect(hijack.status).toBe(404)
      expect(await hijack.text()).toBe(await unknown.text())

      const del = await within(fetch(proxy.streamable, { method: 'DELETE', headers: inSession(aliceSession, bob) }), 10_000, 'DELETE')
      await del.body?.cancel()
      expect(del.status).toBe(404)

      expect(textOf(await callTool(proxy, aliceSession, alice, 'echo', { text: 'still mine' }))).toBe('still mine')
    })

    it('the same user with a fresh token keeps the session (bound to iss+sub, not to the token)', async () => {
      const again = bearer((await as.authorizationCodeToken({ resource, scope: 'mcp:tools', login: 'alice' })).accessToken)
      expect(again.authorization).not.toBe(alice.authorization)
      expect((await listTools(proxy, aliceSession, again)).status).toBe(200)
    })
  })
})

describe('expired tokens', { timeout: 30_000 }, () => {
  // Tokens live 300 s, and a token signed by the issuer cannot be forged here (nor should a test wait for
  // one to expire): so the proxy's clock is moved forward instead, by a
  // preload script that shifts Date (Date.now and `new Date()`, which jose reads) in the proxy process only.
  let as: AuthorizationServer
  /** A proxy with the real clock (the control, and to learn the token lifetime). */
  let realClock: Proxy
  const preloads: string[] = []

  beforeAll(async () => {
    as = await startAuthorizationServer()
    realClock = await startEchoProxy(['--oauth-issuer', as.issuer])
  })
  afterAll(async () => {
    await as?.close()
    for (const file of preloads) rmSync(file, { force: true })
  })

  /** A proxy (OAuth, `flags`) whose clock is `seconds` ahead of the real one. */
  async function startProxyWithClockAhead(seconds: number, flags: string[]): Promise<Proxy> {
    const preload = join(tmpdir(), `e2e-oauth-clock-${randomUUID()}.cjs`)
    preloads.push(preload)
    writeFileSync(
      preload,
      `const Real = Date
const offset = ${seconds * 1000}
class Shifted extends Real {
  constructor(...args) { if (args.length === 0) super(Real.now() + offset); else super(...args) }
  static now() { return Real.now() + offset }
}
globalThis.Date = Shifted
`,
    )
    // startProxy copies process.env when it spawns, synchronously: set NODE_OPTIONS around that call only.
    const before = process.env.NODE_OPTIONS
    process.env.NODE_OPTIONS = `${before ?? ''} --require ${preload}`.trim()
    let pending: Promise<Proxy>
    try {
      pending = startEchoProxy(['--oauth-issuer', as.issuer, ...flags])
    } finally {
      if (before === undefined) delete process.env.NODE_OPTIONS
      else process.env.NODE_OPTIONS = before
    }
    return pending
  }

  /** A fresh user token for `proxy`, and how long it lives. */
  async function tokenFor(proxy: Proxy): Promise<{ token: string; lifetime: number }> {
    const issued = await as.authorizationCodeToken({ resource: resourceOf(proxy), scope: 'mcp:tools', login: 'erin' })
    const lifetime = Number(issued.claims?.exp) - Number(issued.claims?.iat)
    expect(lifetime).toBeGreaterThan(10)
    return { token: issued.accessToken, lifetime }
  }

  it('a token past exp → 401 invalid_token; the leeway is 30 s by default and --oauth-clock-tolerance sets it', async () => {
    const lifetime = (await tokenFor(realClock)).lifetime
    // 15 s past exp: inside the default leeway, outside a tolerance of 0.
    const lenient = await startProxyWithClockAhead(lifetime + 15, [])
    const strict = await startProxyWithClockAhead(lifetime + 15, ['--oauth-clock-tolerance', '0'])
    // 100 s past exp: outside the default leeway.
    const late = await startProxyWithClockAhead(lifetime + 100, [])

    // The preload really runs in the proxy: its log lines carry the shifted time.
    const logTime = Number(late.logs()[0]?.time)
    expect(logTime - Date.now(), 'the shifted clock of the proxy (ms)').toBeGreaterThan((lifetime + 90) * 1000)

    expect((await initialize(lenient, bearer((await tokenFor(lenient)).token))).status).toBe(200)
    expectInvalidToken(await initialize(strict, bearer((await tokenFor(strict)).token)), strict)
    expectInvalidToken(await initialize(late, bearer((await tokenFor(late)).token)), late)
  })


  it('the same kind of token is accepted by a proxy with the real clock', async () => {
    expect((await initialize(realClock, bearer((await tokenFor(realClock)).token))).status).toBe(200)
  })
})

describe('opaque tokens through introspection', { timeout: 60_000 }, () => {
  // The proxy's port (hence its derived resource) is only known once it runs, and the authorization server
  // must know its opaque resources when it starts: so both agree on an explicit audience instead.
  const AUDIENCE = 'http://127.0.0.1:3/opaque-mcp'
  let as: AuthorizationServer
  let proxy: Proxy

  beforeAll(async () => {
    as = await startAuthorizationServer({ opaqueResources: [AUDIENCE] })
    const { clientId, clientSecret } = as.clients.introspector
    // startProxy cannot add environment variables (it strips MCP_PROXY_*), hence the flag for the secret.
    proxy = await startEchoProxy(['--oauth-issuer', as.issuer, '--oauth-audience', AUDIENCE, '--oauth-client-id', clientId, '--oauth-client-secret', clientSecret])
  })
  afterAll(async () => {
    await as?.close()
  })

  it('initialize, tools/list and tools/call succeed with an opaque token', async () => {
    const token = await as.authorizationCodeToken({ resource: AUDIENCE, scope: 'mcp:tools', login: 'dave' })
    expect(token.claims, 'an opaque token').toBeUndefined()
    expect(await as.introspect(token.accessToken)).toMatchObject({ active: true, aud: AUDIENCE, sub: 'dave' })
    const headers = bearer(token.accessToken)
    const sessionId = await openSession(proxy, headers)
    const tools = await listTools(proxy, sessionId, headers)
    expect(tools.status).toBe(200)
    expect(JSON.stringify(tools.body)).toContain('"echo"')
    expect(textOf(await callTool(proxy, sessionId, headers, 'echo', { text: 'opaque ok' }))).toBe('opaque ok')
  })

  it('a garbage opaque token → 401 invalid_token', async () => {
    expectInvalidToken(await initialize(proxy, bearer(`garbage-${randomUUID()}`)), proxy)
  })

  it('a (JWT) token for another audience is still refused there → 401 invalid_token', async () => {
    // The harness only issues opaque tokens for AUDIENCE, so this one is a JWT: the audience check still applies.
    const other = await as.clientCredentialsToken({ resource: 'http://127.0.0.1:1/mcp', scope: 'mcp:tools' })
    expectInvalidToken(await initialize(proxy, bearer(other.accessToken)), proxy)
  })

  it('the client secret is not in the logs', () => {
    expect(proxy.stderr()).not.toContain(as.clients.introspector.clientSecret)
  })
})

describe("the child's environment from the user's claims", { timeout: 60_000 }, () => {
  let as: AuthorizationServer
  let proxy: Proxy

  beforeAll(async () => {
    as = await startAuthorizationServer()
    proxy = await startEchoProxy(['--oauth-issuer', as.issuer, '--child-env-from-claim', 'MCP_USER=sub', '--child-env-from-claim', 'MCP_USER_EMAIL=email'])
  })
  afterAll(async () => {
    await as?.close()
  })

  /** Log in as `login`, open a session, and return the pid of its child (from the child itself) and the token. */
  async function sessionChild(login: string): Promise<{ pid: number; token: string; sessionId: string }> {
    const token = (await as.authorizationCodeToken({ resource: resourceOf(proxy), scope: 'mcp:tools', login })).accessToken
    const sessionId = await openSession(proxy, bearer(token))
    const whoami = JSON.parse(textOf(await callTool(proxy, sessionId, bearer(token), 'whoami', {}))) as { pid: number }
    return { pid: whoami.pid, token, sessionId }
  }

  function environOf(pid: number): Map<string, string> {
    const env = new Map<string, string>()
    for (const entry of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
      const eq = entry.indexOf('=')
      if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1))
    }
    return env
  }

  it('each user gets a child of their own with their claims and never the token', async () => {
    const alice = await sessionChild('alice')
    const bob = await sessionChild('bob')
    expect(bob.pid).not.toBe(alice.pid)

    for (const [user, child] of [['alice', alice], ['bob', bob]] as const) {
      // The proxy's log names the same child for the session.
      const opened = proxy.logs().find((l) => l.msg === 'session opened' && l.childPid === child.pid)
      expect(opened, `a "session opened" log line with childPid ${child.pid}`).toBeDefined()
      expect(processesWith(ECHO_SERVER)).toContain(child.pid)

      const env = environOf(child.pid)
      expect(env.get('MCP_USER'), user).toBe(user)
      expect(env.get('MCP_USER_EMAIL'), user).toBe(`${user}@example.test`)
      const raw = readFileSync(`/proc/${child.pid}/environ`, 'utf8')
      const cmdline = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8')
      for (const [name, text] of [['environ', raw], ['cmdline', cmdline]] as const) {
        expect(text.includes(child.token), `the access token in the ${name} of ${user}'s child`).toBe(false)
        expect(text.includes(child.token.split('.')[2]!), `the token's signature in the ${name} of ${user}'s child`).toBe(false)
        expect(/authorization/i.test(text), `"Authorization" in the ${name} of ${user}'s child`).toBe(false)
      }
    }
  })
})

describe('API keys', { timeout: 60_000 }, () => {
  let proxy: Proxy

  beforeAll(async () => {
    proxy = await startEchoProxy(['--api-key', 'k1', '--api-key', 'k2'])
  })

  it('no key → 403 naming the header, never 401 (which would start an OAuth login)', async () => {
    const answer = await initialize(proxy)
    expect(answer.status, answer.text).toBe(403)
    const challenge = parseChallenge(answer.headers.get('www-authenticate'))
    expect(challenge).toEqual({ scheme: 'ApiKey', realm: 'mcp-proxy', header: 'X-API-Key' })
    const { message } = expectRefusalBody(answer, 'MCP_PROXY_API_KEY_REQUIRED')
    expect(message).toBe('API key required: send it in the X-API-Key header, or as Authorization: Bearer <key>')
    // No OAuth metadata to send a client to.
    expect((await fetch(`${proxy.base}/.well-known/oauth-protected-resource/mcp`)).status).toBe(404)
  })

  it('a wrong key → 403, not 401', async () => {
    expect((await initialize(proxy, { 'x-api-key': 'k3' })).status).toBe(403)
    expect((await initialize(proxy, bearer('k3'))).status).toBe(403)
  })

  it('each key works, in X-API-Key or as a bearer; a session of k1 is 404 with k2', async () => {
    const k1 = { 'x-api-key': 'k1' }
    const k2 = bearer('k2')
    const s1 = await openSession(proxy, k1)
    const s2 = await openSession(proxy, k2)
    expect(textOf(await callTool(proxy, s1, k1, 'echo', { text: 'k1' }))).toBe('k1')
    expect(textOf(await callTool(proxy, s2, k2, 'echo', { text: 'k2' }))).toBe('k2')
    // the same key in the other header is the same principal
    expect((await listTools(proxy, s1, bearer('k1'))).status).toBe(200)

    const hijack = await listTools(proxy, s1, k2)
    const unknown = await listTools(proxy, randomUUID(), k2)
    expect(unknown.status).toBe(404)
    expect(hijack.status).toBe(404)
    expect({ ...hijack.body, id: null }).toEqual({ ...unknown.body, id: null })
    expect((await listTools(proxy, s1, k1)).status).toBe(200)
  })

  it('combined with OAuth: a key still works, a missing credential gets the Bearer 401', async () => {
    const as = await startAuthorizationServer()
    try {
      const both = await startEchoProxy(['--oauth-issuer', as.issuer, '--api-key', 'combo'])
      const missing = await initialize(both)
      expect(missing.status).toBe(401)
      expect(parseChallenge(missing.headers.get('www-authenticate')).scheme).toBe('Bearer')
      expect((await initialize(both, { 'x-api-key': 'combo' })).status).toBe(200)
      expect((await initialize(both, bearer('combo'))).status).toBe(200)
      const token = await as.clientCredentialsToken({ resource: resourceOf(both), scope: 'mcp:tools' })
      expect((await initialize(both, bearer(token.accessToken))).status).toBe(200)
    } finally {
      await as.close()
    }
  })
})

describe('browser clients (CORS)', { timeout: 30_000 }, () => {
  const ORIGIN = 'http://app.example.test'
  let as: AuthorizationServer
  let proxy: Proxy

  beforeAll(async () => {
    as = await startAuthorizationServer()
    proxy = await startEchoProxy(['--oauth-issuer', as.issuer, '--allowed-origins', ORIGIN])
  })
  afterAll(async () => {
    await as?.close()
  })

  it('a preflight needs no token, and a 401 lets the page read WWW-Authenticate', async () => {
    const preflight = await fetch(proxy.streamable, {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    })
    await preflight.body?.cancel()
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get('access-control-allow-origin')).toBe(ORIGIN)
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization')

    const answer = await post(proxy, initializeMessage(), { origin: ORIGIN })
    expect(answer.status).toBe(401)
    expect(answer.headers.get('access-control-allow-origin')).toBe(ORIGIN)
    expect(answer.headers.get('access-control-expose-headers')?.toLowerCase()).toContain('www-authenticate')
  })

  it('any origin may read the metadata', async () => {
    const res = await fetch(`${proxy.base}/.well-known/oauth-protected-resource/mcp`, { headers: { origin: 'http://other.example.test' } })
    expect(res.status).toBe(200)
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
    expect(((await res.json()) as { resource: string }).resource).toBe(resourceOf(proxy))
  })
})
