// Helpers of the failure-mode and fuzz tests: real HTTP on 127.0.0.1 (fetch, raw sockets), an SSE reader,
// a Fastify app whose log lines are kept (to watch a child's stderr and the proxy's warnings), and a
// /proc scanner that finds the fixture processes this test process spawned. Every wait is bounded.
import { readdirSync, readFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach } from 'vitest'
import mcpProxy, { type McpProxyOptions } from '../src/index.js'
import { fixture } from './helpers.js'
import { within as boundedWait, parseSseBlocks, type SseEvent } from './http-helpers.js'

export { parseSseBlocks, type SseEvent }

export type JsonRpcId = string | number
export type Message = Record<string, unknown> & { id?: JsonRpcId | null; method?: string; result?: unknown; error?: RpcError }
export interface RpcError {
  code: number
  message: string
  data?: unknown
}

/** The revision most tests negotiate (the one with priming events). */
export const LATEST = '2025-11-25'
/** Upper bound of any single wait on the network or on a process. */
export const WAIT_MS = 5000

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
export { sleep }

// ---------------------------------------------------------------------------------------------------------
// Cleanup: streams and sockets first (registered after helpers.ts' hook, and after-hooks run as a stack).

const controllers: AbortController[] = []
const sockets: Socket[] = []
const loggedApps = new Set<FastifyInstance>()
afterEach(async () => {
  for (const controller of controllers.splice(0)) controller.abort()
  for (const socket of sockets.splice(0)) socket.destroy()
  const apps = [...loggedApps]
  loggedApps.clear()
  await Promise.all(apps.map((app) => app.close().catch(() => {})))
})

/** An AbortController aborted after the test, whatever happens. */
export function abortAfterTest(): AbortController {
  const controller = new AbortController()
  controllers.push(controller)
  return controller
}

// ---------------------------------------------------------------------------------------------------------
// Waiting.

/** Reject after `ms` if `promise` has not settled: a bound on a wait, never a timing assertion. */
export function within<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  return boundedWait(promise, what, ms)
}

/** Poll `check` until it returns something other than undefined/false; fail after `ms`. */
export async function waitFor<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  what: string | (() => string),
  ms = WAIT_MS,
  every = 25,
): Promise<T> {
  const deadline = Date.now() + ms
  let last: unknown
  for (;;) {
    try {
      const value = await check()
      if (value !== undefined && value !== false) return value
    } catch (error) {
      last = error
    }
    if (Date.now() > deadline) {
      const described = typeof what === 'string' ? what : what()
      throw new Error(`gave up waiting for ${described} after ${ms} ms${last ? ` (last error: ${String(last)})` : ''}`)
    }
    await sleep(every)
  }
}

// ---------------------------------------------------------------------------------------------------------
// Processes: the fixture children of this test process, found in /proc.

interface ProcInfo {
  pid: number
  ppid: number
  state: string
  cmdline: string
}

function procInfo(pid: number): ProcInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const close = stat.lastIndexOf(')')
    const fields = stat.slice(close + 2).split(' ')
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ')
    return { pid, ppid: Number(fields[1]), state: fields[0] ?? '?', cmdline }
  } catch {
    return undefined
  }
}

/** Live (not zombie) processes whose parent is this process and whose command line contains `match`. */
export function childPids(match: string, parent = process.pid): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const info = procInfo(Number(entry))
    if (info && info.ppid === parent && info.state !== 'Z' && info.cmdline.includes(match)) pids.push(info.pid)
  }
  return pids.sort((a, b) => a - b)
}

/** The process exists and is not a zombie. */
export function alive(pid: number): boolean {
  const info = procInfo(pid)
  return info !== undefined && info.state !== 'Z'
}

/** Wait until exactly `count` children run `match` (a child takes a moment to start or to be reaped). */
export function waitForChildren(match: string, count: number, ms = WAIT_MS): Promise<number[]> {
  return waitFor(() => {
    const pids = childPids(match)
    return pids.length === count ? pids : undefined
  }, () => `${count} ${match} process(es) (have ${childPids(match).length})`, ms)
}

// ---------------------------------------------------------------------------------------------------------
// An app that keeps its log lines.

export interface LogLine {
  level: number
  msg?: string
  [key: string]: unknown
}

export interface LoggedApp {
  app: FastifyInstance
  base: string
  port: number
  logs: LogLine[]
  /** Close now (the after-test cleanup then skips it). */
  close(): Promise<void>
}

type ProxyOptions = Partial<McpProxyOptions> & { fixture?: string }

/** The proxy in front of a fixture, listening on 127.0.0.1, with every log line (debug and up) kept. */
export async function listenLogged(options: ProxyOptions = {}): Promise<LoggedApp> {
  const { fixture: name = 'echo-server', ...rest } = options
  const logs: LogLine[] = []
  const stream = {
    write(line: string): void {
      try {
        logs.push(JSON.parse(line) as LogLine)
      } catch {
        // not JSON: ignore
      }
    },
  }
  const app = Fastify({ logger: { level: 'debug', stream }, forceCloseConnections: true })
  loggedApps.add(app)
  await app.register(mcpProxy, { command: process.execPath, args: [fixture(name)], stopGrace: 200, ...rest })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (!address || typeof address === 'string') throw new Error('not listening')
  return {
    app,
    base: `http://127.0.0.1:${address.port}`,
    port: address.port,
    logs,
    close: async () => {
      loggedApps.delete(app)
      await app.close()
    },
  }
}

/** Stderr lines of the children, as the proxy logged them. */
export function stderrLines(logs: LogLine[]): string[] {
  return logs.flatMap((line) => (typeof line.stderr === 'string' ? [line.stderr] : []))
}

// ---------------------------------------------------------------------------------------------------------
// JSON-RPC over fetch.

export function rpc(id: JsonRpcId, method: string, params?: Record<string, unknown>): Message {
  return params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params }
}

export function toolCall(id: JsonRpcId, name: string, args: Record<string, unknown> = {}, meta?: Record<string, unknown>): Message {
  return rpc(id, 'tools/call', meta ? { name, arguments: args, _meta: meta } : { name, arguments: args })
}

export function initializeMessage(id: JsonRpcId = 0, protocolVersion = LATEST): Message {
  return rpc(id, 'initialize', { protocolVersion, capabilities: {}, clientInfo: { name: 'failure-test', version: '1.0.0' } })
}

export interface PostOptions {
  session?: string
  protocolVersion?: string
  signal?: AbortSignal
  headers?: Record<string, string>
}

/** POST a JSON-RPC body (a string is sent as is) to `${base}${path}` with the Streamable HTTP headers. */
export function post(base: string, body: unknown, options: PostOptions = {}, path = '/mcp'): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }
  if (options.session !== undefined) headers['mcp-session-id'] = options.session
  if (options.protocolVersion !== undefined) headers['mcp-protocol-version'] = options.protocolVersion
  Object.assign(headers, options.headers)
  const signal = options.signal ?? abortAfterTest().signal
  return within(
    fetch(`${base}${path}`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body), signal }),
    `POST ${path} headers`,
  )
}

/** Every JSON-RPC message of a response: one JSON body, or the data of every SSE event until the end. */
export async function messagesOf(response: Response, ms = WAIT_MS): Promise<Message[]> {
  const type = response.headers.get('content-type') ?? ''
  if (type.startsWith('text/event-stream')) {
    const reader = new SseReader(response)
    const messages: Message[] = []
    for (;;) {
      const event = await reader.next(ms)
      if (!event) return messages
      if (event.data !== '') messages.push(JSON.parse(event.data) as Message)
    }
  }
  const text = await within(response.text(), 'a response body', ms)
  if (text === '') return []
  const value = JSON.parse(text) as Message | Message[]
  return Array.isArray(value) ? value : [value]
}

/** The answer (response with that id) among the messages of a response. */
export async function answerOf(response: Response, id: JsonRpcId, ms = WAIT_MS): Promise<Message> {
  const messages = await messagesOf(response, ms)
  const answer = messages.find((m) => m.id === id && !('method' in m))
  if (!answer) throw new Error(`no answer to ${id} among ${JSON.stringify(messages).slice(0, 500)}`)
  return answer
}

/** Initialize a session (and send notifications/initialized); returns its id. */
export async function initialize(base: string, protocolVersion = LATEST): Promise<string> {
  const response = await post(base, initializeMessage(0, protocolVersion))
  if (response.status !== 200) throw new Error(`initialize: ${response.status} ${await response.text()}`)
  const session = response.headers.get('mcp-session-id')
  const answer = await answerOf(response, 0)
  if (!session || !answer.result) throw new Error(`initialize failed: ${JSON.stringify(answer)}`)
  const done = await post(base, { jsonrpc: '2.0', method: 'notifications/initialized' }, { session })
  if (done.status !== 202) throw new Error(`notifications/initialized: ${done.status}`)
  return session
}

/** One request on a session; returns its answer. */
export async function request(base: string, session: string, message: Message, ms = WAIT_MS): Promise<Message> {
  const response = await post(base, message, { session })
  if (response.status !== 200) throw new Error(`${String(message.method)}: HTTP ${response.status} ${await response.text()}`)
  return answerOf(response, message.id as JsonRpcId, ms)
}

/** The text of the first content item of a tools/call result. */
export function textOf(answer: Message): string | undefined {
  const result = answer.result as { content?: Array<{ text?: string }> } | undefined
  return result?.content?.[0]?.text
}

/** GET a JSON document (health routes). */
export async function getJson(base: string, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await within(fetch(`${base}${path}`, { signal: abortAfterTest().signal }), `GET ${path}`)
  const text = await within(response.text(), `GET ${path} body`)
  return { status: response.status, body: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : { text } }
}

/** Open a GET stream (standalone, or a resumption with Last-Event-ID). */
export function openGet(base: string, session: string, lastEventId?: string, signal?: AbortSignal): Promise<Response> {
  const headers: Record<string, string> = { accept: 'text/event-stream', 'mcp-session-id': session }
  if (lastEventId !== undefined) headers['last-event-id'] = lastEventId
  return within(fetch(`${base}/mcp`, { headers, signal: signal ?? abortAfterTest().signal }), 'GET /mcp headers')
}

export function deleteSession(base: string, session: string): Promise<Response> {
  return within(fetch(`${base}/mcp`, { method: 'DELETE', headers: { 'mcp-session-id': session }, signal: abortAfterTest().signal }), 'DELETE /mcp')
}

// ---------------------------------------------------------------------------------------------------------
// SSE.

/** Reads SSE events off a fetch response, one at a time. */
export class SseReader {
  #reader: ReadableStreamDefaultReader<Uint8Array>
  #decoder = new TextDecoder()
  #buffer = ''
  #queue: SseEvent[] = []
  #done = false

  constructor(response: Response) {
    if (!response.body) throw new Error('no body')
    this.#reader = response.body.getReader()
  }

  /** The next event with data or an id; undefined once the stream ended. Bounded. */
  async next(ms = WAIT_MS): Promise<SseEvent | undefined> {
    try {
      return await within(this.#next(), 'an SSE event', ms)
    } catch (error) {
      void this.#reader.cancel().catch(() => {})
      throw error
    }
  }

  /** The next event whose data is a JSON-RPC message matching `match`. */
  async until(match: (message: Message) => boolean, ms = WAIT_MS): Promise<Message> {
    const deadline = Date.now() + ms
    for (;;) {
      const event = await this.next(Math.max(1, deadline - Date.now()))
      if (!event) throw new Error('the stream ended first')
      if (event.data === '') continue
      const message = JSON.parse(event.data) as Message
      if (match(message)) return message
    }
  }

  cancel(): void {
    void this.#reader.cancel().catch(() => {})
  }

  async #next(): Promise<SseEvent | undefined> {
    for (;;) {
      const queued = this.#queue.shift()
      if (queued) return queued
      if (this.#done) return undefined
      let chunk: Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']>>
      try {
        chunk = await this.#reader.read()
      } catch {
        this.#done = true
        continue
      }
      if (chunk.done) {
        this.#done = true
        this.#buffer += this.#decoder.decode()
        this.#buffer += '\n\n'
      } else {
        this.#buffer += this.#decoder.decode(chunk.value, { stream: true })
      }
      const { events, rest } = parseSseBlocks(this.#buffer)
      this.#buffer = rest
      this.#queue.push(...events)
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Raw sockets.

export interface RawAnswer {
  /** Everything the server wrote before it closed the connection (or before we gave up). */
  text: string
  /** The status of the first response, if one began. */
  status: number | undefined
  /** The server closed (or reset) the connection. */
  closed: boolean
}

/** A socket that is destroyed after the test. */
export function rawSocket(port: number): Promise<Socket> {
  return within(
    new Promise<Socket>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port }, () => resolve(socket))
      socket.once('error', reject)
      sockets.push(socket)
    }),
    'a TCP connection',
  )
}

/**
 * Write `chunks` on a fresh connection, then read until the server closes it or `ms` pass (then we close
 * it). With `destroyAfterWrite` the client goes away at once (a body that stops mid-way).
 */
export async function rawExchange(port: number, chunks: Array<string | Buffer>, options: { ms?: number; destroyAfterWrite?: boolean } = {}): Promise<RawAnswer> {
  const socket = await rawSocket(port)
  const received: Buffer[] = []
  let closed = false
  const ended = new Promise<void>((resolve) => {
    socket.on('data', (chunk: Buffer) => received.push(chunk))
    socket.once('close', () => {
      closed = true
      resolve()
    })
    socket.on('error', () => {})
  })
  for (const chunk of chunks) socket.write(chunk)
  if (options.destroyAfterWrite) {
    await new Promise<void>((resolve) => socket.write('', () => resolve()))
    socket.destroy()
    return { text: '', status: undefined, closed: true }
  }
  await Promise.race([ended, sleep(options.ms ?? 2000)])
  socket.destroy()
  const text = Buffer.concat(received).toString('latin1')
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(text)
  return { text, status: match ? Number(match[1]) : undefined, closed }
}

/** A complete HTTP/1.1 request text that asks the server to close the connection after answering. */
export function rawRequest(method: string, path: string, port: number, headers: Record<string, string> = {}, body?: string | Buffer): Array<string | Buffer> {
  const lines = [`${method} ${path} HTTP/1.1`, `host: 127.0.0.1:${port}`, 'connection: close']
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`)
  if (body !== undefined) lines.push(`content-length: ${Buffer.byteLength(body)}`)
  const head = lines.join('\r\n') + '\r\n\r\n'
  return body === undefined ? [head] : [head, body]
}

/** The JSON body of a raw answer (after the blank line), parsed. */
export function rawJsonBody(answer: RawAnswer): unknown {
  const at = answer.text.indexOf('\r\n\r\n')
  if (at === -1) return undefined
  const body = answer.text.slice(at + 4)
  return body === '' ? undefined : (JSON.parse(Buffer.from(body, 'latin1').toString('utf8')) as unknown)
}

/** A JSON-RPC error body: jsonrpc 2.0, an integer code, a string message, an id that is a string, number or null. */
export function isJsonRpcError(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false
  const v = value as Record<string, unknown>
  const error = v.error as Record<string, unknown> | undefined
  const idOk = v.id === null || typeof v.id === 'string' || typeof v.id === 'number'
  return v.jsonrpc === '2.0' && idOk && typeof error === 'object' && error !== null && Number.isInteger(error.code) && typeof error.message === 'string'
}
