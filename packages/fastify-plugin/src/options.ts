import { Type, type Static } from 'typebox'
import { Value } from 'typebox/value'
import { createError } from '@fastify/error'
import type { Registry } from 'prom-client'
import { DEFAULT_CACHE, DEFAULT_MAX_LISTEN_STREAMS, ToolFilter, type CacheDefaults, type Root, type RootsPolicy, type SharedAsks, type TapListener } from '@proxy/core'
import { DrainSwitch } from './drain/drain-switch.js'
import type { Authenticate } from './auth/principal.js'
import { canonicalResource, isLoopbackUrl } from './auth/oauth/resource.js'
import type { ResolvedOAuth } from './auth/oauth/oauth-resource.js'

const Path = Type.String({ pattern: '^/' })
const Millis = Type.Integer({ minimum: 0 })

/**
 * Every option of the plugin, with its default. One schema, resolved once by `resolveOptions`; nothing
 * downstream checks or defaults an option again.
 */
export const McpProxyOptions = Type.Object({
  /** What to spawn for each session (or once, in stateless mode). Never chosen by a request. */
  command: Type.String({ minLength: 1 }),
  /** Arguments of the command. @default [] */
  args: Type.Optional(Type.Array(Type.String())),
  /** Working directory of the child. @default the proxy's */
  cwd: Type.Optional(Type.String()),
  /** Extra environment entries for the child (they win over the inherited ones). @default {} */
  env: Type.Optional(Type.Record(Type.String(), Type.String())),
  /** Inherit the proxy's environment (minus `MCP_PROXY_*` and secret values). @default true */
  inheritEnv: Type.Optional(Type.Boolean()),
  /** Spawn through the system shell (for `npx.cmd` on Windows). @default false */
  shell: Type.Optional(Type.Boolean()),

  /** Streamable HTTP endpoint; `false` disables it. @default '/mcp' */
  streamEndpoint: Type.Optional(Type.Union([Path, Type.Literal(false)])),
  /** Legacy HTTP+SSE stream endpoint; `false` disables it. @default '/sse' */
  sseEndpoint: Type.Optional(Type.Union([Path, Type.Literal(false)])),
  /** Legacy HTTP+SSE message endpoint. @default '/messages' */
  messagesEndpoint: Type.Optional(Path),
  /** No sessions: every request goes to the shared children, initialized once by the proxy. @default false */
  stateless: Type.Optional(Type.Boolean()),
  /**
   * `per-session`: each 2025-era session gets a child of its own. `shared`: every session is served by a
   * few pre-initialized children (see sharedChildren); the proxy answers `initialize` and keeps each
   * session's log level and subscriptions. @default 'per-session'
   */
  childMode: Type.Optional(Type.Union([Type.Literal('per-session'), Type.Literal('shared')])),
  /**
   * Most children of shared mode and of stateless mode. One starts before listening; more are started while
   * calls that may ask their client (sampling, elicitation) each hold one alone, and stopped when idle. @default 4
   */
  sharedChildren: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
  /**
   * What the shared children of shared and stateless mode may ask a client mid-call. `route`: a call that
   * may ask (sampling, elicitation), from a client that can be asked, holds a child alone, so the question
   * reaches that client and no other. `refuse`, for servers that never ask: every call shares the children
   * (no call waits for a child of its own), and such a question is answered with an error. @default 'route'
   */
  sharedAsks: Type.Optional(Type.Union([Type.Literal('route'), Type.Literal('refuse')])),
  /** Answer request POSTs with `application/json` instead of an SSE stream. @default false */
  jsonResponse: Type.Optional(Type.Boolean()),

  /**
   * API key(s) required on every request but `/ping`, `/ready` and CORS preflights (`X-API-Key` or
   * `Authorization: Bearer`). With several, each key is its own principal: a session opened with one is not
   * reachable with another.
   */
  apiKey: Type.Optional(Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })])),
  /**
   * Be an OAuth 2.1 resource server (MCP authorization): access tokens from `issuer`, for this resource,
   * checked on every request; Protected Resource Metadata served; 401/403 with their challenges. Combines
   * with `apiKey` (a key still works, for machines).
   */
  oauth: Type.Optional(
    Type.Object({
      /** The authorization server (its metadata is read from the RFC 8414 / OpenID well-known address). `https:`, or `http:` on loopback. */
      issuer: Type.String({ minLength: 1 }),
      /** The canonical URL of the Streamable HTTP endpoint as clients reach it (`https://mcp.example.com/mcp`). @default from the request's Host, when Hosts are restricted */
      resourceUrl: Type.Optional(Type.String({ minLength: 1 })),
      /** The audience a token must name. @default the resource URL of the endpoint */
      audience: Type.Optional(Type.String({ minLength: 1 })),
      /** The issuer's JSON Web Key Set. @default `jwks_uri` of its metadata */
      jwksUrl: Type.Optional(Type.String({ minLength: 1 })),
      /** RFC 7662 introspection for opaque tokens (needs clientId and clientSecret). @default `introspection_endpoint` of its metadata, when a client is given */
      introspectionUrl: Type.Optional(Type.String({ minLength: 1 })),
      /** The proxy's client at the authorization server, for introspection. */
      clientId: Type.Optional(Type.String({ minLength: 1 })),
      clientSecret: Type.Optional(Type.String({ minLength: 1 })),
      /** Scopes every token must carry (403 insufficient_scope otherwise); advertised in the metadata. @default [] */
      scopes: Type.Optional(Type.Array(Type.String({ pattern: '^[\\x21\\x23-\\x5B\\x5D-\\x7E]+$' }))),
      /** JWS algorithms accepted (asymmetric only). @default RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA */
      algorithms: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })),
      /** Leeway on `exp` and `nbf`, in seconds. @default 30 */
      clockTolerance: Type.Optional(Type.Integer({ minimum: 0, maximum: 300 })),
      /** `resource_name` in the metadata (shown by some clients). */
      resourceName: Type.Optional(Type.String({ minLength: 1 })),
    }),
  ),
  /**
   * Your own scheme: called in `onRequest` with the request, returns the `Principal` or an `AuthFailure`.
   * Replaces the API key and token checks (with `oauth` also set, its metadata and challenges are still used).
   */
  authenticate: Type.Optional(Type.Unsafe<Authenticate>(Type.Any())),
  /**
   * Put claims of the session's principal into its child's environment: `{ MCP_USER: 'sub', MCP_USER_EMAIL:
   * 'email' }`. Such sessions spawn their own child on initialize (no warm child). Never the token. Needs
   * authentication; not with `stateless`; turns the 2026-07-28 leg off by default (its children are shared).
   */
  childEnvFromClaims: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }), Type.String({ minLength: 1 }))),
  /** The address the server is bound to; decides the Origin/Host defaults. @default '127.0.0.1' */
  host: Type.Optional(Type.String()),
  /** Origins allowed (`Origin` header): `scheme://host` (any port) or `scheme://host:port`; `*` allows any. @default loopback origins when bound to loopback, else none */
  allowedOrigins: Type.Optional(Type.Array(Type.String())),
  /** Hosts allowed (`Host` header): `name` (any port) or `name:port`; `*` allows any. @default loopback names when bound to loopback, else any */
  allowedHosts: Type.Optional(Type.Array(Type.String())),

  /**
   * What each child learns about its client's roots: `'forward'` (the client's roots capability and
   * answers go through), `'deny'` (the child is told the client has no roots), or `{ fixed: [uri, …] }`
   * (the proxy answers `roots/list` with these URIs). A remote client's roots name directories on its own
   * machine, and some servers replace their allowed directories with them.
   * @default 'forward' when `host` is loopback, else 'deny'
   */
  roots: Type.Optional(Type.Union([Type.Literal('forward'), Type.Literal('deny'), Type.Object({ fixed: Type.Array(Type.String()) })])),

  /**
   * Only these tools of the MCP server are shown and callable (glob patterns: `*`, `?`): the others are left
   * out of `tools/list`, and calling one is answered -32602 "Unknown tool" before the server sees it. Both
   * eras. @default every tool
   */
  allowedTools: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
  /** These tools (glob patterns) are hidden the same way; wins over allowedTools. @default none */
  deniedTools: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),

  /** Largest request body in bytes; larger gets 413 before it is read. @default 10 MiB */
  maxBodySize: Type.Optional(Type.Integer({ minimum: 1 })),
  /** A request body not fully received this long after its head gets 408 and the connection is closed; 0 = no limit. @default 30 s */
  bodyTimeout: Type.Optional(Millis),
  /** Most sessions (so children, per session) at once; at the cap the session idle longest gives way, and only when every session is busy does a new one get 503. Children, stopping ones included, never exceed this plus warmChildren. @default 32, 4096 with childMode shared */
  maxSessions: Type.Optional(Type.Integer({ minimum: 1 })),
  /** Close a session idle this long with no open stream; 0 = never. @default 5 min */
  sessionIdleTimeout: Type.Optional(Millis),
  /** Events kept per session for `Last-Event-ID` replay; 0 disables resumability. @default 1000 */
  eventStoreMaxEvents: Type.Optional(Type.Integer({ minimum: 0 })),
  /** Bytes of events kept per session. @default 8 MiB */
  eventStoreMaxBytes: Type.Optional(Type.Integer({ minimum: 1 })),
  /** Bytes that may queue for a slow SSE client before that connection is closed (its events stay replayable). @default 8 MiB */
  maxQueuedBytes: Type.Optional(Type.Integer({ minimum: 1 })),
  /** Longest line the child may write, in characters; longer lines are dropped. @default 128 Mi characters */
  maxLineLength: Type.Optional(Type.Integer({ minimum: 1 })),
  /** A request with no answer and no progress this long fails and is cancelled. @default 5 min */
  requestTimeout: Type.Optional(Type.Integer({ minimum: 1 })),
  /** Progress resets requestTimeout, but never past this total. @default 1 h */
  maxRequestTimeout: Type.Optional(Type.Integer({ minimum: 1 })),
  /** How long a child may take to answer initialize. @default 60 s */
  initializeTimeout: Type.Optional(Type.Integer({ minimum: 1 })),
  /** Grace period of each step of the stop ladder (stdin end → SIGTERM → SIGKILL). @default 2 s */
  stopGrace: Type.Optional(Millis),
  /** Children spawned ahead of time for new sessions. @default 1 */
  warmChildren: Type.Optional(Type.Integer({ minimum: 0, maximum: 64 })),
  /** Interval of SSE keep-alive comments on open streams; 0 = none. @default 15 s */
  keepAliveInterval: Type.Optional(Millis),
  /** The SSE `retry` hint sent to clients that resume streams. @default 1000 */
  retryInterval: Type.Optional(Millis),
  /**
   * This instance's tag, for load balancers: every session id it mints is `<instanceId>.<uuid>`, responses
   * carry `Mcp-Proxy-Instance`, `/ready` reports it, and 2026-07-28 request states are sealed with it.
   * @default none (ids are bare UUIDs)
   */
  instanceId: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$' })),
  /** Once a drain starts, how long open sessions and requests may go on before it ends anyway. @default 30000 */
  drainTimeout: Type.Optional(Millis),
  /** Enables `POST /drain`, authorised by `Authorization: Bearer <adminToken>` (the API key does not open it). @default none */
  adminToken: Type.Optional(Type.String({ minLength: 1 })),
  /** The switch that starts a drain (e.g. on SIGTERM) and tells when it has ended. @default one of the plugin's own */
  drain: Type.Optional(Type.Unsafe<DrainSwitch>(Type.Any())),
  /**
   * The name of this server, when one process serves several (`mcp-proxy --config`): the `server` label of
   * every metric, the `mcp_proxy.server.name` attribute of every span, and `name` in `/ready`. @default none
   */
  name: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$' })),
  /** Name the proxy gives itself in its own initialize (stateless mode). */
  clientInfo: Type.Optional(Type.Object({ name: Type.String(), version: Type.String() })),
  /**
   * Serve MCP 2026-07-28 on the same endpoint: requests carrying that revision's `_meta` envelope go to
   * one child the proxy initialized itself, translated both ways. @default true
   */
  modern: Type.Optional(Type.Boolean()),
  /**
   * The era of the stdio server: `legacy` (2025, translated), `modern` (2026-07-28, passed through), or
   * `auto` (asked once with `server/discover` on a throwaway copy at start). @default 'legacy'
   */
  upstreamProtocol: Type.Optional(Type.Union([Type.Literal('legacy'), Type.Literal('auto'), Type.Literal('modern')])),
  /** `ttlMs` claimed on 2026 results whose server gave no valid cache hint. @default 0 */
  modernCacheTtl: Type.Optional(Millis),
  /** `cacheScope` claimed on 2026 results whose server gave no valid cache hint. @default 'private' */
  modernCacheScope: Type.Optional(Type.Union([Type.Literal('public'), Type.Literal('private')])),
  /** Most `subscriptions/listen` streams open at once. @default 1024 */
  maxListenStreams: Type.Optional(Type.Integer({ minimum: 1 })),
  /**
   * `translate`: a 2026 `tools/call`, `prompts/get` or `resources/read` holds a child alone, and what the child
   * asks mid-call (sampling, elicitation, roots) becomes `input_required` for the client. `off`: one child, no
   * such translation. @default 'translate'
   */
  modernInteractive: Type.Optional(Type.Union([Type.Literal('translate'), Type.Literal('off')])),
  /** Children serving interactive 2026 calls at once (grown on demand, stopped when idle). @default 4 */
  modernMaxChildren: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
  /** How long a call waiting for the client's input stays parked. @default 300000 */
  modernInputTtl: Type.Optional(Type.Integer({ minimum: 1 })),
  /** Calls waiting for input at most; past that the one parked longest is given up. @default 64 */
  modernMaxParked: Type.Optional(Type.Integer({ minimum: 1 })),
  /**
   * Called with every event of the proxy's message tap (messages to and from the child, finished requests,
   * sessions, children, refusals): metrics, tracing or an audit log of your own. Keep it fast; it runs on
   * the message path. A listener that throws is logged, never breaks a request.
   */
  tap: Type.Optional(Type.Unsafe<TapListener>(Type.Any())),
  /**
   * Trace through the OpenTelemetry API: an `mcp.server` span per request sent to the MCP server (its
   * parent from `params._meta.traceparent`, else the HTTP request's context), that span's context passed to
   * the child in `params._meta`, and a span per child process. Spans go to the SDK the host registered
   * (with none, the API is a no-op). Off: no request is rewritten and nothing is traced. @default false
   */
  tracing: Type.Optional(Type.Boolean()),
  /**
   * Append one JSON line per finished request to this file (created with mode 0600), or write them to
   * stdout with `'-'`: time, era, session, principal, method, tool/prompt name or resource URI, JSON-RPC
   * id, duration, outcome, error code, bytes each way. Never bodies, arguments or secrets. A slow
   * destination loses lines (counted in a warning), never slows a request. @default none
   */
  auditLog: Type.Optional(Type.String({ minLength: 1 })),
  /**
   * Prometheus metrics (`GET /metrics`, text format 0.0.4): the OpenTelemetry MCP conventions' operation and
   * session histograms, sessions, streams, requests in flight, children, refusals, bytes, dropped events,
   * and the `process_*`/`nodejs_*` defaults, on a registry of this plugin's own. Behind the API key unless
   * `metricsPublic`. Off: nothing is counted. @default false
   */
  metrics: Type.Optional(Type.Boolean()),
  /** Serve `/metrics` without the API key (like `/ping`). Needs `metrics`. @default false */
  metricsPublic: Type.Optional(Type.Boolean()),
  /** Label `tools/call` durations with the tool name (the first 100 names; later ones are `other`). Needs `metrics`. @default true */
  metricsToolNames: Type.Optional(Type.Boolean()),
  /** Where the plugin serves the metrics; `false`: nowhere (serve the registry `onMetricsRegistry` hands you). Needs `metrics`. @default '/metrics' */
  metricsPath: Type.Optional(Type.Union([Path, Type.Literal(false)])),
  /** Called once with the plugin's prom-client `Registry` (to serve it elsewhere, or add metrics of your own). Needs `metrics`. */
  onMetricsRegistry: Type.Optional(Type.Unsafe<(registry: Registry) => void>(Type.Any())),
  /** Key sealing `requestState` (at least 32 bytes; give every instance behind one balancer the same). @default random per process */
  requestStateKey: Type.Optional(Type.String({ minLength: 32 })),
})
export type McpProxyOptions = Static<typeof McpProxyOptions>

export const FST_MCP_PROXY_INVALID_OPTIONS = createError<[string]>(
  'FST_MCP_PROXY_INVALID_OPTIONS',
  'Invalid @proxy/fastify-plugin options: %s',
)

const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]', '::1']

/** Is this bind address a loopback interface? */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || host.startsWith('127.')
}

/** Options with every default filled in. */
export interface ResolvedOptions {
  command: { command: string; args: string[]; cwd?: string; shell: boolean }
  env: Record<string, string>
  inheritEnv: boolean
  streamEndpoint: string | false
  sseEndpoint: string | false
  messagesEndpoint: string
  stateless: boolean
  childMode: 'per-session' | 'shared'
  sharedChildren: number
  sharedAsks: SharedAsks
  jsonResponse: boolean
  /** The API keys, each its own principal; empty: none. */
  apiKeys: string[]
  /** OAuth resource server settings; undefined: no OAuth. */
  oauth: ResolvedOAuth | undefined
  /** The library user's own scheme. */
  authenticate: Authenticate | undefined
  /** Child environment variable → claim of the session's principal. */
  childEnvFromClaims: Record<string, string>
  /** Tools hidden from clients; undefined: none. */
  toolFilter: ToolFilter | undefined
  /** undefined = any origin. */
  allowedOrigins: Set<string> | undefined
  /** undefined = any host. */
  allowedHosts: Set<string> | undefined
  roots: RootsPolicy
  maxBodySize: number
  bodyTimeout: number
  maxSessions: number
  sessionIdleTimeout: number
  eventStoreMaxEvents: number
  eventStoreMaxBytes: number
  maxQueuedBytes: number
  maxLineLength: number
  requestTimeout: number
  maxRequestTimeout: number
  initializeTimeout: number
  stopGrace: number
  warmChildren: number
  keepAliveInterval: number
  retryInterval: number
  instanceId: string | undefined
  /** This server's name among several in one process. */
  name: string | undefined
  drainTimeout: number
  adminToken: string | undefined
  drain: DrainSwitch | undefined
  clientInfo: { name: string; version: string }
  /** The 2026-07-28 leg; false when turned off. */
  modern: ModernOptions | false
  /** The library user's own tap listener. */
  tap: TapListener | undefined
  /** Prometheus metrics; false when off. */
  metrics: MetricsOptions | false
  /** Trace requests and children through the OpenTelemetry API, and pass the trace context to the child. */
  tracing: boolean
  /** Where the audit log goes (a file path, or '-' for stdout); undefined = no audit log. */
  auditLog: string | undefined
}

/** What the plugin counts and where it serves it. */
export interface MetricsOptions {
  /** The route serving the metrics; false: none (the host serves the registry). */
  path: string | false
  /** No API key on that route. */
  public: boolean
  /** `gen_ai_tool_name` on `tools/call` durations. */
  toolNames: boolean
  onRegistry: ((registry: Registry) => void) | undefined
}

/** How the 2026-07-28 leg serves. */
export interface ModernOptions {
  upstreamProtocol: 'legacy' | 'auto' | 'modern'
  cache: CacheDefaults
  maxListenStreams: number
  interactive: 'translate' | 'off'
  maxChildren: number
  inputTtlMs: number
  maxParked: number
  requestStateKey: Buffer | undefined
}

function lowerSet(values: string[]): Set<string> | undefined {
  return values.includes('*') ? undefined : new Set(values.map((v) => v.toLowerCase()))
}

// An entry with a port keeps it, even a scheme's default one (which `new URL` would drop):
// `https://a.example:443` allows that port only, `https://a.example` any port.
function normalizeOrigin(origin: string): string {
  try {
    const url = new URL(origin)
    const port = url.port || /:(\d+)\/?$/.exec(origin)?.[1]
    return `${url.protocol}//${url.hostname}${port ? `:${port}` : ''}`
  } catch {
    return origin
  }
}

/** The name MCP shows for a root: the last path segment of its URI (none for `file:///`). */
function rootName(url: URL): string | undefined {
  const segment = url.pathname.split('/').filter((s) => s !== '').pop()
  if (segment === undefined) return undefined
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

/** The roots option as core's policy; every fixed root must be a URI. */
function resolveRoots(roots: McpProxyOptions['roots'], loopback: boolean): RootsPolicy {
  if (roots === undefined) return { mode: loopback ? 'forward' : 'deny' }
  if (typeof roots === 'string') return { mode: roots }
  const fixed = roots.fixed.map((uri, i): Root => {
    let url: URL
    try {
      url = new URL(uri)
    } catch {
      throw new FST_MCP_PROXY_INVALID_OPTIONS(`/roots/fixed/${i} must be a URI (file:///path), not '${uri}'`)
    }
    const name = rootName(url)
    return name === undefined ? { uri } : { uri, name }
  })
  return { mode: 'fixed', roots: fixed }
}

/** Algorithms accepted by default: every asymmetric JWS algorithm (a JWKS holds public keys; HMAC would need a shared secret). */
const DEFAULT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']

/** An authorization server address: an absolute `https:` URL, or `http:` on a loopback host (tests, local servers). */
function serverUrl(key: string, value: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new FST_MCP_PROXY_INVALID_OPTIONS(`/oauth/${key} must be an absolute URL, not '${value}'`)
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackUrl(url))) {
    throw new FST_MCP_PROXY_INVALID_OPTIONS(`/oauth/${key} must be https: (http: only on a loopback address), not '${value}'`)
  }
  if (url.hash !== '' || url.username !== '' || url.password !== '') throw new FST_MCP_PROXY_INVALID_OPTIONS(`/oauth/${key} must have no fragment and no credentials`)
  return value
}

/** The OAuth option checked and resolved: addresses, the algorithm allow-list, introspection credentials. */
function resolveOAuth(o: NonNullable<McpProxyOptions['oauth']>, anyHost: boolean): ResolvedOAuth {
  const issuer = serverUrl('issuer', o.issuer)
  if (new URL(issuer).search !== '') throw new FST_MCP_PROXY_INVALID_OPTIONS('/oauth/issuer must have no query (RFC 8414)')
  const resourceUrl = o.resourceUrl === undefined ? undefined : canonicalResource(serverUrl('resourceUrl', o.resourceUrl))
  if (resourceUrl === undefined && anyHost) {
    throw new FST_MCP_PROXY_INVALID_OPTIONS('/oauth/resourceUrl is needed when any Host is allowed: the resource (and the audience tokens must name) cannot be taken from a Host header nobody checks')
  }
  const algorithms = o.algorithms ?? DEFAULT_ALGORITHMS
  const refused = algorithms.find((alg) => alg === 'none' || /^HS/i.test(alg) || !DEFAULT_ALGORITHMS.includes(alg))
  if (refused !== undefined) throw new FST_MCP_PROXY_INVALID_OPTIONS(`/oauth/algorithms: '${refused}' is not accepted (only ${DEFAULT_ALGORITHMS.join(', ')}: never none, never HMAC with a key set)`)
  if ((o.clientId === undefined) !== (o.clientSecret === undefined)) throw new FST_MCP_PROXY_INVALID_OPTIONS('/oauth/clientId and /oauth/clientSecret go together (they authenticate introspection)')
  if (o.introspectionUrl !== undefined && o.clientId === undefined) throw new FST_MCP_PROXY_INVALID_OPTIONS('/oauth/introspectionUrl needs clientId and clientSecret')
  return {
    issuer,
    resourceUrl,
    audience: o.audience,
    jwksUrl: o.jwksUrl === undefined ? undefined : serverUrl('jwksUrl', o.jwksUrl),
    introspection:
      o.clientId === undefined || o.clientSecret === undefined
        ? undefined
        : { url: o.introspectionUrl === undefined ? undefined : serverUrl('introspectionUrl', o.introspectionUrl), clientId: o.clientId, clientSecret: o.clientSecret },
    scopes: o.scopes ?? [],
    algorithms,
    clockToleranceSec: o.clockTolerance ?? 30,
    resourceName: o.resourceName,
  }
}

/** Validate raw options against the schema and fill in every default, once. */
export function resolveOptions(raw: unknown): ResolvedOptions {
  if (!Value.Check(McpProxyOptions, raw)) {
    const first = [...Value.Errors(McpProxyOptions, raw)][0]
    throw new FST_MCP_PROXY_INVALID_OPTIONS(first ? `${first.instancePath || '(root)'} ${first.message}` : 'not an object')
  }
  const o = raw
  if (o.tap !== undefined && typeof o.tap !== 'function') throw new FST_MCP_PROXY_INVALID_OPTIONS('/tap must be a function (event) => void')
  if ((raw as Record<string, unknown>).sessionIdPrefix !== undefined) {
    throw new FST_MCP_PROXY_INVALID_OPTIONS('/sessionIdPrefix was replaced by instanceId: ids are now <instanceId>.<uuid> (give the tag without the dot)')
  }
  if (o.drain !== undefined && !(o.drain instanceof DrainSwitch)) throw new FST_MCP_PROXY_INVALID_OPTIONS('/drain must be a DrainSwitch')
  if (o.onMetricsRegistry !== undefined && typeof o.onMetricsRegistry !== 'function') throw new FST_MCP_PROXY_INVALID_OPTIONS('/onMetricsRegistry must be a function (registry) => void')
  if (o.metrics !== true) {
    const needsMetrics = (['metricsPublic', 'metricsToolNames', 'metricsPath', 'onMetricsRegistry'] as const).find((key) => o[key] !== undefined)
    if (needsMetrics) throw new FST_MCP_PROXY_INVALID_OPTIONS(`/${needsMetrics} needs metrics turned on`)
  }
  if (o.authenticate !== undefined && typeof o.authenticate !== 'function') throw new FST_MCP_PROXY_INVALID_OPTIONS('/authenticate must be a function (request) => Principal | AuthFailure')
  if (o.childEnvFromClaims !== undefined) {
    if (o.apiKey === undefined && o.oauth === undefined && o.authenticate === undefined) throw new FST_MCP_PROXY_INVALID_OPTIONS('/childEnvFromClaims needs authentication (apiKey, oauth or authenticate): without it there is no principal')
    if (o.stateless === true) throw new FST_MCP_PROXY_INVALID_OPTIONS('/childEnvFromClaims cannot be used with stateless: one child serves every caller')
    if (o.childMode === 'shared') throw new FST_MCP_PROXY_INVALID_OPTIONS('/childEnvFromClaims cannot be used with childMode shared: the children serve every session')
    if (o.modern === true) throw new FST_MCP_PROXY_INVALID_OPTIONS('/childEnvFromClaims cannot be used with modern: the 2026-07-28 leg shares its children between callers (set modern: false)')
    if ((o.warmChildren ?? 0) > 0) throw new FST_MCP_PROXY_INVALID_OPTIONS('/childEnvFromClaims cannot be used with warmChildren: a child started before anyone asked cannot carry their claims')
  }
  if (o.stateless === true && o.childMode === 'shared') throw new FST_MCP_PROXY_INVALID_OPTIONS('/childMode shared cannot be used with stateless: stateless mode has no sessions (it always shares its children)')
  const shared = o.childMode === 'shared'
  const host = o.host ?? '127.0.0.1'
  const loopback = isLoopback(host)
  const defaultHosts = loopback ? LOOPBACK_HOSTS : ['*']
  const defaultOrigins = loopback ? ['http://localhost', 'http://127.0.0.1', 'http://[::1]', 'https://localhost', 'https://127.0.0.1', 'https://[::1]'] : []
  return {
    command: { command: o.command, args: o.args ?? [], ...(o.cwd === undefined ? {} : { cwd: o.cwd }), shell: o.shell ?? false },
    env: o.env ?? {},
    inheritEnv: o.inheritEnv ?? true,
    streamEndpoint: o.streamEndpoint ?? '/mcp',
    sseEndpoint: o.sseEndpoint ?? '/sse',
    messagesEndpoint: o.messagesEndpoint ?? '/messages',
    stateless: o.stateless ?? false,
    childMode: o.childMode ?? 'per-session',
    sharedChildren: o.sharedChildren ?? 4,
    sharedAsks: o.sharedAsks ?? 'route',
    jsonResponse: o.jsonResponse ?? false,
    apiKeys: o.apiKey === undefined ? [] : typeof o.apiKey === 'string' ? [o.apiKey] : o.apiKey,
    oauth: o.oauth === undefined ? undefined : resolveOAuth(o.oauth, o.allowedHosts === undefined ? !loopback : o.allowedHosts.includes('*')),
    authenticate: o.authenticate,
    childEnvFromClaims: o.childEnvFromClaims ?? {},
    toolFilter:
      o.allowedTools === undefined && o.deniedTools === undefined
        ? undefined
        : new ToolFilter({ ...(o.allowedTools === undefined ? {} : { allowed: o.allowedTools }), ...(o.deniedTools === undefined ? {} : { denied: o.deniedTools }) }),
    allowedOrigins: lowerSet((o.allowedOrigins ?? defaultOrigins).map((v) => (v === '*' ? v : normalizeOrigin(v)))),
    allowedHosts: lowerSet(o.allowedHosts ?? defaultHosts),
    roots: resolveRoots(o.roots, loopback),
    maxBodySize: o.maxBodySize ?? 10 * 1024 * 1024,
    bodyTimeout: o.bodyTimeout ?? 30_000,
    // A session of shared mode holds no process: thousands fit where 32 children would.
    maxSessions: o.maxSessions ?? (shared ? 4096 : 32),
    sessionIdleTimeout: o.sessionIdleTimeout ?? 5 * 60_000,
    eventStoreMaxEvents: o.eventStoreMaxEvents ?? 1000,
    eventStoreMaxBytes: o.eventStoreMaxBytes ?? 8 * 1024 * 1024,
    maxQueuedBytes: o.maxQueuedBytes ?? 8 * 1024 * 1024,
    maxLineLength: o.maxLineLength ?? 128 * 1024 * 1024,
    requestTimeout: o.requestTimeout ?? 5 * 60_000,
    maxRequestTimeout: o.maxRequestTimeout ?? 60 * 60_000,
    initializeTimeout: o.initializeTimeout ?? 60_000,
    stopGrace: o.stopGrace ?? 2000,
    // With claims in each child's environment, no child can be started ahead of its user.
    warmChildren: o.warmChildren ?? (o.childEnvFromClaims === undefined ? 1 : 0),
    keepAliveInterval: o.keepAliveInterval ?? 15_000,
    retryInterval: o.retryInterval ?? 1000,
    instanceId: o.instanceId,
    name: o.name,
    drainTimeout: o.drainTimeout ?? 30_000,
    adminToken: o.adminToken,
    drain: o.drain,
    clientInfo: o.clientInfo ?? { name: 'mcp-proxy', version: '0.1.0' },
    tap: o.tap,
    metrics:
      o.metrics === true
        ? { path: o.metricsPath ?? '/metrics', public: o.metricsPublic ?? false, toolNames: o.metricsToolNames ?? true, onRegistry: o.onMetricsRegistry }
        : false,
    tracing: o.tracing ?? false,
    auditLog: o.auditLog,
    modern:
      o.modern === false || (o.modern === undefined && o.childEnvFromClaims !== undefined)
        ? false
        : {
            upstreamProtocol: o.upstreamProtocol ?? 'legacy',
            cache: { ttlMs: o.modernCacheTtl ?? DEFAULT_CACHE.ttlMs, cacheScope: o.modernCacheScope ?? DEFAULT_CACHE.cacheScope },
            maxListenStreams: o.maxListenStreams ?? DEFAULT_MAX_LISTEN_STREAMS,
            interactive: o.modernInteractive ?? 'translate',
            maxChildren: o.modernMaxChildren ?? 4,
            inputTtlMs: o.modernInputTtl ?? 5 * 60_000,
            maxParked: o.modernMaxParked ?? 64,
            requestStateKey: o.requestStateKey === undefined ? undefined : Buffer.from(o.requestStateKey, 'utf8'),
          },
  }
}
