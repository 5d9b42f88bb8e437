// The proxy as an OAuth 2.1 resource server, through the real plugin: the 401/403 challenges (RFC 6750 with
// RFC 9728's resource_metadata), JWT access tokens checked against a JWKS (audience, issuer, times,
// algorithms, unknown keys), scopes, a fixed audience, introspection of opaque tokens (cached, both ways),
// an authorization server that cannot be reached (503, never 401), the options refused, and the Protected
// Resource Metadata documents. The authorization server is a stand-in on 127.0.0.1 (helpers/jwks-server.ts).
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify'
import { describe, expect, it } from 'vitest'
import mcpProxy, { FST_MCP_PROXY_INVALID_OPTIONS, resolveOptions, type McpProxyOptions } from '../src/index.js'
import { buildApp, fixture, listen } from './helpers.js'
import { startAuthServer, type AuthServer } from './helpers/jwks-server.js'
import { answersOf, closeAfterTest, echoCall, expectJsonRpcError, fetchWithin, initializeRequest, initSession, post } from './http-helpers.js'

const SERVER_ERROR = -32000
/** The resource most tests configure; `app.inject` sends Host `localhost:80`, which names the same one. */
const RESOURCE = 'http://localhost/mcp'
const METADATA_URL = 'http://localhost/.well-known/oauth-protected-resource/mcp'
const MALFORMED = '{"jsonrpc":"2.0","id":1,"method":'

type OAuthOptions = NonNullable<McpProxyOptions['oauth']>

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` })
const nowSec = (): number => Math.floor(Date.now() / 1000)

/** The proxy with OAuth from `as`, the resource set to RESOURCE unless `oauth` says otherwise. */
function oauthApp(as: AuthServer, oauth: Partial<OAuthOptions> = {}, rest: Partial<McpProxyOptions> = {}): Promise<FastifyInstance> {
  return buildApp({ oauth: { issuer: as.issuer, resourceUrl: RESOURCE, ...oauth }, ...rest })
}

/** initialize with this token succeeds: 200 and a session id. */
async function expectAccepted(app: FastifyInstance, token: string, what: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await post(app, initializeRequest(1), { ...bearer(token), ...headers })
  expect(res.statusCode, `${what}: ${res.body}`).toBe(200)
  const sessionId = res.headers['mcp-session-id']
  expect(sessionId, what).toEqual(expect.any(String))
  return String(sessionId)
}

/** 401 with `error="invalid_token"`, the metadata URL, and never the token in the challenge. */
function expectInvalidToken(res: LightMyRequestResponse, what: string, token?: string, metadataUrl = METADATA_URL): string {
  expect(res.statusCode, `${what}: ${res.body}`).toBe(401)
  const body = expectJsonRpcError(res, 401, SERVER_ERROR)
  expect(body.error.data, what).toEqual({ reason: 'MCP_PROXY_UNAUTHORIZED' })
  const challenge = String(res.headers['www-authenticate'])
  expect(challenge, what).toMatch(/^Bearer /)
  expect(challenge, what).toContain('error="invalid_token"')
  expect(challenge, what).toContain(`resource_metadata="${metadataUrl}"`)
  if (token !== undefined && token.length > 8) {
    expect(challenge, what).not.toContain(token)
    expect(res.body, what).not.toContain(token)
  }
  expect(res.headers['mcp-session-id'], what).toBeUndefined()
  return challenge
}

/** 503: the credential cannot be checked now (never a 401, which would send the client to log in again). */
function expectUnavailable(res: LightMyRequestResponse, what: string): void {
  const body = expectJsonRpcError(res, 503, SERVER_ERROR)
  expect(body.error.data, what).toEqual({ reason: 'MCP_PROXY_AUTH_UNAVAILABLE' })
  expect(res.headers['retry-after'], what).toMatch(/^\d+$/)
  expect(res.headers['www-authenticate'], what).toBeUndefined()
}

describe('OAuth: the challenge without a token', () => {
  it('no token → 401 with `Bearer resource_metadata=…` only (no error code), a JSON-RPC body, and the body is never parsed', async () => {
    const as = await startAuthServer()
    const app = await oauthApp(as)
    for (const payload of [initializeRequest(1), MALFORMED]) {
      const res = await post(app, payload)
      const body = expectJsonRpcError(res, 401, SERVER_ERROR)
      expect(body.error.data).toEqual({ reason: 'MCP_PROXY_UNAUTHORIZED' })
      expect(res.headers['www-authenticate']).toBe(`Bearer resource_metadata="${METADATA_URL}"`)
      expect(res.headers['mcp-session-id']).toBeUndefined()
    }
    // An empty Bearer value, and another scheme, are no token either.
    for (const authorization of ['Bearer ', 'Basic dXNlcjpwYXNz']) {
      const res = await post(app, initializeRequest(1), { authorization })
      expectJsonRpcError(res, 401, SERVER_ERROR)
      expect(res.headers['www-authenticate']).toBe(`Bearer resource_metadata="${METADATA_URL}"`)
    }
  })

  it('with scopes configured the challenge names them: `Bearer scope="…", resource_metadata="…"`', async () => {
    const as = await startAuthServer()
    const app = await oauthApp(as, { scopes: ['mcp:tools', 'mcp:read'] })
    const res = await post(app, initializeRequest(1))
    expectJsonRpcError(res, 401, SERVER_ERROR)
    expect(res.headers['www-authenticate']).toBe(`Bearer scope="mcp:tools mcp:read", resource_metadata="${METADATA_URL}"`)
  })

  it('GET, DELETE, /sse and /messages need a token too; /ping and /ready do not', async () => {
    const as = await startAuthServer()
    const app = await oauthApp(as)
    const requests = [
      { method: 'GET' as const, url: '/mcp', headers: { accept: 'text/event-stream', 'mcp-session-id': 'x' } },
      { method: 'DELETE' as const, url: '/mcp', headers: { 'mcp-session-id': 'x' } },
      { method: 'GET' as const, url: '/sse', headers: { accept: 'text/event-stream' } },
      { method: 'POST' as const, url: '/messages?sessionId=x', headers: { 'content-type': 'application/json' }, payload: '{}' },
    ]
    for (const request of requests) {
      const res = await app.inject(request)
      expectJsonRpcError(res, 401, SERVER_ERROR)
      expect(String(res.headers['www-authenticate']), request.url).toMatch(/^Bearer resource_metadata="/)
    }
    expect((await app.inject({ method: 'GET', url: '/ping' })).statusCode).toBe(200)
    expect((await app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200)
  })

  it('the legacy endpoints name the /sse resource in their challenge', async () => {
    const as = await startAuthServer()
    const app = await oauthApp(as)
    const res = await app.inject({ method: 'GET', url: '/sse', headers: { accept: 'text/event-stream' } })
    expect(res.headers['www-authenticate']).toBe('Bearer resource_metadata="http://localhost/.well-known/oauth-protected-resource/sse"')
  })

  it('a token in the query string is ignored (401 as if none was sent)', async () => {
    const as = await startAuthServer()
    const app = await oauthApp(as)
    const token = await as.sign({ aud: RESOURCE })
    const res = await post(app, initializeRequest(1), {}, `/mcp?access_token=${token}`)
    expectJsonRpcError(res, 401, SERVER_ERROR)
    expect(res.headers['www-authenticate']).toBe(`Bearer resource_metadata="${METADATA_URL}"`)
  })
})

describe('OAuth: JWT access tokens accepted', () => {
  it('RS256 and ES256 tokens for the resource → initialize 200 with a session; the session serves calls with the token', async () => {
    const as = await startAuthServer()
    const app = await oauthApp(as)
    const rs = await as.sign({ aud: RESOURCE })
    const es = await as.sign({ aud: RESOURCE }, { key: as.keys.ec })
    await expectAccepted(app, rs, 'RS256')
    const { sessionId } = await initSession(app, { headers: bearer(es) })
    const call = await post(app, echoCall(2, 'hello'), { ...bearer(es), 'mcp-session-id': sessionId })
    expect(call.statusCode, call.body).toBe(200)
    expect(answersOf(call)[0]).toMatchObject({ id: 2, result: { content: [{ type: 'text', text: 'hello' }] } })
    // Every request is checked: the session id alone is not enough.
    const bare = await post(app, echoCall(3, 'no token'), { 'mcp-session-id': sessionId })
    expectJsonRpcError(bare, 401, SERVER_ERROR)
  })

  it('aud as a list, aud with an upper-case scheme/host, and aud with a trailing slash are accepted', async () => {
    const as = await startAuthServer()
    const app = await oauthApp(as)
    const cases: Array<[string, unknown]> = [
      ['aud list', ['https://other.example.com', RESOURCE]],
      ['upper-case host', 'HTTP://LOCALHOST/mcp'],
      ['trailing slash', 'http://localhost/mcp/'],
      ['explicit default port', 'http://localhost:80/mcp'],
    ]
    for (const [what, aud] of cases) await expectAccepted(app, await as.sign({ aud }), what)
  })

  it('an expired token within clockTolerance is still accepted; a client-credentials token without sub (client_id) too', async () => {
    const as = await startAuthServer()
    const app = await oauthApp(as)
    await expectAccepted(app, await as.sign({ aud: RESOURCE, exp: nowSec() - 10 }), 'exp 10 s ago, tolerance 30 s')
    await expectAccepted(app, await as.sign({ aud: RESOURCE, sub: undefined, client_id: 'machine-1' }), 'client credentials')
  })

  it('a session is bound to the token subject: another user with a valid token gets 404, as for an unknown id', async () => {
    const as = await startAuthServer()
    const app = await oauthApp(as)
    const alice = await as.sign({ aud: RESOURCE, sub: 'alice' })
    const bob = await as.sign({ aud: RESOURCE, sub: 'bob' })
    const { sessionId } = await initSession(app, { headers: bearer(alice) })
    const stolen = await post(app, echoCall(2, 'x'), { ...bearer(bob), 'mcp-session-id': sessionId })
    const unknown = await post(app, echoCall(2, 'x'), { ...bearer(bob), 'mcp-session-id': 'no-such-session' })
    expect(stolen.statusCode, stolen.body).toBe(404)
    expect(stolen.body).toBe(unknown.body)
    // A fresh token of the same subject reaches the session.
    const again = await as.sign({ aud: RESOURCE, sub: 'alice', jti: 'second' })
    expect((await post(app, echoCall(3, 'y'), { ...bearer(again), 'mcp-session-id': sessionId })).statusCode).toBe(200)
  })
  it('a token accepted once (its check remembered) is still refused as soon as it expires', async () => {
    const as = await startAuthServer()
    const app = await oauthApp(as, { clockTolerance: 0 })
    const exp = nowSec() + 2
    const token = await as.sign({ aud: RESOURCE, exp })
    await expectAccepted(app, token, 'before exp')
    await expectAccepted(app, token, 'before exp, remembered')
    await new Promise((resolve) => setTimeout(resolve, exp * 1000 + 200 - Date.now()))
    expect(expectInvalidToken(await post(app, initializeRequest(1), bearer(token)), 'after exp', token)).toContain('expired')
  })

  it('the issuer configured with a trailing slash its metadata and tokens do not have (and the reverse) is the same issuer', async () => {
    const as = await startAuthServer()
    const slashed = await oauthApp(as, { issuer: `${as.issuer}/` })
    await expectAccepted(slashed, await as.sign({ aud: RESOURCE }), 'configured with a slash')
    const bare = await oauthApp(as)
    await expectAccepted(bare, await as.sign({ aud: RESOURCE, iss: `${as.issuer}/` }), 'a token whose iss has the slash')
    // One issuer, one principal: the session opened with one spelling is reached with the other.
    const sessionId = await expectAccepted(bare, await as.sign({ aud: RESOURCE }), 'bare iss')
    const call = await post(bare, echoCall(2, 'same user'), { ...bearer(await as.sign({ aud: RESOURCE, iss: `${as.issuer}/` })), 'mcp-session-id': sessionId })
    expect(call.statusCode, call.body).toBe(200)
    // Anything else about the issuer is compared exactly.
    expectInvalidToken(await post(bare, initializeRequest(1), bearer(await as.sign({ aud: RESOURCE, iss: `${as.issuer}/other` }))), 'another path')
  })
})

describe('OAuth: JWT access tokens refused (401 invalid_token)', () => {
  it('wrong aud, missing aud, wrong iss, expired, nbf in the future, missing exp, alg none, HS256 with the public key, garbage', async () => {
    const as = await startAuthServer()
    const app = await oauthApp(as)
    const cases: Array<[string, string]> = [
      ['wrong aud', await as.sign({ aud: 'http://localhost/other' })],
      ['aud of another host', await as.sign({ aud: 'https://evil.example.com/mcp' })],
      ['missing aud', await as.sign({})],
      ['wrong iss', await as.sign({ aud: RESOURCE, iss: 'https://other-issuer.example.com' })],
      ['expired beyond clockTolerance', await as.sign({ aud: RESOURCE, exp: nowSec() - 120 })],
      ['nbf in the future', await as.sign({ aud: RESOURCE, nbf: nowSec() + 120 })],
      ['missing exp', await as.sign({ aud: RESOURCE, exp: undefined })],
      ['alg none', as.unsecured({ aud: RESOURCE })],
      ['HS256 signed with the RSA public key', await as.hmacWithPublicKey({ aud: RESOURCE })],
      ['garbage', 'abc'],
      ['two segments', 'abc.def'],
    ]
    for (const [what, token] of cases) expectInvalidToken(await post(app, initializeRequest(1), bearer(token)), what, token)
    // A valid token still works afterwards (nothing above poisoned a cache).
    await expectAccepted(app, await as.sign({ aud: RESOURCE }), 'valid after refusals')
  })

  it('a tampered signature is refused', async () => {
    const as = await startAuthServer()
    const app = await oauthApp(as)
    const token = await as.sign({ aud: RESOURCE })
    const [header, payload] = token.split('.')
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), sub: 'admin' })).toString('base64url')}.${token.split('.')[2]}`
    expectInvalidToken(await post(app, initializeRequest(1), bearer(forged)), 'payload changed, signature kept', forged)
  })

  it('a token signed by a key the issuer does not publish (unknown kid) → 401; the JWKS is fetched again at most once', async () => {
    const as = await startAuthServer()
    const app = await oauthApp(as)
    await expectAccepted(app, await as.sign({ aud: RESOURCE }), 'valid')
    const before = as.calls.jwks
    expect(before).toBe(1)
    const stranger = await as.sign({ aud: RESOURCE }, { key: as.keys.stranger })
    for (let i = 0; i < 3; i++) expectInvalidToken(await post(app, initializeRequest(1), bearer(stranger)), `unknown kid #${i + 1}`, stranger)
    expect(as.calls.jwks - before).toBeLessThanOrEqual(1)
  })

  it("an algorithm not in `algorithms` is refused: algorithms ['ES256'] and an RS256 token", async () => {
    const as = await startAuthServer()
    const app = await oauthApp(as, { algorithms: ['ES256'] })
    const rs = await as.sign({ aud: RESOURCE })
    expectInvalidToken(await post(app, initializeRequest(1), bearer(rs)), 'RS256 when only ES256 is accepted', rs)
    await expectAccepted(app, await as.sign({ aud: RESOURCE }, { key: as.keys.ec }), 'ES256')
  })

  it('the error_description says why, without quotes or backslashes that would end the value', async () => {
    const as = await startAuthServer()
    const app = await oauthApp(as)
    const challenge = expectInvalidToken(await post(app, initializeRequest(1), bearer(await as.sign({ aud: RESOURCE, exp: nowSec() - 600 }))), 'expired')
    const description = /error_description="([^"]*)"/.exec(challenge)?.[1]
    expect(description).toMatch(/expired/)
  })
})

describe('OAuth: scopes and a fixed audience', () => {
  it("scopes ['mcp:tools']: a token without it → 403 insufficient_scope naming it; `scope` string and `scp` list pass", async () => {
    const as = await startAuthServer()
    const app = await oauthApp(as, { scopes: ['mcp:tools'] })
    for (const claims of [{}, { scope: 'other mcp:tool' }, { scp: ['mcp:read'] }]) {
      const res = await post(app, initializeRequest(1), bearer(await as.sign({ aud: RESOURCE, ...claims })))
      const body = expectJsonRpcError(res, 403, SERVER_ERROR)
      expect(body.error.data).toEqual({ reason: 'MCP_PROXY_INSUFFICIENT_SCOPE' })
      const challenge = String(res.headers['www-authenticate'])
      expect(challenge).toMatch(/^Bearer /)
      expect(challenge).toContain('error="insufficient_scope"')
      expect(challenge).toContain('scope="mcp:tools"')
      expect(challenge).toContain(`resource_metadata="${METADATA_URL}"`)
    }
    await expectAccepted(app, await as.sign({ aud: RESOURCE, scope: 'mcp:tools other' }), 'scope string')
    await expectAccepted(app, await as.sign({ aud: RESOURCE, scp: ['mcp:tools'] }), 'scp list')
  })

  it("audience 'api://mcp': a token for api://mcp passes, one for the resource URL is refused", async () => {
    const as = await startAuthServer()
    const app = await oauthApp(as, { audience: 'api://mcp' })
    await expectAccepted(app, await as.sign({ aud: 'api://mcp' }), 'aud api://mcp')
    await expectAccepted(app, await as.sign({ aud: ['api://mcp', 'other'] }), 'aud list with api://mcp')
    const forResource = await as.sign({ aud: RESOURCE })
    expectInvalidToken(await post(app, initializeRequest(1), bearer(forResource)), 'aud = resource URL', forResource)
    const other = await as.sign({ aud: 'api://mcp2' })
    expectInvalidToken(await post(app, initializeRequest(1), bearer(other)), 'aud api://mcp2', other)
  })
})

describe('OAuth: introspection of opaque tokens', () => {
  /** The proxy as a client of `as`, introspecting (the endpoint from the metadata unless given). */
  function introspecting(as: AuthServer, oauth: Partial<OAuthOptions> = {}): Promise<FastifyInstance> {
    return oauthApp(as, { clientId: as.clientId, clientSecret: as.clientSecret, ...oauth })
  }

  it('an active token passes, and a second request with it is answered from the cache', async () => {
    const as = await startAuthServer()
    as.opaque.set('opaque-token-active-0001', { iss: as.issuer, aud: RESOURCE, sub: 'user-7', exp: nowSec() + 300, scope: 'mcp:tools' })
    const app = await introspecting(as, { scopes: ['mcp:tools'] })
    const { sessionId } = await initSession(app, { headers: bearer('opaque-token-active-0001') })
    expect(as.calls.introspection).toBe(1)
    const call = await post(app, echoCall(2, 'cached'), { ...bearer('opaque-token-active-0001'), 'mcp-session-id': sessionId })
    expect(call.statusCode, call.body).toBe(200)
    expect(as.calls.introspection).toBe(1)
  })

  it('a refresh token the server reports active is no access token → 401; requests arriving together ask once', async () => {
    const as = await startAuthServer()
    as.opaque.set('opaque-refresh-token-01', { aud: RESOURCE, sub: 'user-9', exp: nowSec() + 300, token_type: 'refresh_token' })
    as.opaque.set('opaque-bearer-token-01', { aud: RESOURCE, sub: 'user-9', exp: nowSec() + 300, token_type: 'Bearer' })
    const app = await introspecting(as)
    expect(expectInvalidToken(await post(app, initializeRequest(1), bearer('opaque-refresh-token-01')), 'refresh token')).toContain('not an access token')
    const together = await Promise.all([1, 2, 3, 4].map((id) => post(app, initializeRequest(id), bearer('opaque-bearer-token-01'))))
    for (const res of together) expect(res.statusCode, res.body).toBe(200)
    expect(as.calls.introspection).toBe(2)
  })

  it('an explicit introspectionUrl is used', async () => {
    const as = await startAuthServer()
    as.opaque.set('opaque-token-explicit-01', { aud: RESOURCE, sub: 'user-8', exp: nowSec() + 300 })
    const app = await introspecting(as, { introspectionUrl: `${as.issuer}/introspect` })
    await expectAccepted(app, 'opaque-token-explicit-01', 'explicit introspectionUrl')
    expect(as.calls.introspection).toBe(1)
  })

  it('an inactive token → 401, and a retry within 10 s is refused without asking again', async () => {
    const as = await startAuthServer()
    const app = await introspecting(as)
    expectInvalidToken(await post(app, initializeRequest(1), bearer('opaque-token-revoked-01')), 'inactive')
    expect(as.calls.introspection).toBe(1)
    expectInvalidToken(await post(app, initializeRequest(1), bearer('opaque-token-revoked-01')), 'inactive again')
    expect(as.calls.introspection).toBe(1)
  })

  it('an active token for another audience, of another issuer, or expired → 401', async () => {
    const as = await startAuthServer()
    as.opaque.set('opaque-other-aud', { aud: 'https://elsewhere.example.com/mcp', sub: 'u', exp: nowSec() + 300 })
    as.opaque.set('opaque-no-aud', { sub: 'u', exp: nowSec() + 300 })
    as.opaque.set('opaque-other-iss', { iss: 'https://other.example.com', aud: RESOURCE, sub: 'u', exp: nowSec() + 300 })
    as.opaque.set('opaque-expired', { aud: RESOURCE, sub: 'u', exp: nowSec() - 600 })
    const app = await introspecting(as)
    for (const token of as.opaque.keys()) expectInvalidToken(await post(app, initializeRequest(1), bearer(token)), token)
  })

  it('wrong client credentials: the authorization server answers 401, the proxy 503 with Retry-After (not 401)', async () => {
    const as = await startAuthServer()
    as.opaque.set('opaque-token-active-0002', { aud: RESOURCE, sub: 'user-9', exp: nowSec() + 300 })
    const app = await oauthApp(as, { clientId: as.clientId, clientSecret: 'not-the-secret' })
    expectUnavailable(await post(app, initializeRequest(1), bearer('opaque-token-active-0002')), 'wrong client secret')
    expect(as.calls.introspection).toBe(1)
  })

  it('without introspection configured an opaque token is refused (401), not an error', async () => {
    const as = await startAuthServer()
    as.opaque.set('opaque-token-active-0003', { aud: RESOURCE, sub: 'user-9', exp: nowSec() + 300 })
    const app = await oauthApp(as)
    expectInvalidToken(await post(app, initializeRequest(1), bearer('opaque-token-active-0003')), 'no introspection')
    expect(as.calls.introspection).toBe(0)
  })
})

describe('OAuth: the authorization server cannot be reached', () => {
  it('its metadata unreachable (server closed) → 503 AUTH_UNAVAILABLE with Retry-After, for JWTs and opaque tokens alike', async () => {
    const as = await startAuthServer()
    const token = await as.sign({ aud: RESOURCE })
    await as.close()
    const app = await oauthApp(as, { clientId: as.clientId, clientSecret: as.clientSecret })
    expectUnavailable(await post(app, initializeRequest(1), bearer(token)), 'JWT, issuer down')
    expectUnavailable(await post(app, initializeRequest(1), bearer('opaque-token')), 'opaque, issuer down')
    // No token at all is still a 401 (nothing needs the authorization server for that).
    expectJsonRpcError(await post(app, initializeRequest(1)), 401, SERVER_ERROR)
  })

  it('an unreachable jwksUrl → 503, not 401', async () => {
    const as = await startAuthServer()
    const down = await startAuthServer()
    const jwksUrl = `${down.issuer}/jwks`
    await down.close()
    const app = await oauthApp(as, { jwksUrl })
    expectUnavailable(await post(app, initializeRequest(1), bearer(await as.sign({ aud: RESOURCE }))), 'JWKS down')
  })

  it('introspection unreachable → 503', async () => {
    const as = await startAuthServer()
    const down = await startAuthServer()
    const introspectionUrl = `${down.issuer}/introspect`
    await down.close()
    const app = await oauthApp(as, { clientId: as.clientId, clientSecret: as.clientSecret, introspectionUrl })
    expectUnavailable(await post(app, initializeRequest(1), bearer('opaque-token-x')), 'introspection down')
  })
})

describe('OAuth: options refused (FST_MCP_PROXY_INVALID_OPTIONS)', () => {
  const issuer = 'http://127.0.0.1:9'
  const cases: Array<[string, Record<string, unknown>]> = [
    ['issuer http: not on loopback', { oauth: { issuer: 'http://example.com', resourceUrl: RESOURCE } }],
    ['issuer not a URL', { oauth: { issuer: 'not a url', resourceUrl: RESOURCE } }],
    ["algorithms ['none']", { oauth: { issuer, resourceUrl: RESOURCE, algorithms: ['none'] } }],
    ["algorithms ['HS256']", { oauth: { issuer, resourceUrl: RESOURCE, algorithms: ['HS256'] } }],
    ["algorithms ['ES256', 'HS512']", { oauth: { issuer, resourceUrl: RESOURCE, algorithms: ['ES256', 'HS512'] } }],
    ['clientId without clientSecret', { oauth: { issuer, resourceUrl: RESOURCE, clientId: 'c' } }],
    ['clientSecret without clientId', { oauth: { issuer, resourceUrl: RESOURCE, clientSecret: 's' } }],
    ['introspectionUrl without a client', { oauth: { issuer, resourceUrl: RESOURCE, introspectionUrl: `${issuer}/introspect` } }],
    ["host '0.0.0.0' (any Host allowed) and no resourceUrl", { host: '0.0.0.0', oauth: { issuer } }],
    ["allowedHosts ['*'] and no resourceUrl", { allowedHosts: ['*'], oauth: { issuer } }],
    ['childEnvFromClaims without any authentication', { childEnvFromClaims: { MCP_USER: 'sub' } }],
    ['childEnvFromClaims with stateless', { apiKey: 'k', stateless: true, childEnvFromClaims: { MCP_USER: 'sub' } }],
    ['childEnvFromClaims with modern: true', { apiKey: 'k', modern: true, childEnvFromClaims: { MCP_USER: 'sub' } }],
  ]
  for (const [name, raw] of cases) {
    it(name, () => {
      let error: (Error & { code?: string }) | undefined
      try {
        resolveOptions({ command: 'node', ...raw })
      } catch (e) {
        error = e as Error & { code?: string }
      }
      expect(error).toBeInstanceOf(FST_MCP_PROXY_INVALID_OPTIONS)
      expect(error?.code).toBe('FST_MCP_PROXY_INVALID_OPTIONS')
    })
  }

  it('accepted: https issuer; http on loopback; 0.0.0.0 with resourceUrl; 0.0.0.0 with an allow-list of Hosts and no resourceUrl', () => {
    expect(() => resolveOptions({ command: 'node', oauth: { issuer: 'https://as.example.com', resourceUrl: 'https://mcp.example.com/mcp' } })).not.toThrow()
    expect(() => resolveOptions({ command: 'node', oauth: { issuer: 'http://localhost:8080/realms/x' } })).not.toThrow()
    expect(() => resolveOptions({ command: 'node', host: '0.0.0.0', oauth: { issuer: 'https://as.example.com', resourceUrl: 'https://mcp.example.com/mcp' } })).not.toThrow()
    expect(() => resolveOptions({ command: 'node', host: '0.0.0.0', allowedHosts: ['mcp.example.com'], oauth: { issuer: 'https://as.example.com' } })).not.toThrow()
  })
})

describe('OAuth: Protected Resource Metadata', () => {
  it('GET /.well-known/oauth-protected-resource/mcp and the bare path → 200 JSON, no token, readable from any origin', async () => {
    const as = await startAuthServer()
    const app = await oauthApp(as, { scopes: ['mcp:tools'], resourceName: 'Test MCP' })
    for (const url of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource']) {
      const res = await app.inject({ method: 'GET', url })
      expect(res.statusCode, `${url}: ${res.body}`).toBe(200)
      expect(String(res.headers['content-type'])).toMatch(/^application\/json/)
      expect(res.headers['access-control-allow-origin']).toBe('*')
      expect(res.json()).toEqual({
        resource: RESOURCE,
        authorization_servers: [as.issuer],
        bearer_methods_supported: ['header'],
        scopes_supported: ['mcp:tools'],
        resource_name: 'Test MCP',
      })
    }
  })

  it('without scopes and resourceName those members are absent; the /sse document names the /sse resource', async () => {
    const as = await startAuthServer()
    const app = await oauthApp(as)
    const mcp = await app.inject({ method: 'GET', url: '/.well-known/oauth-protected-resource/mcp' })
    expect(mcp.json()).toEqual({ resource: RESOURCE, authorization_servers: [as.issuer], bearer_methods_supported: ['header'] })
    const sse = await app.inject({ method: 'GET', url: '/.well-known/oauth-protected-resource/sse' })
    expect(sse.statusCode, sse.body).toBe(200)
    expect(sse.json()).toMatchObject({ resource: 'http://localhost/sse', authorization_servers: [as.issuer] })
  })

  it('a CORS preflight of the metadata is answered 204 for any origin', async () => {
    const as = await startAuthServer()
    const app = await oauthApp(as)
    const res = await app.inject({
      method: 'OPTIONS',
      url: '/.well-known/oauth-protected-resource/mcp',
      headers: { origin: 'https://inspector.example.com', 'access-control-request-method': 'GET' },
    })
    expect(res.statusCode).toBe(204)
    expect(res.headers['access-control-allow-origin']).toBe('*')
  })

  it("under prefix '/servers/a' (resource from Host): served at the root, /.well-known/oauth-protected-resource/servers/a/mcp, and named by the challenge", async () => {
    const as = await startAuthServer()
    const app = closeAfterTest(Fastify({ logger: false, forceCloseConnections: true }))
    await app.register(mcpProxy, { prefix: '/servers/a', command: process.execPath, args: [fixture('echo-server')], stopGrace: 200, oauth: { issuer: as.issuer } })
    await app.ready()
    const res = await app.inject({ method: 'GET', url: '/.well-known/oauth-protected-resource/servers/a/mcp' })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toMatchObject({ resource: 'http://localhost/servers/a/mcp', authorization_servers: [as.issuer] })
    expect((await app.inject({ method: 'GET', url: '/servers/a/.well-known/oauth-protected-resource/mcp' })).statusCode).toBe(404)
    const refused = await post(app, initializeRequest(1), {}, '/servers/a/mcp')
    expectJsonRpcError(refused, 401, SERVER_ERROR)
    expect(refused.headers['www-authenticate']).toBe('Bearer resource_metadata="http://localhost/.well-known/oauth-protected-resource/servers/a/mcp"')
    // A token for the prefixed resource opens a session there.
    const token = await as.sign({ aud: 'http://localhost/servers/a/mcp' })
    const ok = await post(app, initializeRequest(1), bearer(token), '/servers/a/mcp')
    expect(ok.statusCode, ok.body).toBe(200)
    const unprefixed = await as.sign({ aud: RESOURCE })
    expectInvalidToken(await post(app, initializeRequest(1), bearer(unprefixed), '/servers/a/mcp'), 'token for /mcp on /servers/a/mcp', unprefixed, 'http://localhost/.well-known/oauth-protected-resource/servers/a/mcp')
  })

  it('two plugins under two prefixes serve two documents', async () => {
    const as = await startAuthServer()
    const app = closeAfterTest(Fastify({ logger: false, forceCloseConnections: true }))
    for (const prefix of ['/servers/a', '/servers/b']) {
      await app.register(mcpProxy, { prefix, command: process.execPath, args: [fixture('echo-server')], stopGrace: 200, warmChildren: 0, oauth: { issuer: as.issuer, scopes: [prefix.slice(-1)] } })
    }
    await app.ready()
    for (const name of ['a', 'b']) {
      const res = await app.inject({ method: 'GET', url: `/.well-known/oauth-protected-resource/servers/${name}/mcp` })
      expect(res.statusCode, res.body).toBe(200)
      expect(res.json()).toMatchObject({ resource: `http://localhost/servers/${name}/mcp`, scopes_supported: [name] })
      const sse = await app.inject({ method: 'GET', url: `/.well-known/oauth-protected-resource/servers/${name}/sse` })
      expect(sse.json()).toMatchObject({ resource: `http://localhost/servers/${name}/sse` })
    }
    // The bare path belongs to the first plugin.
    const bare = await app.inject({ method: 'GET', url: '/.well-known/oauth-protected-resource' })
    expect(bare.json()).toMatchObject({ resource: 'http://localhost/servers/a/mcp' })
  })

  // KNOWN BUG (left failing on purpose): inside an encapsulated context with its own prefix, the challenge
  // names /.well-known/oauth-protected-resource/outer/mcp (404) while the document is served at
  // /outer/.well-known/oauth-protected-resource/mcp (src/plugin.ts:167 vs :171, src/routes/protected-resource.ts:35).
  // The plugin cannot register outside the scope it is given: its metadata lives under '/outer' too, and the
  // challenge (which clients follow first) names that address rather than one nothing serves.
  it("registered inside a scope with prefix '/outer': the metadata URL the challenge names is served", async () => {
    const as = await startAuthServer()
    const app = closeAfterTest(Fastify({ logger: false, forceCloseConnections: true }))
    await app.register(
      async (scope) => {
        await scope.register(mcpProxy, { command: process.execPath, args: [fixture('echo-server')], stopGrace: 200, oauth: { issuer: as.issuer } })
      },
      { prefix: '/outer' },
    )
    await app.ready()
    const refused = await post(app, initializeRequest(1), {}, '/outer/mcp')
    expectJsonRpcError(refused, 401, SERVER_ERROR)
    const named = /resource_metadata="([^"]+)"/.exec(String(refused.headers['www-authenticate']))?.[1]
    expect(named).toBe('http://localhost/outer/.well-known/oauth-protected-resource/outer/mcp')
    const url = new URL(named!)
    const res = await app.inject({ method: 'GET', url: url.pathname })
    expect(res.statusCode, `GET ${url.pathname}: ${res.body}`).toBe(200)
    expect(res.json()).toMatchObject({ resource: 'http://localhost/outer/mcp' })
  })

  it('the metadata of a resource taken from Host refuses a Host that is not allowed', async () => {
    const as = await startAuthServer()
    const app = await buildApp({ oauth: { issuer: as.issuer } })
    const res = await app.inject({ method: 'GET', url: '/.well-known/oauth-protected-resource/mcp', headers: { host: 'evil.example.com' } })
    expect(res.statusCode).toBe(403)
    expect(res.body).not.toContain('evil.example.com/mcp')
  })
})

describe('OAuth beside API keys', () => {
  it('a key (X-API-Key or Bearer) or a token both pass; nothing, or a wrong key, gets the OAuth 401 challenge', async () => {
    const as = await startAuthServer()
    const app = await oauthApp(as, {}, { apiKey: 'machine-key-1234567' })
    await expectAccepted(app, 'machine-key-1234567', 'API key as Bearer')
    expect((await post(app, initializeRequest(1), { 'x-api-key': 'machine-key-1234567' })).statusCode).toBe(200)
    await expectAccepted(app, await as.sign({ aud: RESOURCE }), 'OAuth token')
    const none = await post(app, initializeRequest(1))
    expectJsonRpcError(none, 401, SERVER_ERROR)
    expect(none.headers['www-authenticate']).toBe(`Bearer resource_metadata="${METADATA_URL}"`)
    expectInvalidToken(await post(app, initializeRequest(1), bearer('wrong-key-1234567')), 'wrong key as Bearer', 'wrong-key-1234567')
    // A session opened with the key is not reachable with a token, and the reverse.
    const { sessionId } = await initSession(app, { headers: { 'x-api-key': 'machine-key-1234567' } })
    const withToken = await post(app, echoCall(2, 'x'), { ...bearer(await as.sign({ aud: RESOURCE })), 'mcp-session-id': sessionId })
    expect(withToken.statusCode, withToken.body).toBe(404)
  })
})

describe('OAuth: the resource taken from Host (no resourceUrl, loopback binding)', () => {
  it('Host localhost → resource http://localhost/mcp; Host 127.0.0.1 needs a token for http://127.0.0.1/mcp', async () => {
    const as = await startAuthServer()
    const app = await buildApp({ oauth: { issuer: as.issuer } })
    const forLocalhost = await as.sign({ aud: RESOURCE })
    const forLoopbackIp = await as.sign({ aud: 'http://127.0.0.1/mcp' })
    await expectAccepted(app, forLocalhost, 'Host localhost:80 (inject)')
    const refused = await post(app, initializeRequest(1), { ...bearer(forLocalhost), host: '127.0.0.1' })
    expectInvalidToken(refused, 'Host 127.0.0.1 with a token for localhost', forLocalhost, 'http://127.0.0.1/.well-known/oauth-protected-resource/mcp')
    await expectAccepted(app, forLoopbackIp, 'Host 127.0.0.1', { host: '127.0.0.1' })
    const metadata = await app.inject({ method: 'GET', url: '/.well-known/oauth-protected-resource/mcp', headers: { host: '127.0.0.1' } })
    expect(metadata.json()).toMatchObject({ resource: 'http://127.0.0.1/mcp' })
  })

  it('over real HTTP the port is part of the resource', async () => {
    const as = await startAuthServer()
    const { base } = await listen({ oauth: { issuer: as.issuer } })
    const resource = `${base}/mcp`
    const { response, text } = await fetchWithin(`${base}/.well-known/oauth-protected-resource/mcp`)
    expect(response.status, text).toBe(200)
    expect(JSON.parse(text)).toMatchObject({ resource, authorization_servers: [as.issuer] })
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }
    const refused = await fetchWithin(resource, { method: 'POST', headers, body: JSON.stringify(initializeRequest(1)) })
    expect(refused.response.status).toBe(401)
    expect(refused.response.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${base}/.well-known/oauth-protected-resource/mcp"`)
    const token = await as.sign({ aud: resource })
    const ok = await fetchWithin(resource, { method: 'POST', headers: { ...headers, ...bearer(token) }, body: JSON.stringify(initializeRequest(1)) })
    expect(ok.response.status, ok.text).toBe(200)
    expect(ok.response.headers.get('mcp-session-id')).toEqual(expect.any(String))
  })

  it('behind a host app with trustProxy, X-Forwarded-Host and -Proto never name the resource (nor the audience)', async () => {
    const as = await startAuthServer()
    const app = closeAfterTest(Fastify({ logger: false, forceCloseConnections: true, trustProxy: true }))
    await app.register(mcpProxy, { command: process.execPath, args: [fixture('echo-server')], stopGrace: 200, oauth: { issuer: as.issuer } })
    await app.ready()
    const forwarded = { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' }
    // A token another resource server was given, replayed here with headers naming that server.
    const stolen = await as.sign({ aud: 'https://evil.example/mcp' })
    expectInvalidToken(await post(app, initializeRequest(1), { ...bearer(stolen), ...forwarded }), 'forwarded host')
    const metadata = await app.inject({ method: 'GET', url: '/.well-known/oauth-protected-resource/mcp', headers: forwarded })
    expect(metadata.json()).toMatchObject({ resource: 'http://localhost/mcp' })
    await expectAccepted(app, await as.sign({ aud: 'http://localhost/mcp' }), 'the Host header names it', forwarded)
  })
})
