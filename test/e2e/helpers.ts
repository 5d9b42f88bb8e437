// Helpers of the end-to-end tests: run the BUILT proxy CLI (apps/server/dist/cli.js) as a child process on
// 127.0.0.1 in front of a real MCP server (server-everything, server-filesystem), learn its URLs from its
// JSON "MCP proxy ready:" log line, stop it like an operator would (SIGTERM, then SIGKILL after 5 s) and
// find leftover MCP server processes through /proc.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, expect } from 'vitest'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const CLI = `${ROOT}apps/server/dist/cli.js`

/** The JS entry point (`bin`) of an installed package, from its package.json. */
function binOf(pkg: string): string {
  const dir = `${ROOT}node_modules/${pkg}/`
  const manifest = JSON.parse(readFileSync(`${dir}package.json`, 'utf8')) as { bin?: string | Record<string, string> }
  const bin = typeof manifest.bin === 'string' ? manifest.bin : Object.values(manifest.bin ?? {})[0]
  if (!bin) throw new Error(`${pkg} has no bin`)
  const entry = dir + bin.replace(/^\.\//, '')
  if (!existsSync(entry)) throw new Error(`${entry} is missing`)
  return entry
}

export const EVERYTHING = binOf('@modelcontextprotocol/server-everything')
/** mcp-remote's stdio↔remote bridge (`mcp-remote <url>`). */
export const MCP_REMOTE = binOf('mcp-remote')
/** The MCP Inspector's command line (`mcp-inspector-cli --cli <url> …`); it runs `build/index.js` in a child. */
export const INSPECTOR_CLI = binOf('@modelcontextprotocol/inspector-cli')
export const FILESYSTEM = binOf('@modelcontextprotocol/server-filesystem')
/** The echo fixture (fixtures/README.md): tools echo {text}, add {a, b}, slow {ms} …; it sends nothing unasked. */
export const ECHO_SERVER = `${ROOT}fixtures/echo-server.mjs`
/**
 * The legacy "everything" fixture (fixtures/everything-legacy.mjs): a 2025-11-25 server with the conformance
 * tools (test_simple_text, test_tool_with_progress, test_custom_headers …), resources and prompts; it sends
 * nothing unasked.
 */
export const EVERYTHING_LEGACY = `${ROOT}fixtures/everything-legacy.mjs`

if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`pnpm build\` first`)

/** One pino JSON line of the CLI's stderr. */
export interface LogLine {
  level: number
  msg: string
  [key: string]: unknown
}

export interface Proxy {
  proc: ChildProcess
  /** http://127.0.0.1:PORT */
  base: string
  /** The Streamable HTTP endpoint (…/mcp). */
  streamable: URL
  /** The legacy HTTP+SSE endpoint (…/sse). */
  sse: URL
  stderr: () => string
  logs: () => LogLine[]
  /** Resolves with the exit code (or signal name) once the CLI has exited. */
  exited: Promise<number | string>
  /**
   * SIGTERM, SIGKILL after 5 s; then waits (bounded) until no process whose command line contains every
   * one of `childMarks` is alive. Resolves with the exit code and the pids still alive after the wait
   * (those are SIGKILLed so nothing leaks, but reported for the assertion).
   */
  stop: () => Promise<{ code: number | string; leftovers: number[] }>
}

/** The test process's environment without the proxy's own settings. */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('MCP_PROXY_')) env[k] = v
  return env
}

/** A unique extra argument that lets `processesWith` find this test file's MCP server children only. */
export function marker(): string {
  return `--e2e-marker=${randomUUID()}`
}

/** `promise`, or a rejection naming `what` after `timeoutMs` (the timer never holds the process). */
export async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs)
    timer.unref()
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Poll `condition` every 25 ms; throw after `timeoutMs`. */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 5000, what: () => string = () => 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

/** The pino JSON lines of a CLI's stderr (other lines skipped). */
export function parseLogs(text: string): LogLine[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as LogLine]
      } catch {
        return []
      }
    })
}

/** SIGKILL these pids (those already gone are skipped). */
export function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
}

/** Live processes whose command line carries any one of `marks` (each mark a part of one command line). */
export function processesWithAny(marks: string[]): number[] {
  return [...new Set(marks.flatMap((mark) => processesWith(mark)))]
}

/** A running built CLI, as `launchCli` gives it. */
export interface LaunchedCli {
  proc: ChildProcess
  /** Its "MCP proxy ready:" log line. */
  ready: LogLine
  stderr: () => string
  logs: () => LogLine[]
  exited: Promise<number | string>
  /**
   * SIGTERM, SIGKILL after 5 s; then waits (bounded) until no process is found by `leftovers()` (those are
   * SIGKILLed so nothing leaks, and reported for the assertion). Resolves with the exit code and those pids.
   */
  stop: (leftovers: () => number[]) => Promise<{ code: number | string; leftovers: number[] }>
}

/**
 * Start `node CLI --port 0 --host 127.0.0.1 --log-format json [args]` and resolve once its "MCP proxy ready:"
 * line satisfies `isReady` (bounded by `readyMs`). The CLI runs with no drain: these tests stop the proxy to
 * end it (cli-drain and load-balancers test the drain), so open sessions do not hold the stop for the drain
 * timeout. A flag, or `env`, still wins.
 */
export async function launchCli(args: string[], isReady: (line: LogLine) => boolean, options: { env?: NodeJS.ProcessEnv; readyMs?: number } = {}): Promise<LaunchedCli> {
  const proc = spawn(process.execPath, [CLI, '--port', '0', '--host', '127.0.0.1', '--log-format', 'json', ...args], {
    cwd: ROOT,
    env: { ...cleanEnv(), MCP_PROXY_DRAIN_TIMEOUT: '0', ...options.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let err = ''
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d))
  const exited = new Promise<number | string>((resolve) => proc.once('exit', (code, signal) => resolve(code ?? signal ?? -1)))
  let gone = false
  void exited.then(() => (gone = true))
  const logs = (): LogLine[] => parseLogs(err)
  const ready = (): LogLine | undefined => logs().find((l) => l.msg.startsWith('MCP proxy ready:') && isReady(l))

  const stop = async (leftoversOf: () => number[]): Promise<{ code: number | string; leftovers: number[] }> => {
    if (!gone) proc.kill('SIGTERM')
    const timer = setTimeout(() => {
      if (!gone) proc.kill('SIGKILL')
    }, 5000)
    const code = await exited
    clearTimeout(timer)
    let leftovers: number[] = []
    try {
      await waitFor(() => (leftovers = leftoversOf()).length === 0, 3000)
    } catch {
      killAll(leftovers)
    }
    return { code, leftovers }
  }

  try {
    await waitFor(() => gone || ready() !== undefined, options.readyMs ?? 10_000, () => `the "MCP proxy ready:" line; stderr:\n${err}`)
  } catch (error) {
    await stop(() => [])
    throw error
  }
  const line = ready()
  if (!line) throw new Error(`the CLI exited before it was ready (${String(await exited)}); stderr:\n${err}`)
  return { proc, ready: line, stderr: () => err, logs, exited, stop }
}

/**
 * Start `node CLI --port 0 --log-format json [flags] -- <server…>` and resolve once its "MCP proxy ready:"
 * line names the endpoints (bounded: 10 s). `childMarks` are strings found on the MCP server's command line
 * (entry path, marker) that `stop()` uses to check that no child is left.
 */
export async function startProxy(server: string[], childMarks: string[], flags: string[] = []): Promise<Proxy> {
  const cli = await launchCli([...flags, '--', ...server], (line) => typeof line.streamable === 'string')
  const streamable = new URL(cli.ready.streamable as string)
  const sse = typeof cli.ready.sse === 'string' ? new URL(cli.ready.sse) : new URL('/sse', streamable)
  const { proc, stderr, logs, exited } = cli
  return { proc, base: streamable.origin, streamable, sse, stderr, logs, exited, stop: () => cli.stop(() => processesWith(...childMarks)) }
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // the state is the field after the ")" closing the command name; a zombie has exited
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}

/** Live processes (not the CLI itself) whose command line contains every one of `parts`. */
export function processesWith(...parts: string[]): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue
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

// ---- raw Streamable HTTP (for the resumability test) ----

export const MCP_HEADERS = { accept: 'application/json, text/event-stream', 'content-type': 'application/json' }

export interface SseEvent {
  id?: string
  event?: string
  data: string
}

/** Parse one SSE block (the lines between two blank lines); undefined for a comment-only block. */
function parseBlock(block: string): SseEvent | undefined {
  const event: SseEvent = { data: '' }
  const data: string[] = []
  let fields = 0
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue
    const colon = line.indexOf(':')
    const field = colon < 0 ? line : line.slice(0, colon)
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
    fields++
    if (field === 'data') data.push(value)
    else if (field === 'id') event.id = value
    else if (field === 'event') event.event = value
  }
  if (fields === 0) return undefined
  event.data = data.join('\n')
  return event
}

export interface EventReader {
  /** Every event read so far. */
  events: SseEvent[]
  /**
   * The events after the ones already returned, up to and including the first that matches `stop`
   * (bounded wait: throws after `timeoutMs`).
   */
  until: (stop: (event: SseEvent) => boolean, timeoutMs?: number) => Promise<SseEvent[]>
  /** Whether the stream has ended. */
  ended: () => boolean
  /** Stop reading (cancels the body, which closes the connection). */
  close: () => Promise<void>
}

/** Read the SSE events of a response body in the background. */
export function eventReader(res: Response): EventReader {
  if (!res.body) throw new Error('no response body')
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
  const events: SseEvent[] = []
  let done = false
  let cursor = 0
  void (async () => {
    let buffer = ''
    try {
      for (;;) {
        const chunk = await reader.read()
        if (chunk.done) break
        buffer += chunk.value.replace(/\r\n?/g, '\n')
        let cut: number
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const event = parseBlock(buffer.slice(0, cut))
          buffer = buffer.slice(cut + 2)
          if (event) events.push(event)
        }
      }
    } catch {
      // cancelled or aborted
    } finally {
      done = true
    }
  })()
  const until = async (stop: (event: SseEvent) => boolean, timeoutMs = 8000): Promise<SseEvent[]> => {
    let found = -1
    await waitFor(
      () => {
        found = events.findIndex((e, i) => i >= cursor && stop(e))
        return found >= 0 || done
      },
      timeoutMs,
      () => `an SSE event; got ${JSON.stringify(events.slice(cursor))}`,
    )
    if (found < 0) throw new Error(`the SSE stream ended without the expected event; got ${JSON.stringify(events.slice(cursor))}`)
    const out = events.slice(cursor, found + 1)
    cursor = found + 1
    return out
  }
  const close = async (): Promise<void> => {
    await reader.cancel().catch(() => undefined)
  }
  return { events, until, ended: () => done, close }
}

/** Parse an event's data as a JSON-RPC message (undefined for the empty priming event). */
export function messageOf(event: SseEvent): Record<string, unknown> | undefined {
  return event.data === '' ? undefined : (JSON.parse(event.data) as Record<string, unknown>)
}

// ---- the HTTP exchanges of a client, through the `fetch` option of its transport ----

/** One HTTP exchange of a client: what it sent and the head of what came back. */
export interface Exchange {
  /** `POST`, `GET`, `DELETE` … */
  verb: string
  /** The JSON-RPC method of a request or notification body (undefined for a response or a batch). */
  method?: string
  /** The body's `params._meta["io.modelcontextprotocol/protocolVersion"]` (the 2026-07-28 claim). */
  claim?: string
  /** The request's MCP headers, names lower-cased: mcp-protocol-version, mcp-method, mcp-name, mcp-param-*, mcp-session-id. */
  headers: Record<string, string>
  /** The HTTP status, or the message of the error the fetch failed with. */
  status: number | string
  contentType?: string
  /** The response's Mcp-Session-Id, if it set one. */
  sessionId?: string
}

export interface Recorder {
  /** Pass as the `fetch` option of an MCP client transport (v1, v2 or the AI SDK's). */
  fetch: (input: string | URL | Request, init?: RequestInit) => Promise<Response>
  exchanges: Exchange[]
  /** One line per exchange, for assertion messages. */
  describe: () => string
}

/** A `fetch` that records every exchange (the request's MCP headers and body method, the response's head). */
export function recorder(): Recorder {
  const exchanges: Exchange[] = []
  const record = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const headers: Record<string, string> = {}
    new Headers(init?.headers).forEach((value, name) => {
      if (name.startsWith('mcp-')) headers[name] = value
    })
    const exchange: Exchange = { verb: init?.method ?? (input instanceof Request ? input.method : 'GET'), headers, status: 0 }
    if (typeof init?.body === 'string') {
      try {
        const body = JSON.parse(init.body) as { method?: unknown; params?: { _meta?: Record<string, unknown> } }
        if (!Array.isArray(body) && typeof body.method === 'string') exchange.method = body.method
        const claim = Array.isArray(body) ? undefined : body.params?._meta?.['io.modelcontextprotocol/protocolVersion']
        if (typeof claim === 'string') exchange.claim = claim
      } catch {
        // not JSON: recorded without a method
      }
    }
    exchanges.push(exchange)
    try {
      const response = await fetch(input, init)
      exchange.status = response.status
      const contentType = response.headers.get('content-type')
      const sessionId = response.headers.get('mcp-session-id')
      if (contentType !== null) exchange.contentType = contentType
      if (sessionId !== null) exchange.sessionId = sessionId
      return response
    } catch (error) {
      exchange.status = error instanceof Error ? error.message : String(error)
      throw error
    }
  }
  const describe = (): string =>
    exchanges
      .map((e) => `${e.verb} ${e.method ?? '-'}${e.claim ? ` (${e.claim})` : ''} ${JSON.stringify(e.headers)} → ${e.status} ${e.contentType ?? ''}${e.sessionId ? ` session ${e.sessionId}` : ''}`)
      .join('\n')
  return { fetch: record, exchanges, describe }
}

// ---- client programs run as child processes (Inspector CLI) ----

export interface ProgramRun {
  /** Exit code, or the signal name when it was killed. */
  code: number | string
  stdout: string
  stderr: string
  /** It did not exit within the bound and was killed (with its process group). */
  timedOut: boolean
  /** Processes left behind whose command line holds every one of `leftoverMarks` (SIGKILLed, reported). */
  leftovers: number[]
}

/**
 * Run `node <args…>` to completion (bounded: `timeoutMs`, then SIGKILL to its whole process group) and
 * collect its output. It runs in its own process group, so grandchildren are killed with it; once it has
 * exited, any process still alive whose command line contains every one of `leftoverMarks` is reported
 * and SIGKILLed by pid.
 */
export async function runNode(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs: number; leftoverMarks: string[] },
): Promise<ProgramRun> {
  const proc = spawn(process.execPath, args, { cwd: options.cwd ?? ROOT, env: options.env ?? cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  let stdout = ''
  let stderr = ''
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d))
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  let timedOut = false
  const exited = new Promise<number | string>((resolve) => proc.once('close', (code, signal) => resolve(code ?? signal ?? -1)))
  const timer = setTimeout(() => {
    timedOut = true
    try {
      process.kill(-proc.pid!, 'SIGKILL')
    } catch {
      // already gone
    }
  }, options.timeoutMs)
  const code = await exited
  clearTimeout(timer)
  let leftovers: number[] = []
  try {
    await waitFor(() => (leftovers = processesWith(...options.leftoverMarks)).length === 0, 2000)
  } catch {
    for (const pid of leftovers) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
  }
  return { code, stdout, stderr, timedOut, leftovers }
}

/**
 * The built proxy in front of a node script (`node <script> …args <mark>`) for the tests of one file:
 * started before them, stopped after them, with a check that its marked children ran and that none is
 * left. Returns the running proxy.
 */
export function proxyForFile(script: string, args: string[] = []): () => Proxy {
  const mark = marker()
  let proxy: Proxy | undefined
  beforeAll(async () => {
    proxy = await startProxy([process.execPath, script, ...args, mark], [script, mark])
  })
  afterAll(async () => {
    if (!proxy) return
    // non-vacuous leftover check: the marked children are visible in /proc while the proxy runs
    expect(processesWith(script, mark).length).toBeGreaterThan(0)
    const { code, leftovers } = await proxy.stop()
    expect(code).toBe(0)
    expect(leftovers).toEqual([])
  })
  return () => {
    if (!proxy) throw new Error('the proxy is not running')
    return proxy
  }
}

/** The built proxy in front of server-everything (stdio) for the tests of one file. */
export function proxyInFrontOfEverything(): () => Proxy {
  return proxyForFile(EVERYTHING, ['stdio'])
}
