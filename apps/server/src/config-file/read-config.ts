import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { basename, dirname, resolve } from 'node:path'
import { UsageError } from '../parse-args.js'
import { readEnvFile } from './env-file.js'
import { expandVariables, type Variables } from './expand.js'
import { parseJsonc } from './jsonc.js'

/** One stdio MCP server of a config file, checked and expanded: what the runtime needs to start it. */
export interface ServerEntry {
  /** The key in the file; it becomes a path segment (`/servers/<name>/mcp`), hence `[A-Za-z0-9][A-Za-z0-9_-]{0,63}`. */
  name: string
  command: string
  args: string[]
  /** `envFile`'s variables, then `env`'s over them; expanded (the envFile's values are taken as written). */
  env: Record<string, string>
  /** Expanded; a relative path is resolved against the workspace folder. undefined: not given. */
  cwd: string | undefined
  /** The file's top-level `x-mcp-proxy`, then the entry's own over it (shallow); not checked here. {} if neither. */
  settings: Record<string, unknown>
  /** sha256 of the fields above as canonical JSON: on reload, a changed fingerprint means a changed server. */
  fingerprint: string
}

/** A config file as read: its stdio servers, and one warning per entry skipped. */
export interface ConfigFile {
  /** Absolute. */
  path: string
  /** `mcpServers`: Claude Desktop, Claude Code, Cursor. `vscode`: VS Code's `servers` (mcp.json, or `mcp` in settings.json). */
  format: 'mcpServers' | 'vscode'
  servers: ServerEntry[]
  warnings: string[]
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/
const SETTINGS = 'x-mcp-proxy'

type Json = Record<string, unknown>

/**
 * Read the MCP server config people already have (Claude Desktop, Claude Code, Cursor, VS Code) for
 * `mcp-proxy --config FILE`. Remote and disabled entries are skipped with a warning; every other mistake is
 * a UsageError naming the file (and the server and key), since a half-read config would serve the wrong thing.
 * Variables are expanded in both formats (see expand.ts): Claude Desktop itself expands none, but a literal
 * `${env:…}` or `${workspaceFolder}` is never what a server wants.
 */
export function readConfig(path: string, env: NodeJS.ProcessEnv, options: { home?: string } = {}): ConfigFile {
  const absolute = resolve(path)
  let text: string
  try {
    text = readFileSync(absolute, 'utf8')
  } catch (error) {
    throw new UsageError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`)
  }
  const root = parseJsonc(text, path)
  if (!isObject(root)) throw new UsageError(`${path}: expected a JSON object at the top`)
  const { format, servers } = locateServers(root, path)
  const folder = dirname(absolute)
  const vars: Variables = {
    env,
    workspaceFolder: basename(folder) === '.vscode' ? dirname(folder) : folder,
    userHome: options.home ?? homedir(),
    bareNames: format === 'mcpServers',
  }
  const defaults = settingsOf(root, path)
  const warnings: string[] = []
  const entries: ServerEntry[] = []
  for (const [name, raw] of Object.entries(servers)) {
    if (!isObject(raw)) throw new UsageError(`${path}: server ${name} must be an object`)
    const skip = skipReason(raw, `${path}: server ${name}`)
    if (skip !== undefined) {
      warnings.push(`server ${name} in ${path} ${skip} — skipped`)
      continue
    }
    if (!NAME.test(name)) {
      throw new UsageError(`${path}: server name '${name}' cannot be a URL path segment: use letters, digits, - and _ (at most 64, starting with a letter or digit)`)
    }
    entries.push(readEntry(name, raw, path, vars, defaults))
  }
  if (entries.length === 0) throw new UsageError(`no stdio server in ${path}`)
  return { path: absolute, format, servers: entries, warnings }
}

function locateServers(root: Json, path: string): { format: ConfigFile['format']; servers: Json } {
  if ('mcpServers' in root) {
    if ('servers' in root) throw new UsageError(`${path} has both mcpServers and servers: keep one`)
    if (!isObject(root.mcpServers)) throw new UsageError(`${path}: mcpServers must be an object`)
    return { format: 'mcpServers', servers: root.mcpServers }
  }
  // VS Code: .vscode/mcp.json and the user's mcp.json; settings.json held the same under "mcp" until 1.102.
  const servers = 'servers' in root ? root.servers : isObject(root.mcp) ? root.mcp.servers : undefined
  if (servers === undefined) throw new UsageError(`${path} has no mcpServers (Claude, Cursor) or servers (VS Code) object`)
  if (!isObject(servers)) throw new UsageError(`${path}: servers must be an object`)
  return { format: 'vscode', servers }
}

/** Why a well-formed entry is not served, or undefined when it is a stdio server to serve. */
function skipReason(raw: Json, where: string): string | undefined {
  const type = optionalString(raw, 'type', where)
  if (type !== undefined && type !== 'stdio') return `is a remote server (type ${type}); only stdio servers are served`
  if (type === undefined && raw.url !== undefined && raw.command === undefined) return 'is a remote server (url); only stdio servers are served'
  // Cline and Roo Code keep switched-off servers in the file with "disabled": true.
  if (raw.disabled === true) return 'is disabled'
  return undefined
}

function readEntry(name: string, raw: Json, path: string, vars: Variables, defaults: Json): ServerEntry {
  const where = `${path}: server ${name}`
  const at = (key: string): string => `${where}, ${key}`
  const command = optionalString(raw, 'command', where)
  if (command === undefined || command === '') throw new UsageError(`${where} has no command (and no url)`)
  const args = raw.args ?? []
  if (!Array.isArray(args)) throw new UsageError(`${at('args')} must be an array of strings`)
  const expandedArgs = args.map((arg: unknown, i) => {
    if (typeof arg !== 'string') throw new UsageError(`${at(`args[${i}]`)} must be a string, not ${typeOf(arg)}`)
    return expandVariables(arg, vars, at(`args[${i}]`))
  })
  const envFile = optionalString(raw, 'envFile', where)
  const fromFile = envFile === undefined ? {} : readEnvFile(resolve(vars.workspaceFolder, expandVariables(envFile, vars, at('envFile'))), at('envFile'))
  const cwd = optionalString(raw, 'cwd', where)
  const entry = {
    name,
    command: expandVariables(command, vars, at('command')),
    args: expandedArgs,
    env: { ...fromFile, ...envOf(raw, vars, at) },
    cwd: cwd === undefined ? undefined : resolve(vars.workspaceFolder, expandVariables(cwd, vars, at('cwd'))),
    settings: expandSettings({ ...defaults, ...settingsOf(raw, where) }, vars, (key) => `${where}, x-mcp-proxy.${key}`),
  }
  return { ...entry, fingerprint: createHash('sha256').update(canonical(entry)).digest('hex') }
}

/**
 * Variables in the settings' strings, at any depth (`"apiKey": "${env:KEY}"`): expanded like every other
 * value, so a secret can stay out of the file and a literal `${env:…}` is never taken as the key itself.
 */
function expandSettings(settings: Json, vars: Variables, at: (key: string) => string): Json {
  const walk = (value: unknown, path: string): unknown => {
    if (typeof value === 'string') return expandVariables(value, vars, at(path))
    if (Array.isArray(value)) return value.map((item, i) => walk(item, `${path}[${i}]`))
    if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, walk(item, `${path}.${key}`)]))
    return value
  }
  return Object.fromEntries(Object.entries(settings).map(([key, value]) => [key, walk(value, key)]))
}

/**
 * `env` values may be strings, numbers or booleans (VS Code's schema allows numbers; `"PORT": 8080` can only
 * mean "8080"), taken with String(). VS Code's null (unset an inherited variable) cannot be honoured here: refused.
 */
function envOf(raw: Json, vars: Variables, at: (key: string) => string): Record<string, string> {
  const env = raw.env ?? {}
  if (!isObject(env)) throw new UsageError(`${at('env')} must be an object of strings`)
  const values: Record<string, string> = {}
  for (const [key, value] of Object.entries(env)) {
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new UsageError(`${at(`env.${key}`)} must be a string, not ${typeOf(value)}`)
    }
    values[key] = expandVariables(String(value), vars, at(`env.${key}`))
  }
  return values
}

function settingsOf(raw: Json, where: string): Json {
  const settings = raw[SETTINGS] ?? {}
  if (!isObject(settings)) throw new UsageError(`${where}, ${SETTINGS} must be an object`)
  return settings
}

function optionalString(raw: Json, key: string, where: string): string | undefined {
  const value = raw[key]
  if (value === undefined || typeof value === 'string') return value
  throw new UsageError(`${where}, ${key} must be a string, not ${typeOf(value)}`)
}

/** JSON with object keys sorted at every level, so key order in the file does not change a fingerprint. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    isObject(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v === undefined ? null : v,
  )
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function typeOf(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`
}
