/** How a flag's text becomes a value. */
export type FlagType = 'string' | 'integer' | 'boolean' | 'list'

/** One command-line flag: its names, its environment variable, and what it means. */
export interface Flag {
  /** The kebab-case name (`--api-key`). */
  name: string
  /** Other accepted spellings: the original mcp-proxy's camelCase names, short forms. */
  aliases: string[]
  type: FlagType
  /** Shown in `--help` and the README. */
  help: string
  /** Shown in `--help`; the value itself comes from the plugin's defaults unless said here. */
  default?: string
  /** Restricts a string flag to these values. */
  choices?: string[]
}

const flag = (name: string, type: FlagType, help: string, extra: Partial<Flag> = {}): Flag => ({ name, aliases: [], type, help, ...extra })

/** Every flag the CLI takes. Each is also read from `MCP_PROXY_<NAME>` (upper snake case); a flag wins. */
export const FLAGS: readonly Flag[] = [
  flag('host', 'string', 'Interface to bind. Binding a non-loopback address without --api-key prints a warning.', { default: '127.0.0.1' }),
  flag('port', 'integer', 'Port to listen on (0 picks a free port).', { default: '3000' }),
  flag('command', 'string', 'The stdio MCP server to spawn (or give it after `--`).'),
  flag('args', 'list', 'Comma-separated arguments of --command.'),
  flag('cwd', 'string', "Working directory of the MCP server (default: the proxy's)."),
  flag('env', 'list', 'Comma-separated KEY=VALUE entries added to the MCP server\'s environment.'),
  flag('shell', 'boolean', 'Spawn the command through the system shell (needed for npx.cmd on Windows).'),
  flag('stateless', 'boolean', 'No sessions: one shared MCP server initialized once; GET and DELETE answer 405.'),
  flag('api-key', 'string', 'Require this key as X-API-Key or Authorization: Bearer (not on /ping, /ready, CORS preflights).', { aliases: ['apiKey'] }),
  flag('server', 'string', 'Serve only one transport: sse (legacy /sse) or stream (Streamable HTTP /mcp).', { choices: ['sse', 'stream'] }),
  flag('stream-endpoint', 'string', 'Path of the Streamable HTTP endpoint.', { aliases: ['streamEndpoint'], default: '/mcp' }),
  flag('sse-endpoint', 'string', 'Path of the legacy HTTP+SSE endpoint.', { aliases: ['sseEndpoint'], default: '/sse' }),
  flag('messages-endpoint', 'string', 'Path legacy SSE clients POST their messages to.', { aliases: ['messagesEndpoint'], default: '/messages' }),
  flag('allowed-origins', 'list', 'Origins allowed (scheme://host or scheme://host:port; * for any).', { default: 'loopback origins when bound to loopback, else none' }),
  flag('allowed-hosts', 'list', 'Host header values allowed (name or name:port; * for any).', { default: 'loopback names when bound to loopback, else any' }),
  flag('json-response', 'boolean', 'Answer request POSTs with application/json instead of an SSE stream.'),
  flag('max-body-size', 'integer', 'Largest request body in bytes (413 above).', { aliases: ['maxBodySize'], default: '4194304' }),
  flag('max-sessions', 'integer', 'Most sessions (and so children) at once; one more gets 503.', { default: '1000' }),
  flag('session-idle-timeout', 'integer', 'Close a session idle this many ms with no open stream (0 = never).', { aliases: ['sessionIdleTimeout'], default: '1800000' }),
  flag('event-store-max-events', 'integer', 'Events kept per session for Last-Event-ID replay (0 disables resumability).', { aliases: ['eventStoreMaxEvents'], default: '1000' }),
  flag('event-store-max-bytes', 'integer', 'Bytes of events kept per session.', { default: '8388608' }),
  flag('max-queued-bytes', 'integer', 'Bytes that may queue for a slow SSE client before its connection is closed.', { default: '8388608' }),
  flag('max-line-length', 'integer', 'Longest line the MCP server may write, in characters (longer lines are dropped).', { default: '33554432' }),
  flag('request-timeout', 'integer', 'A request with no answer and no progress for this many ms fails and is cancelled.', { aliases: ['requestTimeout'], default: '300000' }),
  flag('max-request-timeout', 'integer', 'Progress resets --request-timeout, but never past this many ms.', { default: '3600000' }),
  flag('initialize-timeout', 'integer', 'How long the MCP server may take to answer initialize, in ms.', { default: '60000' }),
  flag('stop-grace', 'integer', 'Grace of each step of the stop ladder (stdin end, SIGTERM, SIGKILL), in ms.', { default: '2000' }),
  flag('warm-children', 'integer', 'MCP servers spawned ahead of time for new sessions.', { default: '1' }),
  flag('keep-alive-interval', 'integer', 'Interval of SSE keep-alive comments, in ms (0 = none).', { default: '15000' }),
  flag('keep-alive-timeout', 'integer', 'HTTP keep-alive timeout of idle connections, in ms.', { aliases: ['keepAliveTimeout'], default: '300000' }),
  flag('session-id-prefix', 'string', 'Prefix of every session id (an instance tag for load balancers).'),
  flag('ssl-cert', 'string', 'PEM certificate file: serve HTTPS.', { aliases: ['sslCert'] }),
  flag('ssl-key', 'string', 'PEM private key file for --ssl-cert.', { aliases: ['sslKey'] }),
  flag('ssl-ca', 'string', 'PEM CA bundle file for --ssl-cert.', { aliases: ['sslCa'] }),
  flag('exit-on-stdin-close', 'boolean', 'Exit when the proxy\'s own stdin closes (for supervisors that rely on it).'),
  flag('log-format', 'string', 'Log format on stderr.', { choices: ['pretty', 'json'], default: 'pretty on a terminal, else json' }),
  flag('verbose', 'boolean', 'Debug logging: one line per message (never bodies or secrets).', { aliases: ['debug'] }),
  flag('quiet', 'boolean', 'Log errors only.'),
  flag('help', 'boolean', 'Show this help.', { aliases: ['h'] }),
  flag('version', 'boolean', 'Show version, git commit and Node version.', { aliases: ['v'] }),
]

/** The environment variable of a flag: `MCP_PROXY_` and the name in upper snake case. */
export function envName(flag: Flag): string {
  return 'MCP_PROXY_' + flag.name.replace(/-/g, '_').toUpperCase()
}
