// A tiny authorization server stand-in for the OAuth tests, on 127.0.0.1 with a free port: RFC 8414
// metadata, a JWKS (an RSA and an EC key, each with its kid) and RFC 7662 introspection (Basic client
// credentials, answers from a map of opaque tokens). Every endpoint counts its calls, so the proxy's
// caching can be asserted. Tokens are minted with jose. Every server is closed after the test.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, UnsecuredJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose'
import { afterEach } from 'vitest'

export interface KeyPair {
  kid: string
  alg: 'RS256' | 'ES256'
  privateKey: CryptoKey
  publicKey: CryptoKey
}

interface Keys {
  rsa: KeyPair
  ec: KeyPair
  /** A key the authorization server never publishes (its tokens name an unknown kid). */
  stranger: KeyPair
}

let keys: Promise<Keys> | undefined

async function keyPair(alg: 'RS256' | 'ES256', kid: string): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  return { kid, alg, privateKey, publicKey }
}

/** The keys, generated once per test file (RSA generation is the slow part). */
export function testKeys(): Promise<Keys> {
  keys ??= (async () => ({ rsa: await keyPair('RS256', 'rsa-1'), ec: await keyPair('ES256', 'ec-1'), stranger: await keyPair('RS256', 'stranger-1') }))()
  return keys
}

export interface Calls {
  metadata: number
  jwks: number
  introspection: number
}

export interface AuthServer {
  /** `http://127.0.0.1:<port>`: the issuer, exactly as the metadata names it. */
  issuer: string
  calls: Calls
  clientId: string
  clientSecret: string
  /** Opaque token → what introspection answers for it (`active: true` is added); a token absent here is inactive. */
  opaque: Map<string, Record<string, unknown>>
  keys: Keys
  /** A signed JWT: iss = issuer, sub = 'user-1', iat now, exp in 5 minutes, unless `claims` says otherwise (undefined removes a claim). */
  sign(claims?: Record<string, unknown>, options?: { key?: KeyPair; alg?: string }): Promise<string>
  /** The same claims as an unsecured JWT (`alg: none`). */
  unsecured(claims?: Record<string, unknown>): string
  /** An HS256 JWT whose secret is the RSA public key (the classic algorithm-confusion attack). */
  hmacWithPublicKey(claims?: Record<string, unknown>): Promise<string>
  close(): Promise<void>
}

const servers: Server[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => closeServer(server)))
})

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve()
    server.closeAllConnections()
    server.close(() => resolve())
  })
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = []
    request.on('data', (chunk: Buffer) => parts.push(chunk))
    request.on('end', () => resolve(Buffer.concat(parts).toString('utf8')))
    request.on('error', reject)
  })
}

function json(response: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value)
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
  response.end(body)
}

const nowSec = (): number => Math.floor(Date.now() / 1000)

/** The default claims, with `claims` merged over them (an undefined value removes the claim). */
function payloadOf(issuer: string, claims: Record<string, unknown>): JWTPayload {
  const merged: Record<string, unknown> = { iss: issuer, sub: 'user-1', iat: nowSec(), exp: nowSec() + 300, ...claims }
  for (const [name, value] of Object.entries(merged)) if (value === undefined) delete merged[name]
  return merged as JWTPayload
}

/** Start the authorization server, with the client credentials introspection accepts. */
export async function startAuthServer(options: { clientId?: string; clientSecret?: string } = {}): Promise<AuthServer> {
  const k = await testKeys()
  const jwks: JWK[] = []
  for (const pair of [k.rsa, k.ec]) jwks.push({ ...(await exportJWK(pair.publicKey)), kid: pair.kid, alg: pair.alg, use: 'sig' })
  const calls: Calls = { metadata: 0, jwks: 0, introspection: 0 }
  const clientId = options.clientId ?? 'proxy-client'
  const clientSecret = options.clientSecret ?? 'proxy-secret'
  const expectedBasic = `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`
  const opaque = new Map<string, Record<string, unknown>>()
  let issuer = ''

  const server = createServer((request, response) => {
    void (async () => {
      const path = new URL(request.url ?? '/', 'http://x').pathname
      if (request.method === 'GET' && path === '/.well-known/oauth-authorization-server') {
        calls.metadata++
        return json(response, 200, { issuer, jwks_uri: `${issuer}/jwks`, introspection_endpoint: `${issuer}/introspect` })
      }
      if (request.method === 'GET' && path === '/jwks') {
        calls.jwks++
        return json(response, 200, { keys: jwks })
      }
      if (request.method === 'POST' && path === '/introspect') {
        calls.introspection++
        const body = new URLSearchParams(await readBody(request))
        if (request.headers.authorization !== expectedBasic) return json(response, 401, { error: 'invalid_client' })
        const claims = opaque.get(body.get('token') ?? '')
        return json(response, 200, claims ? { ...claims, active: true } : { active: false })
      }
      json(response, 404, { error: 'not_found' })
    })().catch(() => response.destroy())
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  return {
    issuer,
    calls,
    clientId,
    clientSecret,
    opaque,
    keys: k,
    async sign(claims = {}, { key = k.rsa, alg = key.alg } = {}) {
      return new SignJWT(payloadOf(issuer, claims)).setProtectedHeader({ alg, kid: key.kid, typ: 'at+jwt' }).sign(key.privateKey)
    },
    unsecured(claims = {}) {
      return new UnsecuredJWT(payloadOf(issuer, claims)).encode()
    },
    async hmacWithPublicKey(claims = {}) {
      const secret = new TextEncoder().encode(await exportSPKI(k.rsa.publicKey))
      return new SignJWT(payloadOf(issuer, claims)).setProtectedHeader({ alg: 'HS256', kid: k.rsa.kid }).sign(secret)
    },
    close: () => closeServer(server),
  }
}
