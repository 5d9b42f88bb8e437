import { FST_MCP_PROXY_INVALID_OPTIONS, resolveOptions, type McpProxyOptions, type ResolvedOptions } from '@proxy/fastify-plugin'
import { CLI_DEFAULTS, envNames, FLAG_INDEX, FLAGS, UNSUPPORTED_FLAGS, type Flag } from './flags.js'

/** A mistake in the command line or the environment: one line for the user, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

/** Everything the CLI needs to run, resolved once from argv and the environment. */
export interface RunConfig {
  /** Address to listen on. */
  host: string
  port: number
  /** Options for the plugin: only what a flag or variable set (the plugin fills in its defaults). */
  plugin: McpProxyOptions
  /** The same options as the plugin will see them, defaults filled in (endpoints, stop grace…). */
  resolved: ResolvedOptions
  /** PEM file paths; set = serve HTTPS. */
  tls: { cert: string; key: string; ca?: string } | undefined
  keepAliveTimeout: number
  /** After SIGINT/SIGTERM, exit 1 if closing has not finished by then. */
  shutdownTimeout: number
  logLevel: 'debug' | 'info' | 'error'
  /** undefined = pretty on a terminal, else json (decided where the terminal is known). */
  logFormat: 'pretty' | 'json' | undefined
  exitOnStdinClose: boolean
  /** `--metrics-port`: serve the plugin's metrics on 127.0.0.1 at this port (0: a free one) instead of the main port. */
  metricsPort: number | undefined
  /** Trace over OTLP/HTTP: `--otel`, or an OTLP endpoint in the environment (the plugin gets `tracing: true`). */
  otel: boolean
  /** `--config FILE`: serve every server of that file; `plugin` then holds the defaults of each. */
  configFile: string | undefined
  /** With --config: /ready needs every server, not one. */
  readyRequiresAll: boolean
}

export type ParseResult =
  | { action: 'help' }
  | { action: 'version' }
  | { action: 'run'; config: RunConfig; warnings: string[] }

type Value = string | number | boolean | string[]

/** A value and where it came from (`--port`, `MCP_PROXY_PORT`), for error messages. */
interface Given {
  value: Value
  source: string
}

function convert(flag: Flag, raw: string, source: string): Value {
  switch (flag.type) {
    case 'boolean': {
      const lower = raw.trim().toLowerCase()
      if (['1', 'true', 'yes', 'on'].includes(lower)) return true
      if (['0', 'false', 'no', 'off'].includes(lower)) return false
      throw new UsageError(`${source} takes true or false, not '${raw}'`)
    }
    case 'integer': {
      const text = raw.trim()
      const value = Number(text)
      if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) throw new UsageError(`${source} takes a whole number, not '${raw}'`)
      return value
    }
    case 'list':
      return raw
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '')
    case 'choice':
      if (!flag.choices!.includes(raw)) throw new UsageError(`${source} takes ${flag.choices!.join(' or ')}, not '${raw}'`)
      return raw
    case 'string':
    case 'repeat':
      return raw
  }
}

function display(name: string): string {
  return name.length === 1 ? `-${name}` : `--${name}`
}

/**
 * Read argv (without `node cli.js`): flags until `--` or the first word that is not a flag; what follows
 * is the command and its arguments, passed through untouched. A repeated list flag adds to the list.
 */
function readArgv(argv: readonly string[]): { given: Map<Flag, Given>; command: string[] | undefined } {
  const given = new Map<Flag, Given>()
  // `pnpm start -- --port 3000 -- cmd` passes its own `--` through: a `--` first with a flag (or another
  // `--`) after it is that one, not the start of the command (no command starts with a dash).
  const start = argv[0] === '--' && argv[1]?.startsWith('-') ? 1 : 0
  for (let i = start; i < argv.length; i++) {
    const token = argv[i]!
    if (token === '--') return { given, command: argv.slice(i + 1) }
    if (!token.startsWith('-') || token === '-') return { given, command: argv.slice(i) }
    // `--name`, `--name=value`, and (like Go's flag package, used by the original port) `-name`.
    const body = token.replace(/^--?/, '')
    const eq = body.indexOf('=')
    let name = eq === -1 ? body : body.slice(0, eq)
    let negated = false
    if (!FLAG_INDEX.has(name) && name.startsWith('no-') && FLAG_INDEX.get(name.slice(3))?.type === 'boolean') {
      name = name.slice(3)
      negated = true
    }
    const flag = FLAG_INDEX.get(name)
    if (!flag) {
      const unsupported = UNSUPPORTED_FLAGS[name]
      if (unsupported) throw new UsageError(`${display(name)} is not supported by this proxy: ${unsupported}`)
      throw new UsageError(`unknown flag ${token.split('=')[0]} (see mcp-proxy --help)`)
    }
    const source = display(name)
    let raw: string
    if (flag.type === 'boolean') {
      if (negated && eq !== -1) throw new UsageError(`${token.split('=')[0]} takes no value`)
      raw = eq !== -1 ? body.slice(eq + 1) : negated ? 'false' : 'true'
    } else if (eq !== -1) {
      raw = body.slice(eq + 1)
    } else {
      const next = argv[i + 1]
      if (next === undefined || next === '--' || (next.startsWith('--') && FLAG_INDEX.has(next.slice(2).split('=')[0]!))) {
        throw new UsageError(`${source} needs a value`)
      }
      raw = next
      i++
    }
    const value = convert(flag, raw, source)
    const before = given.get(flag)
    if (before && flag.type === 'list') given.set(flag, { value: [...(before.value as string[]), ...(value as string[])], source })
    else if (flag.type === 'repeat') given.set(flag, { value: [...((before?.value as string[] | undefined) ?? []), value as string], source })
    else if (before) throw new UsageError(`${source} is given twice`)
    else given.set(flag, { value, source })
  }
  return { given, command: undefined }
}

const ENV_INDEX: ReadonlyMap<string, Flag> = new Map(FLAGS.flatMap((flag) => envNames(flag).map((name) => [name, flag] as const)))

/** `MCP_PROXY_*` variables for flags not given on the command line; unknown ones become warnings. */
function readEnv(env: NodeJS.ProcessEnv, given: Map<Flag, Given>, warnings: string[]): void {
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('MCP_PROXY_') || raw === undefined || raw === '') continue
    const flag = ENV_INDEX.get(name)
    if (!flag) {
      warnings.push(`${name} is not a setting of mcp-proxy; ignored (see mcp-proxy --help)`)
      continue
    }
    if (given.has(flag)) continue // the command line wins (and of two names of one variable, the first)
    const value = convert(flag, raw, name)
    given.set(flag, { value: flag.type === 'repeat' ? [value as string] : value, source: name })
  }
}

function parseEnvEntries(entries: string[], source: string, shape = 'KEY=VALUE'): Record<string, string> {
  const env: Record<string, string> = {}
  for (const entry of entries) {
    const eq = entry.indexOf('=')
    if (eq < 1) throw new UsageError(`${source} takes ${shape} entries, not '${entry}'`)
    env[entry.slice(0, eq)] = entry.slice(eq + 1)
  }
  return env
}

/** The command and its arguments, from `-- <command> [args…]`, a bare `<command> [args…]`, or --command/--args. */
function resolveCommand(positional: string[] | undefined, given: Map<Flag, Given>): { command: string; args: string[] } {
  const commandFlag = given.get(FLAG_INDEX.get('command')!)
  const argsFlag = given.get(FLAG_INDEX.get('args')!)
  if (positional !== undefined) {
    // Words on the command line win over MCP_PROXY_COMMAND/ARGS, but not over --command/--args beside them.
    if (commandFlag?.source.startsWith('-')) throw new UsageError('give the command either with --command or after --, not both')
    if (argsFlag?.source.startsWith('-')) throw new UsageError('give the arguments either with --args or after the command, not both')
    const [command, ...args] = positional
    if (command === undefined || command === '') throw new UsageError('no command after --: mcp-proxy [options] -- <command> [args…]')
    return { command, args }
  }
  if (commandFlag === undefined) throw new UsageError('no MCP server command: mcp-proxy [options] -- <command> [args…]')
  // Like the original port: `--command "npx -y pkg"` is split on whitespace, and --args are appended.
  const [command, ...words] = String(commandFlag.value).trim().split(/\s+/)
  if (!command) throw new UsageError(`${commandFlag.source} is empty`)
  return { command, args: [...words, ...((argsFlag?.value as string[] | undefined) ?? [])] }
}

/** `--roots forward|deny|fixed:<uri,…>` as the plugin's option (each URI is checked by the plugin). */
function parseRoots(raw: string, source: string): NonNullable<McpProxyOptions['roots']> {
  const value = raw.trim()
  if (value === 'forward' || value === 'deny') return value
  if (value.startsWith('fixed:')) {
    const fixed = value
      .slice('fixed:'.length)
      .split(',')
      .map((uri) => uri.trim())
      .filter((uri) => uri !== '')
    if (fixed.length === 0) throw new UsageError(`${source} fixed: needs at least one URI (fixed:file:///data,file:///srv)`)
    return { fixed }
  }
  throw new UsageError(`${source} takes forward, deny or fixed:<uri,…>, not '${raw}'`)
}

/**
 * `--otel` (or `--no-otel`) decides; without it, an OTLP endpoint in the environment turns tracing on, as
 * it does for an SDK set up by the standard variables. OTEL_SDK_DISABLED=true, the standard off switch, wins.
 */
function otelEnabled(flag: boolean | undefined, env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false
  if (flag !== undefined) return flag
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim())
}

/**
 * `Invalid … options: /maxSessions must be …` → `--max-sessions must be …` (or the variable it came from);
 * `/oauth/resourceUrl …` → `--resource-url …`.
 */
function explainPluginError(error: Error, sources: Map<string, string>): UsageError {
  const detail = error.message.replace(/^Invalid @proxy\/fastify-plugin options: /, '')
  const match = /^\/(\w+)(\/\w+)?/.exec(detail)
  if (!match) return new UsageError(detail)
  const nested = match[2] === undefined ? undefined : sources.get(`${match[1]}${match[2]}`)
  if (nested !== undefined) return new UsageError(`${nested}${detail.slice(match[0].length).replace(/^\/\S*/, '')}`)
  const source = sources.get(match[1]!)
  if (match[1] === 'oauth' && match[2] !== undefined) {
    // A field no flag set (resourceUrl when it is needed): name its flag.
    const flag = FLAGS.find((f) => f.oauth === match[2]!.slice(1))
    if (flag) return new UsageError(`--${flag.name}${detail.slice(match[0].length)}`)
  }
  return new UsageError(source ? `${source}${detail.slice(match[1]!.length + 1).replace(/^\/\S*/, '')}` : detail)
}

/** The `oauth` flags as the plugin's option; any of them without --oauth-issuer is a mistake. */
function oauthOption(given: Map<Flag, Given>, sources: Map<string, string>): McpProxyOptions['oauth'] {
  const fields: Record<string, unknown> = {}
  for (const flag of FLAGS) {
    const value = given.get(flag)
    if (!flag.oauth || !value) continue
    fields[flag.oauth] = value.value
    sources.set(`oauth/${flag.oauth}`, value.source)
  }
  if (Object.keys(fields).length === 0) return undefined
  if (fields.issuer === undefined) throw new UsageError(`${sources.get(`oauth/${Object.keys(fields)[0]!}`)!} needs --oauth-issuer`)
  sources.set('oauth', sources.get('oauth/issuer')!)
  return fields as NonNullable<McpProxyOptions['oauth']>
}

/** Turn argv and the environment into what the CLI does. Pure: reads nothing else; flags win over `MCP_PROXY_*`. */
export function parseArgs(argv: readonly string[], env: NodeJS.ProcessEnv): ParseResult {
  const { given, command: positional } = readArgv(argv)
  const has = (name: string): boolean => given.has(FLAG_INDEX.get(name)!)
  if (has('help')) return { action: 'help' }
  if (has('version')) return { action: 'version' }

  const warnings: string[] = []
  readEnv(env, given, warnings)
  const get = <T extends Value>(name: string): T | undefined => given.get(FLAG_INDEX.get(name)!)?.value as T | undefined
  const sourceOf = (name: string): string => given.get(FLAG_INDEX.get(name)!)?.source ?? `--${name}`

  const configFile = get<string>('config')
  if (configFile !== undefined && (positional !== undefined || has('command'))) throw new UsageError(`${sourceOf('config')} names the servers: give either it or a command, not both`)
  if (configFile === undefined && has('ready-requires-all')) throw new UsageError('--ready-requires-all needs --config')
  // With --config each server's command comes from the file; the defaults are checked with this Node as the command.
  const { command, args } = configFile === undefined ? resolveCommand(positional, given) : { command: process.execPath, args: [] }
  const host = get<string>('host') ?? CLI_DEFAULTS.host
  const port = get<number>('port') ?? CLI_DEFAULTS.port
  if (port > 65535) throw new UsageError(`${sourceOf('port')} must be a port number from 0 to 65535, not ${port}`)

  // Plugin options: set only what was given, so every default stays the plugin's.
  const plugin: McpProxyOptions = { command, host }
  if (args.length > 0) plugin.args = args
  const sources = new Map<string, string>([['command', sourceOf('command')], ['host', sourceOf('host')]])
  for (const flag of FLAGS) {
    const value = given.get(flag)
    if (!flag.option || !value || flag.option === 'args') continue
    sources.set(flag.option, value.source)
    if (flag.option === 'env') plugin.env = parseEnvEntries(value.value as string[], value.source)
    else if (flag.option === 'childEnvFromClaims') plugin.childEnvFromClaims = parseEnvEntries(value.value as string[], value.source, 'NAME=CLAIM')
    else if (flag.option === 'apiKey') plugin.apiKey = value.value as string[]
    else if (flag.option === 'roots') plugin.roots = parseRoots(value.value as string, value.source)
    // The old --session-id-prefix took the separator too ("node-a."): the id adds it now.
    else if (flag.option === 'instanceId') plugin.instanceId = (value.value as string).replace(/\.$/, '')
    else (plugin as Record<string, unknown>)[flag.option] = value.value
  }

  const oauth = oauthOption(given, sources)
  if (oauth) plugin.oauth = oauth

  const server = get<'sse' | 'stream'>('server')
  const endpoint = get<string>('endpoint')
  if (endpoint !== undefined && server === undefined) throw new UsageError(`${sourceOf('endpoint')} needs --server sse or --server stream`)
  if (server === 'sse') {
    if (has('stream-endpoint')) throw new UsageError(`${sourceOf('stream-endpoint')} has no use with --server sse`)
    if (get('stateless')) throw new UsageError('--server sse cannot be combined with --stateless (the legacy SSE transport needs sessions)')
    if (endpoint !== undefined && has('sse-endpoint')) throw new UsageError('give either --endpoint or --sse-endpoint')
    plugin.streamEndpoint = false
    if (endpoint !== undefined) plugin.sseEndpoint = endpoint
  } else if (server === 'stream') {
    if (has('sse-endpoint')) throw new UsageError(`${sourceOf('sse-endpoint')} has no use with --server stream`)
    if (endpoint !== undefined && has('stream-endpoint')) throw new UsageError('give either --endpoint or --stream-endpoint')
    plugin.sseEndpoint = false
    if (endpoint !== undefined) plugin.streamEndpoint = endpoint
  }
  if (endpoint !== undefined) sources.set(server === 'sse' ? 'sseEndpoint' : 'streamEndpoint', sourceOf('endpoint'))

  if (get<boolean>('event-store') === false) {
    if ((get<number>('event-store-max-events') ?? 0) > 0) throw new UsageError('--no-event-store and --event-store-max-events exclude each other')
    plugin.eventStoreMaxEvents = 0
  }

  const cert = get<string>('ssl-cert')
  const key = get<string>('ssl-key')
  const ca = get<string>('ssl-ca')
  if ((cert === undefined) !== (key === undefined)) throw new UsageError('--ssl-cert and --ssl-key go together')
  if (ca !== undefined && cert === undefined) throw new UsageError('--ssl-ca needs --ssl-cert and --ssl-key')

  const verbose = get<boolean>('verbose') ?? false
  const quiet = get<boolean>('quiet') ?? false
  if (verbose && quiet) throw new UsageError('--verbose and --quiet exclude each other')

  const otel = otelEnabled(get<boolean>('otel'), env)
  if (otel) plugin.tracing = true

  const metricsPort = get<number>('metrics-port')
  if (metricsPort !== undefined && configFile !== undefined) throw new UsageError(`${sourceOf('metrics-port')} has no use with --config: each server serves its metrics at /servers/<name>/metrics (labelled server="<name>")`)
  if (metricsPort !== undefined) {
    if (metricsPort > 65535) throw new UsageError(`${sourceOf('metrics-port')} must be a port number from 0 to 65535, not ${metricsPort}`)
    if (get<boolean>('metrics') === false) throw new UsageError(`${sourceOf('metrics-port')} cannot be combined with --no-metrics`)
    if (get<boolean>('metrics-public')) throw new UsageError(`${sourceOf('metrics-public')} has no use with ${sourceOf('metrics-port')}: that listener has no API key (it is reachable from this machine only)`)
    // The plugin counts; the CLI serves its registry on the metrics port (see build-app.ts).
    plugin.metrics = true
    plugin.metricsPath = false
  }

  let resolved: ResolvedOptions
  try {
    resolved = resolveOptions(plugin)
  } catch (error) {
    if (error instanceof FST_MCP_PROXY_INVALID_OPTIONS) throw explainPluginError(error, sources)
    throw error
  }

  return {
    action: 'run',
    warnings,
    config: {
      host,
      port,
      plugin,
      resolved,
      tls: cert !== undefined && key !== undefined ? { cert, key, ...(ca === undefined ? {} : { ca }) } : undefined,
      keepAliveTimeout: get<number>('keep-alive-timeout') ?? CLI_DEFAULTS.keepAliveTimeout,
      // The stop ladder takes at most three graces per child (stdin end → SIGTERM → SIGKILL, then the
      // rest of its process group), all children in parallel; 3 s more for streams and sockets.
      shutdownTimeout: get<number>('graceful-shutdown-timeout') ?? resolved.stopGrace * 3 + 3000,
      logLevel: verbose ? 'debug' : quiet ? 'error' : 'info',
      logFormat: get<'pretty' | 'json'>('log-format'),
      exitOnStdinClose: get<boolean>('exit-on-stdin-close') ?? false,
      metricsPort,
      otel,
      configFile,
      readyRequiresAll: get<boolean>('ready-requires-all') ?? false,
    },
  }
}
