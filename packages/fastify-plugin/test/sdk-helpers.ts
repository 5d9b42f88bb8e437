// Helpers for the end-to-end tests with the official clients and with raw HTTP: clients and fetches are
// closed/aborted after each test (before helpers.ts closes the apps), a small SSE parser with bounded
// reads, and raw session set-up.
import { afterEach } from 'vitest'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport, type StreamableHTTPReconnectionOptions } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { ClientCapabilities, JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js'
// Evaluated first, so its after-each hook (closing the apps) is registered before ours.
import './helpers.js'

// ---------------------------------------------------------------------------------------------------
// Cleanup
// ---------------------------------------------------------------------------------------------------

const cleanups: Array<() => unknown> = []

// Registered after helpers.ts's hook (imported above), so with vitest's stacked after-hooks it runs
// first: clients close and fetches abort while the apps are still up.
afterEach(async () => {
  const pending = cleanups.splice(0).reverse()
  for (const cleanup of pending) {
    try {
      await Promise.race([cleanup(), sleep(1000)])
    } catch {
      // closing a client whose server is gone may fail; nothing to do
    }
  }
})

/** Run `fn` after the current test (clients closed, fetches aborted). */
export function defer(fn: () => unknown): void {
  cleanups.push(fn)
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Reject with a clear message if `promise` has not settled within `ms` (a bound, never a measurement). */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Poll `check` until it returns a value other than undefined (bounded). */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, what: string, ms = 3000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(20)
  }
}

// ---------------------------------------------------------------------------------------------------
// v1 SDK client
// ---------------------------------------------------------------------------------------------------

export interface V1Connection {
  client: Client
  transport: StreamableHTTPClientTransport
  /** Settles once the client's standalone GET stream has its response head (the SDK opens it after initialized). */
  getOpened: Promise<void>
}

export interface V1Options {
  name?: string
  version?: string
  capabilities?: ClientCapabilities
  /** Claim this protocol revision in initialize instead of the SDK's latest. */
  protocolVersion?: string
  /** Set up handlers before connecting. */
  setup?: (client: Client) => void
  /** Wrap the transport's fetch (after the GET watcher). */
  fetch?: (url: string | URL, init: RequestInit | undefined, next: typeof fetch) => Promise<Response>
  reconnectionOptions?: StreamableHTTPReconnectionOptions
}

/** A v1 SDK client connected over Streamable HTTP to `${base}/mcp`; closed after the test. */
export async function connectV1(base: string, options: V1Options = {}): Promise<V1Connection> {
  let opened!: () => void
  const getOpened = new Promise<void>((resolve) => (opened = resolve))
  const wrapped = async (url: string | URL, init?: RequestInit): Promise<Response> => {
    const response = options.fetch ? await options.fetch(url, init, fetch) : await fetch(url, init)
    if ((init?.method ?? 'GET') === 'GET' && response.ok) opened()
    return response
  }
  const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
    fetch: wrapped,
    ...(options.reconnectionOptions ? { reconnectionOptions: options.reconnectionOptions } : {}),
  })
  if (options.protocolVersion !== undefined) claimProtocolVersion(transport, options.protocolVersion)
  const client = new Client(
    { name: options.name ?? 'e2e-client', version: options.version ?? '1.2.3' },
    options.capabilities ? { capabilities: options.capabilities } : {},
  )
  options.setup?.(client)
  defer(() => client.close())
  await within(client.connect(transport), 5000, 'connect')
  return { client, transport, getOpened }
}

/** Make a transport's initialize request claim `version` (the v1 SDK always claims its latest). */
export function claimProtocolVersion(transport: { send: (message: JSONRPCMessage, options?: never) => Promise<void> }, version: string): void {
  const send = transport.send.bind(transport)
  transport.send = (message: JSONRPCMessage, sendOptions?: never) => {
    if ('method' in message && message.method === 'initialize' && message.params) {
      message = { ...message, params: { ...message.params, protocolVersion: version } }
    }
    return send(message, sendOptions)
  }
}

/** The text of the first content block of a tool result. */
export function textOf(result: unknown): string {
  const content = (result as { content?: Array<{ type: string; text?: string }> }).content
  const first = content?.[0]
  if (!first || first.type !== 'text' || typeof first.text !== 'string') throw new Error(`not a text result: ${JSON.stringify(result)}`)
  return first.text
}

// ---------------------------------------------------------------------------------------------------
// Raw HTTP and SSE
// ---------------------------------------------------------------------------------------------------

export interface SseEvent {
  id: string | undefined
  event: string | undefined
  /** The data lines joined by "\n"; '' for an event with empty (or no) data. */
  data: string
  retry: number | undefined
}

/** The JSON-RPC message of an event (throws on the priming event or non-JSON data). */
export function messageOf(event: SseEvent): Record<string, unknown> & { id?: unknown; method?: string; result?: unknown; error?: unknown; params?: unknown } {
  return JSON.parse(event.data) as Record<string, unknown>
}

/**
 * An SSE response read event by event, with bounded waits. Comments (keep-alives) are skipped; an event
 * is dispatched at every blank line after any field, so the priming event (id + empty data) is seen.
 */
export class SseReader {
  readonly response: Response
  /** Every event parsed so far, in order. */
  readonly events: SseEvent[] = []
  /** The raw text received so far. */
  text = ''
  #reader: ReadableStreamDefaultReader<Uint8Array>
  #decoder = new TextDecoder()
  #buffer = ''
  #queue: SseEvent[] = []
  #done = false
  #pending: Promise<void> | undefined
  #current: { id?: string; event?: string; data?: string[]; retry?: number } = {}
  #controller: AbortController

  constructor(response: Response, controller: AbortController) {
    if (!response.body) throw new Error(`no body (status ${response.status})`)
    this.response = response
    this.#controller = controller
    this.#reader = response.body.getReader()
    defer(() => this.abort())
  }

  /** The stream has ended (the server finished the response). */
  get done(): boolean {
    return this.#done && this.#queue.length === 0
  }

  /** The next event, or undefined once the stream has ended. Rejects after `ms`. */
  async next(ms = 5000, what = 'an SSE event'): Promise<SseEvent | undefined> {
    const deadline = Date.now() + ms
    while (this.#queue.length === 0 && !this.#done) {
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out after ${ms} ms waiting for ${what}; got so far: ${JSON.stringify(this.text)}`)
      this.#pending ??= this.#pump().finally(() => (this.#pending = undefined))
      await within(this.#pending, left, what).catch((error: unknown) => {
        throw new Error(`${(error as Error).message}; got so far: ${JSON.stringify(this.text)}`)
      })
    }
    return this.#queue.shift()
  }

  /** Read until an event matches (events before it are returned too). */
  async until(predicate: (event: SseEvent) => boolean, ms = 5000, what = 'a matching SSE event'): Promise<{ match: SseEvent; before: SseEvent[] }> {
    const deadline = Date.now() + ms
    const before: SseEvent[] = []
    for (;;) {
      const event = await this.next(Math.max(1, deadline - Date.now()), what)
      if (!event) throw new Error(`the stream ended before ${what}; got: ${JSON.stringify(this.text)}`)
      if (predicate(event)) return { match: event, before }
      before.push(event)
    }
  }

  /** Read until the JSON-RPC response with this id. */
  async responseTo(id: unknown, ms = 5000): Promise<{ match: SseEvent; before: SseEvent[] }> {
    return this.until((event) => event.data !== '' && messageOf(event).id === id && messageOf(event).method === undefined, ms, `the response to ${String(id)}`)
  }

  /** Read everything up to the end of the stream. */
  async rest(ms = 5000): Promise<SseEvent[]> {
    const deadline = Date.now() + ms
    const out: SseEvent[] = []
    for (;;) {
      const event = await this.next(Math.max(1, deadline - Date.now()), 'the end of the stream')
      if (!event) return out
      out.push(event)
    }
  }

  /** Drop the connection (client side). */
  abort(): void {
    this.#controller.abort()
    this.#reader.cancel().catch(() => {})
  }

  async #pump(): Promise<void> {
    let chunk: Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>["read"]>>
    try {
      chunk = await this.#reader.read()
    } catch {
      this.#done = true
      return
    }
    if (chunk.done) {
      this.#done = true
      this.#parse(this.#decoder.decode())
      return
    }
    this.#parse(this.#decoder.decode(chunk.value, { stream: true }))
  }

  #parse(text: string): void {
    this.text += text
    this.#buffer += text
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.#buffer)
      if (!match) return
      const line = this.#buffer.slice(0, match.index)
      this.#buffer = this.#buffer.slice(match.index + match[0].length)
      this.#line(line)
    }
  }

  #line(line: string): void {
    const current = this.#current
    if (line === '') {
      if (Object.keys(current).length > 0) {
        const event: SseEvent = { id: current.id, event: current.event, data: (current.data ?? []).join('\n'), retry: current.retry }
        this.events.push(event)
        this.#queue.push(event)
      }
      this.#current = {}
      return
    }
    if (line.startsWith(':')) return
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    switch (field) {
      case 'id':
        current.id = value
        break
      case 'event':
        current.event = value
        break
      case 'data':
        ;(current.data ??= []).push(value)
        break
      case 'retry':
        current.retry = Number(value)
        break
    }
  }
}

export const POST_ACCEPT = 'application/json, text/event-stream'

export interface RawSession {
  base: string
  id: string
  protocolVersion: string
  headers: Record<string, string>
}

let nextId = 1000

/** A fresh JSON-RPC request id for raw tests. */
export function rid(): number {
  return ++nextId
}

/** POST a JSON body to /mcp (a request's answer is read with `SseReader`). Aborted after the test. */
export async function rawPost(base: string, body: unknown, headers: Record<string, string> = {}): Promise<{ response: Response; controller: AbortController }> {
  const controller = new AbortController()
  defer(() => controller.abort())
  const response = await fetch(`${base}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: POST_ACCEPT, ...headers },
    body: JSON.stringify(body),
    signal: controller.signal,
  })
  return { response, controller }
}

/** POST a request on a raw session and return its SSE stream. */
export async function postStream(session: RawSession, body: unknown): Promise<SseReader> {
  const { response, controller } = await within(rawPost(session.base, body, session.headers), 5000, 'the POST response head')
  if (response.status !== 200 || !response.headers.get('content-type')?.startsWith('text/event-stream')) {
    throw new Error(`expected an SSE answer, got ${response.status} ${response.headers.get('content-type')}: ${await response.text()}`)
  }
  return new SseReader(response, controller)
}

/** POST notifications or responses (expects 202). */
export async function postAccepted(session: RawSession, body: unknown): Promise<void> {
  const { response } = await rawPost(session.base, body, session.headers)
  const text = await response.text()
  if (response.status !== 202) throw new Error(`expected 202, got ${response.status}: ${text}`)
}

/** GET /mcp on a raw session (with `Last-Event-ID` to resume). Returns the raw response; aborted after the test. */
export async function rawGet(session: RawSession, lastEventId?: string): Promise<{ response: Response; controller: AbortController }> {
  const controller = new AbortController()
  defer(() => controller.abort())
  const headers: Record<string, string> = { accept: 'text/event-stream', ...session.headers }
  if (lastEventId !== undefined) headers['last-event-id'] = lastEventId
  const response = await fetch(`${session.base}/mcp`, { method: 'GET', headers, signal: controller.signal })
  return { response, controller }
}

/** GET /mcp as an SSE stream (throws unless 200 text/event-stream). */
export async function getStream(session: RawSession, lastEventId?: string, ms = 5000): Promise<SseReader> {
  const { response, controller } = await within(rawGet(session, lastEventId), ms, 'the GET response head')
  if (response.status !== 200) throw new Error(`expected 200 on GET, got ${response.status}: ${await response.text()}`)
  return new SseReader(response, controller)
}

/** Initialize a session with raw HTTP (and send notifications/initialized). */
export async function openRawSession(
  base: string,
  protocolVersion: string,
  capabilities: Record<string, unknown> = { sampling: {} },
): Promise<RawSession> {
  const id = rid()
  const { response, controller } = await rawPost(base, {
    jsonrpc: '2.0',
    id,
    method: 'initialize',
    params: { protocolVersion, capabilities, clientInfo: { name: 'raw', version: '1' } },
  })
  const sessionId = response.headers.get('mcp-session-id')
  if (response.status !== 200 || !sessionId) throw new Error(`initialize failed: ${response.status} ${await response.text()}`)
  const reader = new SseReader(response, controller)
  const { match } = await reader.responseTo(id)
  const result = messageOf(match).result as { protocolVersion: string }
  const session: RawSession = {
    base,
    id: sessionId,
    protocolVersion: result.protocolVersion,
    headers: { 'mcp-session-id': sessionId, 'mcp-protocol-version': result.protocolVersion },
  }
  await postAccepted(session, { jsonrpc: '2.0', method: 'notifications/initialized' })
  return session
}

/** A tools/call request body. */
export function toolCall(id: number, name: string, args: Record<string, unknown> = {}, meta?: Record<string, unknown>): unknown {
  return { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args, ...(meta ? { _meta: meta } : {}) } }
}

/** The JSON-RPC messages carried by a list of events (the priming event and empty events skipped). */
export function messagesOf(events: SseEvent[]): Array<ReturnType<typeof messageOf>> {
  return events.filter((event) => event.data !== '').map(messageOf)
}
