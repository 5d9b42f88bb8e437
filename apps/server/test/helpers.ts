// Helpers of the CLI tests: run the BUILT CLI (apps/server/dist/cli.js) as a child process on 127.0.0.1,
// learn its port from its JSON log, talk MCP to it with plain fetch, and find its MCP server children
// through /proc. Every process started here is killed by `killAll()` (call it in afterEach).
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { randomUUID } from 'node:crypto'

export const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url))
export const FIXTURES = fileURLToPath(new URL('../../../fixtures/', import.meta.url))
export const ECHO = FIXTURES + 'echo-server.mjs'
export const IGNORE_SIGTERM = FIXTURES + 'ignore-sigterm-server.mjs'

if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`pnpm --filter server build\` first`)

/** One pino JSON line of the CLI's stderr. */
export interface LogLine {
  level: number
  msg: string
  [key: string]: unknown
}

export interface Cli {
  proc: ChildProcess
  /** Set once the "mcp-proxy listening on" line was seen. */
  port: number
  base: string
  stdout: () => string
  stderr: () => string
  /** The JSON log lines written so far. */
  logs: () => LogLine[]
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  exited: Promise<number | string>
}

const started = new Set<ChildProcess>()
const markers = new Set<string>()

/** The test process's environment without the proxy's own settings, plus `extra`. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('MCP_PROXY_')) env[k] = v
  return { ...env, ...extra }
}

/** A marker argument for a fixture command line, so `childrenOf(marker)` finds this test's children only. */
export function marker(): string {
  const m = `--test-marker=${randomUUID()}`
  markers.add(m)
  return m
}

export interface StartOptions {
  env?: Record<string, string>
  /** Wait for the "listening" line (false: return at once, e.g. with --quiet). @default true */
  waitListening?: boolean
  /** Keep the CLI's stdin as a pipe the test can end. @default false ('ignore') */
  stdinPipe?: boolean
}

/** Start the CLI with `args`; resolves once it logs that it listens (bounded wait). */
export async function startCli(args: string[], options: StartOptions = {}): Promise<Cli> {
  const proc = spawn(process.execPath, [CLI, ...args], {
    env: cleanEnv(options.env),
    stdio: [options.stdinPipe ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  })
  started.add(proc)
  let out = ''
  let err = ''
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d))
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d))
  const exited = new Promise<number | string>((resolve) => proc.once('exit', (code, signal) => resolve(code ?? signal ?? -1)))
  const logs = (): LogLine[] =>
    err
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as LogLine]
        } catch {
          return []
        }
      })
  const cli: Cli = { proc, port: 0, base: '', stdout: () => out, stderr: () => err, logs, exited }
  if (options.waitListening === false) return cli
  let gone = false
  void exited.then(() => (gone = true))
  await waitFor(() => gone || listeningUrl(logs()) !== undefined, 10_000, () => `no "listening" line; stderr:\n${err}`)
  const url = listeningUrl(logs())
  if (!url) throw new Error(`the CLI exited before listening (${String(await exited)}); stderr:\n${err}`)
  cli.base = url.origin
  cli.port = Number(url.port)
  return cli
}

/**
 * The address the CLI says it listens on, from its info line once it listens ("mcp-proxy listening on
 * URL", or the line that carries the `streamable`/`sse` endpoint URLs).
 */
function listeningUrl(lines: LogLine[]): URL | undefined {
  for (const line of lines) {
    const text = /^mcp-proxy listening on (\S+)/.exec(line.msg)?.[1] ?? (typeof line.streamable === 'string' ? line.streamable : undefined) ?? (typeof line.sse === 'string' ? line.sse : undefined)
    if (text) return new URL(text)
  }
  return undefined
}

export interface RunResult {
  code: number | string
  stdout: string
  stderr: string
}

/** Run the CLI to its end (killed after `timeoutMs`): for --help, --version and the error cases. */
export async function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 10_000): Promise<RunResult> {
  const cli = await startCli(args, { env, waitListening: false })
  const timer = setTimeout(() => cli.proc.kill('SIGKILL'), timeoutMs)
  const code = await cli.exited
  clearTimeout(timer)
  return { code, stdout: cli.stdout(), stderr: cli.stderr() }
}

/** Poll `condition` every 25 ms; throw after `timeoutMs`. */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 5000, what: () => string = () => 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

/** Wait for the process to exit, at most `timeoutMs`; resolves with its code or signal. */
export async function exitOf(cli: Cli, timeoutMs = 10_000): Promise<number | string> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the CLI did not exit within ${timeoutMs} ms; stderr:\n${cli.stderr()}`)), timeoutMs)
  })
  try {
    return await Promise.race([cli.exited, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** A TCP port that was free a moment ago (for flags that need a fixed port). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // state is the field after the ")" that closes the command name; a zombie has exited
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}

/**
 * Live processes whose command line contains every one of `parts` (e.g. the fixture path and a marker),
 * other than the CLI itself (whose command line names the fixture too).
 */
export function processesWith(...parts: string[]): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let cmdline: string
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ')
    } catch {
      continue
    }
    if (parts.every((p) => cmdline.includes(p)) && !cmdline.includes(CLI) && alive(Number(entry))) pids.push(Number(entry))
  }
  return pids
}

/** The environment of a live process, from /proc. */
export function environOf(pid: number): Record<string, string> {
  const env: Record<string, string> = {}
  for (const entry of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
    const eq = entry.indexOf('=')
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1)
  }
  return env
}

/** Kill every CLI started by this file and every fixture child carrying one of its markers. */
export async function killAll(): Promise<void> {
  for (const proc of started) {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
  }
  await Promise.all([...started].map((p) => (p.exitCode === null && p.signalCode === null ? new Promise((r) => p.once('exit', r)) : undefined)))
  started.clear()
  for (const m of markers) for (const pid of processesWith(m)) process.kill(pid, 'SIGKILL')
  markers.clear()
}

// ---- MCP over plain fetch ----

export const MCP_HEADERS = { accept: 'application/json, text/event-stream', 'content-type': 'application/json' }

const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'cli-test', version: '1.0.0' } },
}

/** POST one JSON-RPC message to the Streamable HTTP endpoint. */
export function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { ...MCP_HEADERS, ...headers }, body: JSON.stringify(body) })
}

/** The JSON-RPC message of a response: the body itself (JSON) or the first SSE `data:` line. */
export async function messageOf(res: Response): Promise<Record<string, unknown>> {
  const text = await res.text()
  if ((res.headers.get('content-type') ?? '').startsWith('application/json')) return JSON.parse(text) as Record<string, unknown>
  const data = text.split('\n').find((l) => l.startsWith('data: ') && l.length > 6)
  if (!data) throw new Error(`no SSE data line in: ${text}`)
  return JSON.parse(data.slice(6)) as Record<string, unknown>
}

/** initialize + notifications/initialized; resolves with the session id. */
export async function initialize(url: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await post(url, INITIALIZE, headers)
  if (res.status !== 200) throw new Error(`initialize: HTTP ${res.status} ${await res.text()}`)
  const session = res.headers.get('mcp-session-id')
  if (!session) throw new Error('initialize: no Mcp-Session-Id')
  await messageOf(res)
  const note = await post(url, { jsonrpc: '2.0', method: 'notifications/initialized' }, { ...headers, 'mcp-session-id': session })
  if (note.status !== 202) throw new Error(`notifications/initialized: HTTP ${note.status}`)
  return session
}

let nextId = 100

/** POST tools/call and resolve with the text of its first content item (throws on a JSON-RPC error). */
export async function callTool(url: string, session: string | undefined, name: string, args: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<string> {
  const res = await post(
    url,
    { jsonrpc: '2.0', id: nextId++, method: 'tools/call', params: { name, arguments: args } },
    { ...headers, ...(session ? { 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' } : {}) },
  )
  if (res.status !== 200) throw new Error(`tools/call ${name}: HTTP ${res.status} ${await res.text()}`)
  const message = await messageOf(res)
  if (message.error) throw new Error(`tools/call ${name}: ${JSON.stringify(message.error)}`)
  const result = message.result as { content: { text: string }[] }
  return result.content[0]!.text
}

/** The `mcp-proxy: error:` lines of a stderr. */
export function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('mcp-proxy: error: '))
}

/** Does a stderr contain a JavaScript stack trace (raw, or inside a JSON log line)? */
export function hasStackTrace(stderr: string): boolean {
  return /\n\s+at .+:\d+:\d+\)?/.test(stderr) || /\\n\s+at /.test(stderr) || stderr.includes('"stack"')
}
