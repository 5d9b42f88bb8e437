// Self-test of the in-process authorization server (authorization-server.ts): what the OAuth tests rely on.
import { createPublicKey, verify, type JsonWebKey } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startAuthorizationServer, type AuthorizationServer } from './authorization-server.js'

const RESOURCE = 'http://127.0.0.1:1/mcp'
const OPAQUE_RESOURCE = 'http://127.0.0.1:2/mcp'

/**
 * Verify an RS256 JWT against the issuer's JWKS with node:crypto and return its header and payload.
 * (jose is not resolvable from the repository root, only from packages that depend on it.)
 */
async function verifyJwt(token: string, jwksUri: string): Promise<{ header: Record<string, unknown>; payload: Record<string, unknown> }> {
  const [head = '', body = '', signature = ''] = token.split('.')
  const decode = (part: string): Record<string, unknown> => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>
  const header = decode(head)
  expect(header.alg).toBe('RS256')
  const { keys } = (await (await fetch(jwksUri)).json()) as { keys: (JsonWebKey & { kid?: string })[] }
  const jwk = keys.find((k) => k.kid === header.kid)
  expect(jwk, `no key ${String(header.kid)} in the JWKS`).toBeDefined()
  const valid = verify('sha256', Buffer.from(`${head}.${body}`), createPublicKey({ key: jwk!, format: 'jwk' }), Buffer.from(signature, 'base64url'))
  expect(valid, 'JWT signature').toBe(true)
  return { header, payload: decode(body) }
}

describe('in-process authorization server', () => {
  let as: AuthorizationServer
  let metadata: Record<string, unknown>

  beforeAll(async () => {
    as = await startAuthorizationServer({ opaqueResources: [OPAQUE_RESOURCE], extraClaims: (sub) => ({ team: `${sub}-team` }) })
  })
  afterAll(async () => {
    await as?.close()
  })

  it('publishes OAuth and OpenID discovery documents', async () => {
    expect(as.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
      const response = await fetch(`${as.issuer}${path}`)
      expect(response.status).toBe(200)
      const document = (await response.json()) as Record<string, unknown>
      expect(document).toMatchObject({
        issuer: as.issuer,
        jwks_uri: expect.any(String),
        introspection_endpoint: `${as.issuer}/token/introspection`,
        registration_endpoint: `${as.issuer}/reg`,
        code_challenge_methods_supported: ['S256'],
      })
      expect(document.scopes_supported).toEqual(expect.arrayContaining(['openid', 'mcp:tools', 'mcp:admin']))
      metadata = document
    }
  })

  it('issues a client-credentials JWT bound to the resource', async () => {
    const { accessToken, response } = await as.clientCredentialsToken({ resource: RESOURCE, scope: 'mcp:tools' })
    expect(response).toMatchObject({ token_type: 'Bearer', scope: 'mcp:tools' })
    const { header, payload } = await verifyJwt(accessToken, metadata.jwks_uri as string)
    expect(header.typ).toBe('at+jwt')
    expect(payload).toMatchObject({ iss: as.issuer, aud: RESOURCE, sub: 'machine-client', client_id: 'machine-client', scope: 'mcp:tools' })
    expect(payload.email).toBeUndefined()
  })

  it('runs the authorization code + PKCE flow for a login', async () => {
    const { accessToken, claims } = await as.authorizationCodeToken({ resource: RESOURCE, scope: 'openid mcp:tools mcp:admin', login: 'alice' })
    const { payload } = await verifyJwt(accessToken, metadata.jwks_uri as string)
    expect(payload).toEqual(claims)
    expect(payload).toMatchObject({
      iss: as.issuer,
      aud: RESOURCE,
      sub: 'alice',
      email: 'alice@example.test',
      team: 'alice-team',
      client_id: as.clients.interactive.clientId,
      scope: 'mcp:tools mcp:admin',
    })
  })

  it('completes a dynamically registered client’s own authorization URL', async () => {
    // What an MCP SDK client does: register a loopback redirect URI, then send the user to /auth.
    const redirectUri = 'http://127.0.0.1:45678/callback'
    const registration = await fetch(metadata.registration_endpoint as string, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: [redirectUri], token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], scope: 'mcp:tools' }),
    })
    expect(registration.status).toBe(201)
    const { client_id: clientId } = (await registration.json()) as { client_id: string }
    const url = new URL(metadata.authorization_endpoint as string)
    url.search = new URLSearchParams({ client_id: clientId, redirect_uri: redirectUri, response_type: 'code', scope: 'mcp:tools', resource: RESOURCE, state: 'xyz', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' }).toString()
    const callback = await as.driveLogin(url, 'bob')
    expect(callback.origin + callback.pathname).toBe(redirectUri)
    expect(callback.searchParams.get('state')).toBe('xyz')
    expect(callback.searchParams.get('code')).toEqual(expect.any(String))
  })

  it('issues opaque tokens for opaque resources and introspects them', async () => {
    const user = await as.authorizationCodeToken({ resource: OPAQUE_RESOURCE, scope: 'mcp:tools', login: 'carol' })
    expect(user.claims).toBeUndefined()
    const introspection = await as.introspect(user.accessToken)
    expect(introspection).toMatchObject({
      active: true,
      iss: as.issuer,
      aud: OPAQUE_RESOURCE,
      sub: 'carol',
      scope: 'mcp:tools',
      client_id: as.clients.interactive.clientId,
      email: 'carol@example.test',
      exp: expect.any(Number),
    })

    const machine = await as.clientCredentialsToken({ resource: OPAQUE_RESOURCE, scope: 'mcp:admin' })
    expect(machine.claims).toBeUndefined()
    expect(await as.introspect(machine.accessToken)).toMatchObject({ active: true, aud: OPAQUE_RESOURCE, client_id: 'machine-client', scope: 'mcp:admin' })
    expect(await as.introspect('not-a-token')).toEqual({ active: false })
    // Another confidential client may not introspect tokens it does not own.
    expect(await as.introspect(user.accessToken, as.clients.machine)).toEqual({ active: false })
  })

  it('keeps its tokens to itself and frees its port on close()', async () => {
    const other = await startAuthorizationServer({ opaqueResources: [OPAQUE_RESOURCE] })
    const foreign = await other.clientCredentialsToken({ resource: OPAQUE_RESOURCE, scope: 'mcp:tools' })
    expect(await other.introspect(foreign.accessToken)).toMatchObject({ active: true })
    // Each provider has its own in-memory store: another server's opaque token is unknown here.
    expect(await as.introspect(foreign.accessToken)).toEqual({ active: false })
    await other.close()
    await expect(fetch(`${other.issuer}/.well-known/openid-configuration`)).rejects.toThrow()
  })
})
