// Principals through the real plugin: several API keys, each its own principal (a session opened with one
// is, for another, exactly an unknown id, on every route of both transports); the `authenticate` option
// (a principal, a refusal, a throw, a wrong answer); what `request.principal` holds; and
// `childEnvFromClaims`, which gives each session its own child with the principal's claims in its
// environment (and never a credential).
import { readFileSync } from 'node:fs'
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import { describe, expect, it } from 'vitest'
import mcpProxy, { AuthFailure, type McpProxyOptions, type Principal } from '../src/index.js'
import { buildApp, fixture, listen } from './helpers.js'
import { startAuthServer } from './helpers/jwks-server.js'
import {
  answersOf,
  closeAfterTest,
  echoCall,
  expectJsonRpcError,
  fetchWithin,
  initializeRequest,
  initSession,
  openStream,
  post,
  rpcRequest,
  type OpenStream,
} from './http-helpers.js'
import { CLIENT_CAPABILITIES_KEY, exchange, expectModernError, modernCall, resultOf } from './modern-helpers.js'

const SERVER_ERROR = -32000
const INTERNAL_ERROR = -32603
const K1 = 'key-one-5f0c7e1d9a2b'
const K2 = 'key-two-83b4a6c2e1f0'

/** The text of the first content item of a tools/call answer. */
function textOf(response: { body: string; headers: Record<string, unknown> }, id: number): string {
  const answer = answersOf(response as Parameters<typeof answersOf>[0]).find((m) => m.id === id) as { result?: { content?: Array<{ text?: string }> } } | undefined
  const text = answer?.result?.content?.[0]?.text
  if (typeof text !== 'string') throw new Error(`no text result for ${id}: ${response.body}`)
  return text
}

describe('API keys: each key its own principal', () => {
  it('no key → 403 (not 401) API_KEY_REQUIRED with an ApiKey challenge, naming X-API-Key, without "Unauthorized"', async () => {
    const app = await buildApp({ apiKey: [K1, K2] })
    const res = await post(app, initializeRequest(1))
    const body = expectJsonRpcError(res, 403, SERVER_ERROR)
    expect(body.error.data).toEqual({ reason: 'MCP_PROXY_API_KEY_REQUIRED' })
    expect(res.headers['www-authenticate']).toBe('ApiKey realm="mcp-proxy", header="X-API-Key"')
    expect(body.error.message).toContain('X-API-Key')
    expect(res.body).not.toMatch(/Unauthorized/i)
  })

  it('a wrong key → 403; K1 and K2 both open sessions', async () => {
    const app = await buildApp({ apiKey: [K1, K2] })
    for (const headers of [{ 'x-api-key': 'wrong' }, { authorization: 'Bearer wrong' }, { 'x-api-key': `${K1}x` }]) {
      const res = await post(app, initializeRequest(1), headers)
      const body = expectJsonRpcError(res, 403, SERVER_ERROR)
      expect(body.error.data).toEqual({ reason: 'MCP_PROXY_API_KEY_REQUIRED' })
      expect(res.body).not.toMatch(/Unauthorized/i)
      expect(res.body).not.toContain(K1)
    }
    for (const headers of [{ 'x-api-key': K1 }, { 'x-api-key': K2 }, { authorization: `Bearer ${K2}` }]) {
      const { sessionId } = await initSession(app, { headers })
      const res = await post(app, echoCall(2, 'k'), { ...headers, 'mcp-session-id': sessionId })
      expect(res.statusCode, res.body).toBe(200)
    }
  })

  it("a session opened with K1 is, for K2, an unknown id on POST, GET, GET with Last-Event-ID and DELETE (same answers)", async () => {
    const app = await buildApp({ apiKey: [K1, K2] })
    const { sessionId } = await initSession(app, { headers: { 'x-api-key': K1 } })
    const as = (id: string) => ({
      post: () => post(app, rpcRequest(7, 'ping'), { 'x-api-key': K2, 'mcp-session-id': id }),
      get: () => app.inject({ method: 'GET', url: '/mcp', headers: { 'x-api-key': K2, accept: 'text/event-stream', 'mcp-session-id': id } }),
      resume: () => app.inject({ method: 'GET', url: '/mcp', headers: { 'x-api-key': K2, accept: 'text/event-stream', 'mcp-session-id': id, 'last-event-id': '1' } }),
      delete: () => app.inject({ method: 'DELETE', url: '/mcp', headers: { 'x-api-key': K2, 'mcp-session-id': id } }),
    })
    const theirs = as(sessionId)
    const unknown = as('00000000-0000-4000-8000-000000000000')
    for (const method of ['post', 'get', 'resume', 'delete'] as const) {
      const got = await theirs[method]()
      const reference = await unknown[method]()
      expect(got.statusCode, `${method}: ${got.body}`).toBe(404)
      expect(got.body, method).toBe(reference.body)
      expect(got.headers['mcp-session-id'], method).toBeUndefined()
    }
    // K2's DELETE did not end K1's session.
    const still = await post(app, echoCall(8, 'alive'), { 'x-api-key': K1, 'mcp-session-id': sessionId })
    expect(still.statusCode, still.body).toBe(200)
    expect(textOf(still, 8)).toBe('alive')
  })

  it('a legacy /sse session opened with K1: POST /messages with K2 → 404, with K1 → 202', async () => {
    const { base } = await listen({ apiKey: [K1, K2] })
    const stream: OpenStream = await openStream(`${base}/sse`, { headers: { accept: 'text/event-stream', 'x-api-key': K1 } })
    expect(stream.response.status).toBe(200)
    const first = await stream.reader.next('the endpoint event')
    expect(first?.event).toBe('endpoint')
    const endpoint = new URL(first?.data ?? '', `${base}/sse`).href
    const send = (key: string) =>
      fetchWithin(endpoint, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify(initializeRequest(1, '2024-11-05')) })
    const other = await send(K2)
    expect(other.response.status, other.text).toBe(404)
    const unknown = await fetchWithin(`${base}/messages?sessionId=nope`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': K2 }, body: '{}' })
    expect(other.text).toBe(unknown.text)
    const own = await send(K1)
    expect(own.response.status, own.text).toBe(202)
  })

  it('request.principal: api-key:1 for K1, api-key:2 for K2, with no trace of the key', async () => {
    const seen: Array<Principal | null> = []
    const app = closeAfterTest(Fastify({ logger: false, forceCloseConnections: true }))
    app.addHook('onResponse', async (request: FastifyRequest) => {
      seen.push(request.principal)
    })
    await app.register(mcpProxy, { command: process.execPath, args: [fixture('echo-server')], stopGrace: 200, apiKey: [K1, K2] })
    await app.ready()
    await post(app, initializeRequest(1), { 'x-api-key': K1 })
    await post(app, initializeRequest(1), { authorization: `Bearer ${K2}` })
    expect(seen).toEqual([
      { id: 'api-key:1', subject: 'api-key-1', scopes: [], claims: { sub: 'api-key-1' } },
      { id: 'api-key:2', subject: 'api-key-2', scopes: [], claims: { sub: 'api-key-2' } },
    ])
    expect(JSON.stringify(seen)).not.toContain(K1)
    expect(JSON.stringify(seen)).not.toContain(K2)
  })
})

describe('the authenticate option', () => {
  const alice: Principal = { id: 'user:1', subject: 'u1', scopes: [], claims: { sub: 'u1' } }
  const bob: Principal = { id: 'user:2', subject: 'u2', scopes: [], claims: { sub: 'u2' } }

  /** Decides by the X-User header; the odd values exercise every way an authenticate function can answer. */
  function authenticate(request: FastifyRequest): Principal | AuthFailure | Promise<Principal | AuthFailure> {
    switch (request.headers['x-user']) {
      case 'alice':
        return alice
      case 'bob':
        return Promise.resolve(bob)
      case 'throw':
        throw new Error('authenticate exploded')
      case 'undefined':
        return undefined as unknown as Principal
      case 'no-id':
        return { ...alice, id: '' }
      case 'scope':
        return new AuthFailure('insufficient_scope', 'the scope a is needed', ['a'])
      case 'unavailable':
        return new AuthFailure('unavailable', 'the user directory is down')
      case 'missing':
        return new AuthFailure('missing', 'send X-User')
      default:
        return new AuthFailure('invalid', 'nope')
    }
  }

  it('AuthFailure is exported from the package index', () => {
    expect(new AuthFailure('invalid', 'x')).toBeInstanceOf(Error)
    expect(new AuthFailure('insufficient_scope', 'x', ['a']).scopes).toEqual(['a'])
  })

  it('a principal (sync or async) is served; a session is bound to its id', async () => {
    const app = await buildApp({ authenticate })
    const { sessionId } = await initSession(app, { headers: { 'x-user': 'alice' } })
    const own = await post(app, echoCall(2, 'mine'), { 'x-user': 'alice', 'mcp-session-id': sessionId })
    expect(own.statusCode, own.body).toBe(200)
    const other = await post(app, echoCall(2, 'mine'), { 'x-user': 'bob', 'mcp-session-id': sessionId })
    expect(other.statusCode, other.body).toBe(404)
    const unknown = await post(app, echoCall(2, 'mine'), { 'x-user': 'bob', 'mcp-session-id': 'no-such-session' })
    expect(other.body).toBe(unknown.body)
    const { sessionId: bobs } = await initSession(app, { headers: { 'x-user': 'bob' } })
    expect((await post(app, echoCall(3, 'b'), { 'x-user': 'bob', 'mcp-session-id': bobs })).statusCode).toBe(200)
  })

  it("AuthFailure('invalid') → 403 with its message, no Bearer challenge (no OAuth configured)", async () => {
    const app = await buildApp({ authenticate })
    const res = await post(app, initializeRequest(1), { 'x-user': 'mallory' })
    const body = expectJsonRpcError(res, 403, SERVER_ERROR)
    expect(body.error.message).toContain('nope')
    expect(String(res.headers['www-authenticate'] ?? '')).not.toMatch(/^Bearer/)
    expect(res.body).not.toMatch(/Unauthorized/i)
  })

  it("AuthFailure('insufficient_scope', …, ['a']) → 403", async () => {
    const app = await buildApp({ authenticate })
    const res = await post(app, initializeRequest(1), { 'x-user': 'scope' })
    const body = expectJsonRpcError(res, 403, SERVER_ERROR)
    expect(body.error.message).toContain('the scope a is needed')
  })

  it("AuthFailure('unavailable') → 503 AUTH_UNAVAILABLE with Retry-After", async () => {
    const app = await buildApp({ authenticate })
    const res = await post(app, initializeRequest(1), { 'x-user': 'unavailable' })
    const body = expectJsonRpcError(res, 503, SERVER_ERROR)
    expect(body.error.data).toEqual({ reason: 'MCP_PROXY_AUTH_UNAVAILABLE' })
    expect(res.headers['retry-after']).toMatch(/^\d+$/)
  })

  it('a throw → 500; undefined → 500; a principal without an id → 500 (never served)', async () => {
    const app = await buildApp({ authenticate })
    for (const user of ['throw', 'undefined', 'no-id']) {
      const res = await post(app, initializeRequest(1), { 'x-user': user })
      const body = expectJsonRpcError(res, 500, INTERNAL_ERROR)
      expect(body.error.data, user).toEqual({ reason: 'MCP_PROXY_INTERNAL' })
      expect(res.body, user).not.toContain('exploded')
      expect(res.headers['mcp-session-id'], user).toBeUndefined()
    }
  })

  it('/ping and /ready are not authenticated', async () => {
    const app = await buildApp({ authenticate })
    expect((await app.inject({ method: 'GET', url: '/ping' })).statusCode).toBe(200)
    expect((await app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200)
  })

  it('with oauth set too, the refusals carry its Bearer challenges (401 missing, 403 insufficient_scope)', async () => {
    const as = await startAuthServer()
    const app = await buildApp({ authenticate, oauth: { issuer: as.issuer, resourceUrl: 'http://localhost/mcp' } })
    const metadata = 'resource_metadata="http://localhost/.well-known/oauth-protected-resource/mcp"'
    const missing = await post(app, initializeRequest(1), { 'x-user': 'missing' })
    expectJsonRpcError(missing, 401, SERVER_ERROR)
    expect(missing.headers['www-authenticate']).toBe(`Bearer ${metadata}`)
    const invalid = await post(app, initializeRequest(1), { 'x-user': 'mallory' })
    expectJsonRpcError(invalid, 401, SERVER_ERROR)
    expect(String(invalid.headers['www-authenticate'])).toContain('error="invalid_token"')
    const scope = await post(app, initializeRequest(1), { 'x-user': 'scope' })
    const body = expectJsonRpcError(scope, 403, SERVER_ERROR)
    expect(body.error.data).toEqual({ reason: 'MCP_PROXY_INSUFFICIENT_SCOPE' })
    expect(String(scope.headers['www-authenticate'])).toContain('scope="a"')
    expect((await post(app, initializeRequest(1), { 'x-user': 'alice' })).statusCode).toBe(200)
    // The metadata is still served.
    expect((await app.inject({ method: 'GET', url: '/.well-known/oauth-protected-resource/mcp' })).statusCode).toBe(200)
  })
})

describe('childEnvFromClaims', () => {
  interface Spawned {
    pid: number | undefined
    role: string
    at: number
  }

  async function envApp(options: Partial<McpProxyOptions> = {}): Promise<{ app: FastifyInstance; spawned: Spawned[]; marker: () => number }> {
    const spawned: Spawned[] = []
    let count = 0
    const app = await buildApp({
      apiKey: [K1, K2],
      childEnvFromClaims: { MCP_USER: 'sub', MCP_NOTHING: 'no_such_claim' },
      tap: (event) => {
        count++
        if (event.type === 'child-spawned') spawned.push({ pid: event.pid, role: event.role, at: count })
      },
      ...options,
    })
    return { app, spawned, marker: () => count }
  }

  /** Open a session with `key`; its child's MCP_USER, MCP_NOTHING and pid (from the fixture's env and whoami tools). */
  async function sessionChild(app: FastifyInstance, key: string): Promise<{ user: string; nothing: string; pid: number; sessionId: string }> {
    const headers = { 'x-api-key': key }
    const { sessionId } = await initSession(app, { headers })
    const call = (id: number, name: string, args: Record<string, unknown>) =>
      post(app, rpcRequest(id, 'tools/call', { name, arguments: args }), { ...headers, 'mcp-session-id': sessionId })
    const user = textOf(await call(2, 'env', { name: 'MCP_USER' }), 2)
    const nothing = textOf(await call(3, 'env', { name: 'MCP_NOTHING' }), 3)
    const pid = (JSON.parse(textOf(await call(4, 'whoami', {}), 4)) as { pid: number }).pid
    return { user, nothing, pid, sessionId }
  }

  it("{ MCP_USER: 'sub' } with API keys: K1's child sees api-key-1, K2's api-key-2; a claim the principal lacks stays unset", async () => {
    const { app } = await envApp()
    const one = await sessionChild(app, K1)
    const two = await sessionChild(app, K2)
    expect(one.user).toBe('api-key-1')
    expect(two.user).toBe('api-key-2')
    expect(one.nothing).toBe('<unset>')
    expect(one.pid).not.toBe(two.pid)
  })

  it("each session's child is spawned for it after initialize (no warm child), and its environment holds no API key", async () => {
    const { app, spawned, marker } = await envApp()
    const before = marker()
    const { pid } = await sessionChild(app, K1)
    const own = spawned.find((s) => s.pid === pid)
    expect(own, JSON.stringify(spawned)).toBeDefined()
    expect(own!.at).toBeGreaterThan(before)
    let environ: string
    try {
      environ = readFileSync(`/proc/${pid}/environ`, 'utf8')
    } catch {
      return // no /proc (not Linux): the env tool above already showed the claim
    }
    const variables = environ.split('\0')
    expect(variables).toContain('MCP_USER=api-key-1')
    expect(environ).not.toContain(K1)
    expect(environ).not.toContain(K2)
  })
})

describe('2026-07-28 requestState bound to the principal', () => {
  it('a state issued to K1 is refused when resumed with K2 (-32602), and K1 still resumes it', async () => {
    const { base } = await listen({ fixture: 'everything-legacy', apiKey: [K1, K2] })
    const call = modernCall('first', 'test_input_required_result_elicitation', {}, { meta: { [CLIENT_CAPABILITIES_KEY]: { elicitation: { form: {} } } } })
    const round = resultOf(await exchange(base, call, { 'x-api-key': K1 }))
    expect(round).toMatchObject({ resultType: 'input_required', requestState: expect.any(String) })
    const retry = (id: string) => ({
      ...call,
      id,
      params: { ...(call.params as Record<string, unknown>), requestState: round.requestState, inputResponses: { user_name: { action: 'accept', content: { name: 'Ada' } } } },
    })
    const stolen = expectModernError(await exchange(base, retry('second'), { 'x-api-key': K2 }), 200, -32602, 'second')
    expect(stolen.message).toMatch(/requestState/)
    const done = await exchange(base, retry('third'), { 'x-api-key': K1 })
    expect(resultOf(done)).toMatchObject({ resultType: 'complete', content: [{ type: 'text', text: 'Hello, Ada!' }] })
  })
})
