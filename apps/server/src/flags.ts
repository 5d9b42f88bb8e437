import type { McpProxyOptions } from '@proxy/fastify-plugin'

/**
 * How a flag's value is read. `list` is comma-separated (a repeated flag adds to the list); `repeat` takes
 * one whole value per occurrence (a key may hold a comma), one in the environment; `boolean` takes no value
 * on the command line (`--flag`, `--flag=false`, `--no-flag`) and `true|false|1|0|yes|no` in the environment.
 */
export type FlagType = 'string' | 'boolean' | 'integer' | 'list' | 'repeat' | 'choice'

/** The fields of the plugin's `oauth` option. */
export type OAuthField = keyof NonNullable<McpProxyOptions['oauth']>

export type FlagGroup = 'Server' | 'Several servers' | 'Authorization' | 'MCP server (the child)' | 'Transports' | 'MCP 2026-07-28' | 'Limits and timeouts' | 'Logging' | 'Information'

/** One command-line flag: every name it answers to, how its value is read, and its help. */
export interface Flag {
  /** Canonical kebab-case name, without dashes. */
  name: string
  /** Other accepted names (camelCase of punkpeye's mcp-proxy, old names). Each also gets an env variable. */
  aliases: readonly string[]
  type: FlagType
  choices?: readonly string[]
  /** Placeholder of the value in help. */
  value?: string
  group: FlagGroup
  help: string
  /** The plugin option this flag sets: help shows that option's default, resolved by the plugin itself. */
  option?: keyof McpProxyOptions
  /** The field of the plugin's `oauth` option this flag sets (those flags need --oauth-issuer). */
  oauth?: OAuthField
  /** Default shown in help for what the CLI decides itself (the plugin has no such option). */
  default?: string
  /** Read from the environment too (`MCP_PROXY_<NAME>`). @default true */
  env?: boolean
}

/** What the CLI itself decides (the plugin does not listen): where to listen, and HTTP keep-alive. */
export const CLI_DEFAULTS = {
  host: '127.0.0.1',
  port: 3000,
  /** Like the original: Node's default (5 s; Fastify's 72 s) cuts idle MCP sessions. */
  keepAliveTimeout: 300_000,
} as const

/**
 * Every flag, in help order. The CLI passes a plugin option only when its flag (or env variable) is
 * given, so the defaults live in one place: `@proxy/fastify-plugin`'s `resolveOptions`.
 */
export const FLAGS: readonly Flag[] = [
  // Server
  { name: 'host', aliases: [], type: 'string', value: 'ADDRESS', group: 'Server', default: CLI_DEFAULTS.host, help: 'Interface to bind. 0.0.0.0 or :: listens on every interface (then set --api-key).' },
  { name: 'port', aliases: [], type: 'integer', value: 'PORT', group: 'Server', default: String(CLI_DEFAULTS.port), help: 'TCP port to listen on (0 picks a free one).' },
  { name: 'allowed-origins', aliases: ['allowedOrigins'], type: 'list', value: 'LIST', group: 'Server', option: 'allowedOrigins', help: 'Origins allowed to call (Origin header), comma-separated: scheme://host (any port) or scheme://host:port; * allows any. Default: loopback origins when bound to loopback, else none.' },
  { name: 'allowed-hosts', aliases: ['allowedHosts'], type: 'list', value: 'LIST', group: 'Server', option: 'allowedHosts', help: 'Host header values accepted, comma-separated: name (any port) or name:port; * allows any. Default: loopback names when bound to loopback, else any.' },
  { name: 'ssl-cert', aliases: ['sslCert'], type: 'string', value: 'FILE', group: 'Server', help: 'PEM certificate: serve HTTPS (needs --ssl-key).' },
  { name: 'ssl-key', aliases: ['sslKey'], type: 'string', value: 'FILE', group: 'Server', help: 'PEM private key of --ssl-cert.' },
  { name: 'ssl-ca', aliases: ['sslCa'], type: 'string', value: 'FILE', group: 'Server', help: 'PEM CA bundle sent with the certificate chain.' },
  { name: 'keep-alive-timeout', aliases: ['keepAliveTimeout'], type: 'integer', value: 'MS', group: 'Server', default: String(CLI_DEFAULTS.keepAliveTimeout), help: 'Idle time before a keep-alive HTTP connection is closed (Node\'s 5 s cut sessions of the original).' },
  { name: 'graceful-shutdown-timeout', aliases: ['gracefulShutdownTimeout'], type: 'integer', value: 'MS', group: 'Server', default: 'stop-grace × 3 + 3000', help: 'Once shutting down (SIGINT, SIGHUP, or SIGTERM after the drain), exit 1 if closing takes longer than this.' },
  { name: 'instance-id', aliases: ['instanceId', 'session-id-prefix', 'sessionIdPrefix'], type: 'string', value: 'ID', group: 'Server', option: 'instanceId', help: 'This instance\'s tag for load balancers ([A-Za-z0-9_-], at most 32): session ids become ID.<uuid>, answers carry Mcp-Proxy-Instance: ID, /ready reports it, 2026 request states are sealed with it.' },
  { name: 'drain-timeout', aliases: ['drainTimeout'], type: 'integer', value: 'MS', group: 'Server', option: 'drainTimeout', help: 'On SIGTERM (or POST /drain) the proxy drains: /ready turns 503, new sessions get 503 + Retry-After, open sessions and requests go on until they end or this long; then it shuts down. 0: no drain. A second SIGTERM exits at once.' },
  { name: 'admin-token', aliases: ['adminToken'], type: 'string', value: 'TOKEN', group: 'Server', option: 'adminToken', help: 'Enable POST /drain, authorised by "Authorization: Bearer TOKEN" (its own secret: the API key does not open it). Never logged, never passed to the child.' },
  { name: 'exit-on-stdin-close', aliases: ['exitOnStdinClose'], type: 'boolean', group: 'Server', default: 'false', help: 'Shut down when the proxy\'s own stdin ends (run as a child of another program). Otherwise stdin is ignored.' },

  // Several servers
  { name: 'config', aliases: [], type: 'string', value: 'FILE', group: 'Several servers', help: 'Serve every stdio server of a config file people already have: Claude Desktop, Cursor or Claude Code ({"mcpServers": …}) or VS Code ({"servers": …}, JSON with comments). Each is served at /servers/<name>/mcp and /servers/<name>/sse; GET /servers lists them; SIGHUP reads the file again. The flags are defaults; an entry\'s "x-mcp-proxy" object overrides them for that server. Not with a command.' },
  { name: 'ready-requires-all', aliases: [], type: 'boolean', group: 'Several servers', default: 'false', help: 'With --config: /ready is 200 only while every server can take sessions (by default, while at least one can).' },

  // Authorization
  { name: 'api-key', aliases: ['apiKey'], type: 'repeat', value: 'KEY', group: 'Authorization', option: 'apiKey', help: 'Require a key on every request but /ping, /ready, the OAuth metadata and CORS preflights: "X-API-Key: KEY" or "Authorization: Bearer KEY". Repeatable: each key is its own principal (a session opened with one is not reachable with another). Without one a client gets 403 naming the header (not 401, which makes MCP clients start an OAuth login). Never passed to the child.' },
  { name: 'oauth-issuer', aliases: [], type: 'string', value: 'URL', group: 'Authorization', oauth: 'issuer', help: 'Be an OAuth 2.1 resource server: accept access tokens from this authorization server (https:, or http: on loopback), its metadata read from the RFC 8414 / OpenID well-known address. Serves /.well-known/oauth-protected-resource; a request without a valid token gets 401 with WWW-Authenticate naming it. Combines with --api-key.' },
  { name: 'resource-url', aliases: [], type: 'string', value: 'URL', group: 'Authorization', oauth: 'resourceUrl', default: 'from the Host header (loopback or --allowed-hosts only)', help: 'The canonical URL of the /mcp endpoint as clients reach it (https://mcp.example.com/mcp): the protected resource metadata\'s resource, and the audience tokens must name. Needed when any Host is allowed. With --config: the proxy\'s public base URL (https://mcp.example.com), each server being the resource <base>/servers/<name>/mcp.' },
  { name: 'oauth-audience', aliases: [], type: 'string', value: 'AUD', group: 'Authorization', oauth: 'audience', default: 'the resource URL', help: 'The audience (aud) tokens must name, when the authorization server uses an API identifier instead of the resource URL.' },
  { name: 'oauth-jwks-url', aliases: [], type: 'string', value: 'URL', group: 'Authorization', oauth: 'jwksUrl', default: 'jwks_uri of the issuer\'s metadata', help: 'The issuer\'s JSON Web Key Set, for JWT access tokens (cached; fetched again when a token names an unknown key).' },
  { name: 'oauth-introspection-url', aliases: [], type: 'string', value: 'URL', group: 'Authorization', oauth: 'introspectionUrl', default: 'introspection_endpoint of the issuer\'s metadata', help: 'RFC 7662 introspection for opaque tokens, as --oauth-client-id (answers cached until the token expires, at most 60 s).' },
  { name: 'oauth-client-id', aliases: [], type: 'string', value: 'ID', group: 'Authorization', oauth: 'clientId', help: 'The proxy\'s client at the authorization server, for introspection (turns introspection on).' },
  { name: 'oauth-client-secret', aliases: [], type: 'string', value: 'SECRET', group: 'Authorization', oauth: 'clientSecret', help: 'Its secret (prefer MCP_PROXY_OAUTH_CLIENT_SECRET to the command line). Never logged, never passed to the child.' },
  { name: 'oauth-scopes', aliases: [], type: 'list', value: 'LIST', group: 'Authorization', oauth: 'scopes', help: 'Scopes every token must carry, comma-separated (403 insufficient_scope names them otherwise); advertised in the metadata and the challenge.' },
  { name: 'oauth-algorithms', aliases: [], type: 'list', value: 'LIST', group: 'Authorization', oauth: 'algorithms', default: 'RS256,RS384,RS512,PS256,PS384,PS512,ES256,ES384,ES512,EdDSA', help: 'JWS algorithms accepted, comma-separated: asymmetric ones only (never none, never HMAC).' },
  { name: 'oauth-clock-tolerance', aliases: [], type: 'integer', value: 'SECONDS', group: 'Authorization', oauth: 'clockTolerance', default: '30', help: 'Leeway on a token\'s exp and nbf.' },
  { name: 'child-env-from-claim', aliases: [], type: 'repeat', value: 'NAME=CLAIM', group: 'Authorization', option: 'childEnvFromClaims', help: 'Put a claim of the session\'s user into its child\'s environment (MCP_USER=sub, MCP_USER_EMAIL=email; repeatable). Such sessions spawn their own child on initialize (no warm child); never the token. Needs --api-key or --oauth-issuer; not with --stateless; turns the 2026-07-28 leg off (its children are shared between users; --modern is refused).' },

  // The child
  { name: 'command', aliases: [], type: 'string', value: 'COMMAND', group: 'MCP server (the child)', help: 'The MCP server to run, split on spaces like the original port (--command "npx -y pkg"). Or give it after --.' },
  { name: 'args', aliases: [], type: 'list', value: 'LIST', group: 'MCP server (the child)', option: 'args', help: 'Comma-separated arguments, appended to --command.' },
  { name: 'cwd', aliases: [], type: 'string', value: 'DIR', group: 'MCP server (the child)', option: 'cwd', help: 'Working directory of the child. Default: the proxy\'s.' },
  { name: 'env', aliases: [], type: 'list', value: 'K=V,…', group: 'MCP server (the child)', option: 'env', help: 'Comma-separated KEY=VALUE entries added to the child\'s environment (repeatable).' },
  { name: 'inherit-env', aliases: ['inheritEnv'], type: 'boolean', group: 'MCP server (the child)', option: 'inheritEnv', help: 'Pass the proxy\'s environment to the child, minus MCP_PROXY_* and the API key (--no-inherit-env: only --env).' },
  { name: 'shell', aliases: [], type: 'boolean', group: 'MCP server (the child)', option: 'shell', help: 'Spawn through the system shell (npx.cmd on Windows).' },
  { name: 'child-mode', aliases: ['childMode'], type: 'choice', choices: ['per-session', 'shared'], value: 'per-session|shared', group: 'MCP server (the child)', option: 'childMode', help: 'per-session: each 2025-era session gets its own child (its own identity, capabilities, sampling and roots). shared: a few pre-initialized children serve every session (for servers that keep no per-client state): the proxy answers initialize, keeps each session\'s log level and subscriptions, and a call that may ask its client (sampling, elicitation) holds a child alone so the ask reaches that session only. Not with --stateless.' },
  { name: 'shared-children', aliases: ['sharedChildren'], type: 'integer', value: 'N', group: 'MCP server (the child)', option: 'sharedChildren', help: 'Most children of --child-mode shared and of --stateless: one starts before listening, more while calls that may ask their client each hold one alone (stopped after 30 s idle); further such calls wait.' },
  { name: 'shared-asks', aliases: ['sharedAsks'], type: 'choice', choices: ['route', 'refuse'], value: 'route|refuse', group: 'MCP server (the child)', option: 'sharedAsks', help: 'What the shared children of --child-mode shared and --stateless may ask a client mid-call. route: a call that may ask (sampling, elicitation) holds a child alone, so the question reaches that client only. refuse, for servers that never ask: every call shares the children (no call waits for a child of its own) and such a question gets an error.' },
  { name: 'warm-children', aliases: ['warmChildren'], type: 'integer', value: 'N', group: 'MCP server (the child)', option: 'warmChildren', help: 'Children started ahead of time for new sessions (0: start on initialize).' },
  { name: 'roots', aliases: [], type: 'string', value: 'forward|deny|fixed:URI,…', group: 'MCP server (the child)', option: 'roots', default: 'forward when bound to loopback, else deny', help: 'What the child learns about the client\'s roots (directories on the client\'s machine, which some servers adopt as their allowed directories): forward them, deny (the child is told the client has none), or fixed: these URIs, answered by the proxy (fixed:file:///data,file:///srv).' },
  { name: 'allowed-tools', aliases: ['allowedTools'], type: 'list', value: 'LIST', group: 'MCP server (the child)', option: 'allowedTools', help: 'Only these tools are shown and callable, comma-separated glob patterns (read_*,list_?): the others are left out of tools/list and a call gets -32602 "Unknown tool" before the server sees it. Both eras. Default: every tool.' },
  { name: 'denied-tools', aliases: ['deniedTools'], type: 'list', value: 'LIST', group: 'MCP server (the child)', option: 'deniedTools', help: 'These tools (glob patterns) are hidden the same way; wins over --allowed-tools.' },
  { name: 'stop-grace', aliases: ['stopGrace'], type: 'integer', value: 'MS', group: 'MCP server (the child)', option: 'stopGrace', help: 'Each step of stopping a child: stdin end, then SIGTERM, then SIGKILL.' },

  // Transports
  { name: 'stateless', aliases: [], type: 'boolean', group: 'Transports', option: 'stateless', help: 'No sessions: shared children (see --shared-children), POST only (GET gets 405), no legacy SSE.' },
  { name: 'server', aliases: [], type: 'choice', choices: ['sse', 'stream'], value: 'sse|stream', group: 'Transports', default: 'both', help: 'Serve only one transport: sse (/sse + /messages) or stream (/mcp).' },
  { name: 'endpoint', aliases: [], type: 'string', value: 'PATH', group: 'Transports', help: 'Path of the one transport chosen by --server.' },
  { name: 'stream-endpoint', aliases: ['streamEndpoint'], type: 'string', value: 'PATH', group: 'Transports', option: 'streamEndpoint', help: 'Path of the Streamable HTTP endpoint.' },
  { name: 'sse-endpoint', aliases: ['sseEndpoint'], type: 'string', value: 'PATH', group: 'Transports', option: 'sseEndpoint', help: 'Path of the legacy HTTP+SSE stream.' },
  { name: 'messages-endpoint', aliases: ['messagesEndpoint'], type: 'string', value: 'PATH', group: 'Transports', option: 'messagesEndpoint', help: 'Path where legacy SSE clients POST their messages.' },
  { name: 'json-response', aliases: ['jsonResponse', 'enableJsonResponse'], type: 'boolean', group: 'Transports', option: 'jsonResponse', help: 'Answer POSTed requests with one application/json body instead of an SSE stream.' },
  { name: 'event-store', aliases: ['eventStore'], type: 'boolean', group: 'Transports', default: 'true', help: 'Keep events for Last-Event-ID replay (--no-event-store: same as --event-store-max-events 0).' },
  { name: 'event-store-max-events', aliases: ['eventStoreMaxEvents'], type: 'integer', value: 'N', group: 'Transports', option: 'eventStoreMaxEvents', help: 'Events kept per session for replay; 0 disables resumability.' },
  { name: 'event-store-max-bytes', aliases: ['eventStoreMaxBytes'], type: 'integer', value: 'BYTES', group: 'Transports', option: 'eventStoreMaxBytes', help: 'Bytes of events kept per session.' },
  { name: 'keep-alive-interval', aliases: ['keepAliveInterval'], type: 'integer', value: 'MS', group: 'Transports', option: 'keepAliveInterval', help: 'SSE comment sent on idle open streams; 0: none.' },
  { name: 'retry-interval', aliases: ['retryInterval'], type: 'integer', value: 'MS', group: 'Transports', option: 'retryInterval', help: 'The SSE retry hint given to clients.' },

  // MCP 2026-07-28
  { name: 'modern', aliases: [], type: 'boolean', group: 'MCP 2026-07-28', option: 'modern', help: 'Serve MCP 2026-07-28 on the stream endpoint next to 2025 sessions: requests with that revision\'s _meta envelope go to one child the proxy initialized itself (--no-modern: such requests get 400 and clients fall back to initialize).' },
  { name: 'upstream-protocol', aliases: ['upstreamProtocol'], type: 'choice', choices: ['legacy', 'auto', 'modern'], value: 'legacy|auto|modern', group: 'MCP 2026-07-28', option: 'upstreamProtocol', help: 'The era of the MCP server: legacy (2025, answers translated), modern (2026-07-28, passed through), or auto (asked once with server/discover on a throwaway copy).' },
  { name: 'modern-cache-ttl', aliases: ['modernCacheTtl'], type: 'integer', value: 'MS', group: 'MCP 2026-07-28', option: 'modernCacheTtl', help: 'ttlMs claimed on 2026 results (lists, resources/read, discover) whose server gave no valid cache hint.' },
  { name: 'modern-cache-scope', aliases: ['modernCacheScope'], type: 'choice', choices: ['public', 'private'], value: 'public|private', group: 'MCP 2026-07-28', option: 'modernCacheScope', help: 'cacheScope claimed on those results.' },
  { name: 'modern-interactive', aliases: ['modernInteractive'], type: 'choice', choices: ['translate', 'off'], value: 'translate|off', group: 'MCP 2026-07-28', option: 'modernInteractive', help: 'translate: a 2026 tools/call, prompts/get or resources/read holds a child alone, and what the server asks mid-call (sampling, elicitation, roots) becomes input_required for the client; off: one child, no such translation.' },
  { name: 'modern-max-children', aliases: ['modernMaxChildren'], type: 'integer', value: 'N', group: 'MCP 2026-07-28', option: 'modernMaxChildren', help: 'Children serving interactive 2026 calls at once (started on demand, stopped when idle); more calls wait in a bounded queue.' },
  { name: 'modern-input-ttl', aliases: ['modernInputTtl'], type: 'integer', value: 'MS', group: 'MCP 2026-07-28', option: 'modernInputTtl', help: 'How long a call waiting for the client\'s input (input_required) stays parked; then the server gets a cancel answer.' },
  { name: 'modern-max-parked', aliases: ['modernMaxParked'], type: 'integer', value: 'N', group: 'MCP 2026-07-28', option: 'modernMaxParked', help: 'Calls waiting for input at most; past that the one parked longest is given up.' },
  { name: 'request-state-key', aliases: ['requestStateKey'], type: 'string', value: 'KEY', group: 'MCP 2026-07-28', option: 'requestStateKey', default: 'random per process', help: 'Key (32+ characters) sealing the requestState of input_required results; give every instance behind one balancer the same. Never logged, never passed to the child.' },
  { name: 'max-listen-streams', aliases: ['maxListenStreams'], type: 'integer', value: 'N', group: 'MCP 2026-07-28', option: 'maxListenStreams', help: 'subscriptions/listen streams open at once; past that a listen gets an in-band error.' },

  // Limits and timeouts
  { name: 'max-body-size', aliases: ['maxBodySize'], type: 'integer', value: 'BYTES', group: 'Limits and timeouts', option: 'maxBodySize', help: 'Largest request body; larger gets 413 before it is read.' },
  { name: 'body-timeout', aliases: ['bodyTimeout'], type: 'integer', value: 'MS', group: 'Limits and timeouts', option: 'bodyTimeout', help: 'A request body not fully received this long after its head gets 408 and the connection is closed; 0: no limit.' },
  { name: 'max-sessions', aliases: ['maxSessions'], type: 'integer', value: 'N', group: 'Limits and timeouts', option: 'maxSessions', help: 'Sessions (so children, per session) at once; 4096 with --child-mode shared, where a session holds no process. At the cap the session idle longest is closed to make room; if none is idle, a new one gets 503.' },
  { name: 'session-idle-timeout', aliases: ['sessionIdleTimeout'], type: 'integer', value: 'MS', group: 'Limits and timeouts', option: 'sessionIdleTimeout', help: 'Close a session idle this long with no open stream; 0: never.' },
  { name: 'request-timeout', aliases: ['requestTimeout'], type: 'integer', value: 'MS', group: 'Limits and timeouts', option: 'requestTimeout', help: 'A request with no answer and no progress this long fails (and is cancelled).' },
  { name: 'max-request-timeout', aliases: ['maxRequestTimeout'], type: 'integer', value: 'MS', group: 'Limits and timeouts', option: 'maxRequestTimeout', help: 'Progress resets --request-timeout, but never past this total.' },
  { name: 'initialize-timeout', aliases: ['initializeTimeout', 'connection-timeout', 'connectionTimeout'], type: 'integer', value: 'MS', group: 'Limits and timeouts', option: 'initializeTimeout', help: 'How long a child may take to answer initialize.' },
  { name: 'max-line-length', aliases: ['maxLineLength'], type: 'integer', value: 'CHARS', group: 'Limits and timeouts', option: 'maxLineLength', help: 'Longest stdout line of the child; longer lines are dropped.' },
  { name: 'max-queued-bytes', aliases: ['maxQueuedBytes'], type: 'integer', value: 'BYTES', group: 'Limits and timeouts', option: 'maxQueuedBytes', help: 'Bytes queued for a slow SSE client before its connection is closed (events stay replayable).' },

  // Logging
  { name: 'verbose', aliases: ['debug'], type: 'boolean', group: 'Logging', default: 'false', help: 'Debug logging: every request and message (never bodies or secrets).' },
  { name: 'quiet', aliases: [], type: 'boolean', group: 'Logging', default: 'false', help: 'Log errors only.' },
  { name: 'audit-log', aliases: ['auditLog'], type: 'string', value: 'FILE|-', group: 'Logging', option: 'auditLog', help: 'Append one JSON line per finished request to FILE (created with mode 0600), or write them to stdout with -: time, session, principal, method, tool or resource, JSON-RPC id, duration, outcome, bytes. Never bodies, arguments or secrets. A slow destination loses lines (counted in a warning), never slows a request.' },
  { name: 'otel', aliases: [], type: 'boolean', group: 'Logging', default: 'on when OTEL_EXPORTER_OTLP_ENDPOINT is set', help: 'Send traces over OTLP/HTTP (JSON): a span per MCP request (its context passed to the child in _meta.traceparent) and per child process. Configured by the standard OTEL_* variables: OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318), OTEL_EXPORTER_OTLP_HEADERS, OTEL_SERVICE_NAME (default mcp-proxy), OTEL_TRACES_SAMPLER. --no-otel or OTEL_SDK_DISABLED=true turns it off.' },
  { name: 'metrics', aliases: [], type: 'boolean', group: 'Logging', option: 'metrics', help: 'Serve Prometheus metrics at /metrics, behind --api-key unless --metrics-public: request durations by method, tool and error type (the OpenTelemetry MCP histogram), sessions, SSE streams, requests in flight, children (spawned, running, exits by reason, restarts, spawn failures), refusals by reason, bytes, dropped events, process and Node.js metrics.' },
  { name: 'metrics-public', aliases: [], type: 'boolean', group: 'Logging', option: 'metricsPublic', default: 'false', help: 'Serve /metrics without the API key (like /ping). Needs --metrics.' },
  { name: 'metrics-port', aliases: [], type: 'integer', value: 'PORT', group: 'Logging', help: 'Serve /metrics on a listener of its own at 127.0.0.1:PORT (no API key; only loopback Host names), and not on the main port. Turns --metrics on.' },
  { name: 'metrics-tool-names', aliases: [], type: 'boolean', group: 'Logging', option: 'metricsToolNames', default: 'true', help: 'Label tools/call durations with the tool name (the first 100 names; later ones are "other"). --no-metrics-tool-names leaves tool names out.' },
  { name: 'log-format', aliases: ['logFormat'], type: 'choice', choices: ['pretty', 'json'], value: 'pretty|json', group: 'Logging', default: 'pretty on a terminal, else json', help: 'Log lines on stderr: readable, or one JSON object per line.' },

  // Information
  { name: 'help', aliases: ['h'], type: 'boolean', group: 'Information', env: false, help: 'Show this help and exit.' },
  { name: 'version', aliases: ['v'], type: 'boolean', group: 'Information', env: false, help: 'Show version, git commit and Node version, and exit.' },
]

/**
 * Flags of punkpeye's mcp-proxy whose feature this proxy does not have: named in the error, so a
 * copied command line fails with a reason instead of "unknown flag".
 */
export const UNSUPPORTED_FLAGS: Readonly<Record<string, string>> = {
  tunnel: 'public tunnels are not built in; put a tunnel (or a reverse proxy) in front of the proxy',
  tunnelSubdomain: 'public tunnels are not built in',
  corsAddAllowedHeader: 'CORS allows the MCP headers, X-API-Key and Authorization already; use --allowed-origins for origins',
}

/** `api-key` → `API_KEY`, `sseEndpoint` → `SSE_ENDPOINT`. */
export function upperSnake(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/-/g, '_')
    .toUpperCase()
}

/** Environment variables a flag is read from: `MCP_PROXY_` + each of its names in upper snake case. */
export function envNames(flag: Flag): string[] {
  if (flag.env === false) return []
  const names = [flag.name, ...flag.aliases].filter((n) => n.length > 1).map((n) => `MCP_PROXY_${upperSnake(n)}`)
  return [...new Set(names)]
}

/** Flags by every name they answer to (`--name`, `--alias`). */
export const FLAG_INDEX: ReadonlyMap<string, Flag> = new Map(FLAGS.flatMap((flag) => [flag.name, ...flag.aliases].map((n) => [n, flag] as const)))
