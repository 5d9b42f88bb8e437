import type { McpProxyOptions } from '@proxy/fastify-plugin'
import { envName, FLAGS, type Flag } from './flags.js'

/** A mistake in the command line or the environment: one line for the user, exit code 2. */
export class UsageError extends Error {
  readonly code = 'MCP_PROXY_USAGE'
}

/** Everything the CLI needs, resolved once from argv and the environment. */
export interface CliOptions {
  help: boolean
  version: boolean
  host: string
  port: number
  plugin: McpProxyOptions
  https: { cert: string; key: string; ca?: string } | undefined
  keepAliveTimeout: number
  logLevel: 'debug' | 'info' | 'error'
  logFormat: 'pretty' | 'json' | undefined
  exitOnStdinClose: boolean
}

type Value = string | number | boolean | string[]

const byName = new Map<string, Flag>()
for (const f of FLAGS) for (const name of [f.name, ...f.aliases]) byName.set(name, f)

function convert(flag: Flag, raw: string, source: string): Value {
  switch (flag.type) {
    case 'boolean': {
      const lower = raw.toLowerCase()
      if (['', '1', 'true', 'yes', 'on'].includes(lower)) return true
      if (['0', 'false', 'no', 'off'].includes(lower)) return false
      throw new UsageError(`${source} takes true or false, not '${raw}'`)
    }
    case 'integer':
      if (!/^\d+$/.test(raw.trim())) throw new UsageError(`${source} takes a whole number, not '${raw}'`)
      return Number(raw.trim())
    case 'list':
      return raw === '' ? [] : raw.split(',')
    case 'string':
      if (flag.choices && !flag.choices.includes(raw)) throw new UsageError(`${source} takes ${flag.choices.join(' or ')}, not '${raw}'`)
      return raw
  }
}

/** Read argv (without `node cli.js`): flags, then `-- <command> [args…]` or a bare `<command> [args…]`. */
function readArgv(argv: readonly string[]): { values: Map<Flag, Value>; command: string[] | undefined } {
  const values = new Map<Flag, Value>()
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!
    if (token === '--') return { values, command: argv.slice(i + 1) }
    if (!token.startsWith('-') || token === '-') return { values, command: argv.slice(i) }
    const body = token.replace(/^--?/, '')
    const eq = body.indexOf('=')
    let name = eq === -1 ? body : body.slice(0, eq)
    let negated = false
    if (!byName.has(name) && name.startsWith('no-') && byName.get(name.slice(3))?.type === 'boolean') {
      name = name.slice(3)
      negated = true
    }
    const flag = byName.get(name)
    if (!flag) throw new UsageError(`unknown flag ${token.split('=')[0]} (see --help)`)
    if (values.has(flag)) throw new UsageError(`--${flag.name} is given twice`)
    let raw: string
    if (eq !== -1) raw = body.slice(eq + 1)
    else if (flag.type === 'boolean') raw = negated ? 'false' : 'true'
    else {
      const next = argv[i + 1]
      if (next === undefined || next === '--') throw new UsageError(`--${flag.name} needs a value`)
      raw = next
      i++
    }
    values.set(flag, convert(flag, raw, `--${flag.name}`))
  }
  return { values, command: undefined }
}

function parseEnvEntries(entries: string[]): Record<string, string> {
  const env: Record<string, string> = {}
  for (const entry of entries) {
    const eq = entry.indexOf('=')
    if (eq < 1) throw new UsageError(`--env takes KEY=VALUE entries, not '${entry}'`)
    env[entry.slice(0, eq)] = entry.slice(eq + 1)
  }
  return env
}

/** Turn argv and the environment into the CLI's options. Flags win over `MCP_PROXY_*` variables. */
export function parseArgs(argv: readonly string[], env: NodeJS.ProcessEnv): CliOptions {
  const { values, command: positional } = readArgv(argv)
  for (const flag of FLAGS) {
    if (values.has(flag) || flag.name === 'help' || flag.name === 'version') continue
    const raw = env[envName(flag)]
    if (raw !== undefined) values.set(flag, convert(flag, raw, envName(flag)))
  }
  const get = <T extends Value>(name: string): T | undefined => values.get(byName.get(name)!) as T | undefined

  const help = get<boolean>('help') ?? false
  const version = get<boolean>('version') ?? false
  const flagCommand = get<string>('command')
  if (positional !== undefined && flagCommand !== undefined) throw new UsageError('give the command either with --command or after --, not both')
  const [command, ...positionalArgs] = positional ?? (flagCommand === undefined ? [] : [flagCommand])
  if (!help && !version && (command === undefined || command === '')) {
    throw new UsageError('no command to run: mcp-proxy [options] -- <command> [args…]')
  }
  const args = positional ? positionalArgs : (get<string[]>('args') ?? [])
  if (positional && get<string[]>('args') !== undefined) throw new UsageError('give the arguments either with --args or after the command, not both')

  const port = get<number>('port') ?? 3000
  if (port > 65535) throw new UsageError(`--port must be 0 to 65535, not ${port}`)
  const host = get<string>('host') ?? '127.0.0.1'
  const server = get<string>('server')

  const plugin: McpProxyOptions = { command: command ?? '', args, host }
  const set = <K extends keyof McpProxyOptions>(key: K, value: McpProxyOptions[K] | undefined): void => {
    if (value !== undefined) plugin[key] = value
  }
  set('cwd', get('cwd'))
  const envEntries = get<string[]>('env')
  if (envEntries) plugin.env = parseEnvEntries(envEntries)
  set('shell', get('shell'))
  set('stateless', get('stateless'))
  set('apiKey', get('api-key'))
  set('streamEndpoint', server === 'sse' ? false : get('stream-endpoint'))
  set('sseEndpoint', server === 'stream' ? false : get('sse-endpoint'))
  set('messagesEndpoint', get('messages-endpoint'))
  set('allowedOrigins', get('allowed-origins'))
  set('allowedHosts', get('allowed-hosts'))
  set('jsonResponse', get('json-response'))
  set('maxBodySize', get('max-body-size'))
  set('maxSessions', get('max-sessions'))
  set('sessionIdleTimeout', get('session-idle-timeout'))
  set('eventStoreMaxEvents', get('event-store-max-events'))
  set('eventStoreMaxBytes', get('event-store-max-bytes'))
  set('maxQueuedBytes', get('max-queued-bytes'))
  set('maxLineLength', get('max-line-length'))
  set('requestTimeout', get('request-timeout'))
  set('maxRequestTimeout', get('max-request-timeout'))
  set('initializeTimeout', get('initialize-timeout'))
  set('stopGrace', get('stop-grace'))
  set('warmChildren', get('warm-children'))
  set('keepAliveInterval', get('keep-alive-interval'))
  set('sessionIdPrefix', get('session-id-prefix'))

  const cert = get<string>('ssl-cert')
  const key = get<string>('ssl-key')
  const ca = get<string>('ssl-ca')
  if ((cert === undefined) !== (key === undefined)) throw new UsageError('--ssl-cert and --ssl-key go together')
  if (ca !== undefined && cert === undefined) throw new UsageError('--ssl-ca needs --ssl-cert and --ssl-key')

  const verbose = get<boolean>('verbose') ?? false
  const quiet = get<boolean>('quiet') ?? false
  if (verbose && quiet) throw new UsageError('--verbose and --quiet exclude each other')

  return {
    help,
    version,
    host,
    port,
    plugin,
    https: cert && key ? { cert, key, ...(ca === undefined ? {} : { ca }) } : undefined,
    keepAliveTimeout: get<number>('keep-alive-timeout') ?? 300_000,
    logLevel: verbose ? 'debug' : quiet ? 'error' : 'info',
    logFormat: get<'pretty' | 'json'>('log-format'),
    exitOnStdinClose: get<boolean>('exit-on-stdin-close') ?? false,
  }
}
