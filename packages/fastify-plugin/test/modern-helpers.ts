// Helpers of the HTTP tests of the 2026-07-28 ("modern") leg: a request as a conforming 2026 client sends
// it (the `_meta` envelope in the body, the standard headers beside it), a POST over real HTTP, and its
// answer read whole, whether a JSON body or an SSE stream. The keys are spelled out here, not imported from
// the code under test, so a misspelt constant there fails these tests. Every wait is bounded.
import { expect } from 'vitest'
import { abortAfterTest, getJson, SseReader, within, type JsonRpcId, type Message, type SseEvent } from './failure-helpers.js'

export const MODERN = '2026-07-28'
export const PROTOCOL_VERSION_KEY = 'io.modelcontextprotocol/protocolVersion'
export const CLIENT_INFO_KEY = 'io.modelcontextprotocol/clientInfo'
export const CLIENT_CAPABILITIES_KEY = 'io.modelcontextprotocol/clientCapabilities'
export const LOG_LEVEL_KEY = 'io.modelcontextprotocol/logLevel'
export const SERVER_INFO_KEY = 'io.modelcontextprotocol/serverInfo'
export const SUBSCRIPTION_ID_KEY = 'io.modelcontextprotocol/subscriptionId'

/** Who the proxy says the echo fixture is (its InitializeResult's serverInfo). */
export const ECHO_SERVER_INFO = { name: 'echo-fixture', version: '1.0.0' }

export interface ModernOptions {
  /** `io.modelcontextprotocol/logLevel` of the envelope. */
  logLevel?: string
  /** Other `_meta` entries (progressToken, trace context), or envelope keys overridden. */
  meta?: Record<string, unknown>
}

/** The `_meta` envelope the conformance harness sends (plus `meta`). */
export function envelope(options: ModernOptions = {}): Record<string, unknown> {
  return {
    [PROTOCOL_VERSION_KEY]: MODERN,
    [CLIENT_INFO_KEY]: { name: 'modern-http-test', version: '1.0.0' },
    [CLIENT_CAPABILITIES_KEY]: {},
    ...(options.logLevel !== undefined && { [LOG_LEVEL_KEY]: options.logLevel }),
    ...options.meta,
  }
}

/** A 2026-07-28 request: `params._meta` holds the envelope. */
export function modernRequest(id: JsonRpcId, method: string, params: Record<string, unknown> = {}, options: ModernOptions = {}): Message {
  return { jsonrpc: '2.0', id, method, params: { ...params, _meta: envelope(options) } }
}

/** A 2026-07-28 `tools/call`. */
export function modernCall(id: JsonRpcId, name: string, args: Record<string, unknown> = {}, options: ModernOptions = {}): Message {
  return modernRequest(id, 'tools/call', { name, arguments: args }, options)
}

/**
 * A tool of the echo fixture run through the fixture's own method `fixture/call`: to the proxy an extension
 * method, not a `tools/call` (no Mcp-Name, no Mcp-Param check), served by the modern leg's one child beside
 * whatever else is in flight there. Tests watch the child with it.
 */
export function fixtureCall(id: JsonRpcId, name: string, args: Record<string, unknown> = {}, options: ModernOptions = {}): Message {
  return modernRequest(id, 'fixture/call', { name, arguments: args }, options)
}

/** `subscriptions/listen` with this filter. */
export function listenRequest(id: JsonRpcId, notifications: Record<string, unknown>): Message {
  return modernRequest(id, 'subscriptions/listen', { notifications })
}

/** The body field `Mcp-Name` mirrors, per method (the tasks rows are SEP-2663's). */
const NAME_FIELD: Record<string, string> = { 'tools/call': 'name', 'prompts/get': 'name', 'resources/read': 'uri', 'tasks/get': 'taskId', 'tasks/update': 'taskId', 'tasks/cancel': 'taskId' }

/** The standard headers a conforming client sends with `message`: MCP-Protocol-Version, Mcp-Method, and Mcp-Name where the method has one. */
export function standardHeaders(message: Message): Record<string, string> {
  const method = String(message.method)
  const headers: Record<string, string> = { 'mcp-protocol-version': MODERN, 'mcp-method': method }
  const field = Object.hasOwn(NAME_FIELD, method) ? NAME_FIELD[method] : undefined
  const value = field === undefined ? undefined : (message.params as Record<string, unknown> | undefined)?.[field]
  if (typeof value === 'string') headers['mcp-name'] = value
  return headers
}

/**
 * POST `message` over real HTTP with the Streamable HTTP headers and its standard headers; `headers` are
 * merged over them (undefined removes one). Resolves with the response head; the body is read by
 * `readAnswer`. The request is aborted after the test, or by `signal`.
 */
export function postModern(base: string, message: unknown, headers: Record<string, string | undefined> = {}, signal?: AbortSignal): Promise<Response> {
  const standard = typeof message === 'object' && message !== null && 'method' in message ? standardHeaders(message as Message) : {}
  const merged: Record<string, string> = {}
  const all = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...standard, ...headers }
  for (const [name, value] of Object.entries(all)) if (value !== undefined) merged[name] = value
  const body = typeof message === 'string' ? message : JSON.stringify(message)
  return within(
    fetch(`${base}/mcp`, { method: 'POST', headers: merged, body, signal: signal ?? abortAfterTest().signal }),
    `the answer head of POST /mcp ${String((message as Message).method)}`,
  )
}

/** A modern answer read to its end. */
export interface Answer {
  status: number
  headers: Headers
  /** How it came: one JSON body, or an SSE stream. */
  kind: 'json' | 'sse'
  /** The SSE events (empty for a JSON body). */
  events: SseEvent[]
  /** Every JSON-RPC message, in order. */
  messages: Message[]
  /** The response (not a notification) among them, if any. */
  answer: Message | undefined
  /** The notifications among them, in order. */
  notifications: Message[]
}

/** Read an answer whole: a JSON body, or every SSE event until the server ends the stream. Bounded. */
export async function readAnswer(response: Response): Promise<Answer> {
  const type = response.headers.get('content-type') ?? ''
  const events: SseEvent[] = []
  let messages: Message[]
  if (type.startsWith('text/event-stream')) {
    const reader = new SseReader(response)
    for (;;) {
      const event = await reader.next()
      if (!event) break
      events.push(event)
    }
    messages = events.filter((event) => event.data !== '').map((event) => JSON.parse(event.data) as Message)
  } else {
    const text = await within(response.text(), 'a JSON answer body')
    messages = text === '' ? [] : [JSON.parse(text) as Message]
  }
  return {
    status: response.status,
    headers: response.headers,
    kind: type.startsWith('text/event-stream') ? 'sse' : 'json',
    events,
    messages,
    answer: messages.find((message) => !('method' in message)),
    notifications: messages.filter((message) => 'method' in message),
  }
}

/** POST and read the answer whole. */
export async function exchange(base: string, message: unknown, headers: Record<string, string | undefined> = {}): Promise<Answer> {
  return readAnswer(await postModern(base, message, headers))
}

/** The result of a successful answer (fails the test otherwise). */
export function resultOf(answer: Answer): Record<string, unknown> {
  expect(answer.status, JSON.stringify(answer.messages)).toBe(200)
  expect(answer.answer?.error, 'an error answer').toBeUndefined()
  return answer.answer?.result as Record<string, unknown>
}

/** The text of the first content item of a tools/call answer. */
export function textOfAnswer(answer: Answer): string | undefined {
  return (resultOf(answer) as { content?: Array<{ text?: string }> }).content?.[0]?.text
}

/** A modern refusal: the status, a JSON body holding one JSON-RPC error with this code and the request's id echoed. */
export function expectModernError(answer: Answer, status: number, code: number, id: JsonRpcId | null): { code: number; message: string; data?: unknown } {
  expect(answer.status, JSON.stringify(answer.messages)).toBe(status)
  expect(answer.kind).toBe('json')
  expect(answer.headers.get('mcp-session-id')).toBeNull()
  expect(answer.messages).toHaveLength(1)
  const [message] = answer.messages
  expect(message).toMatchObject({ jsonrpc: '2.0', id, error: { code } })
  expect(message).not.toHaveProperty('result')
  const error = message!.error!
  expect(error.message.length).toBeGreaterThan(0)
  return error
}

/** What `GET /ready` reports about the modern leg. */
export interface ModernReport {
  state: string
  /** The server's era, decided (`legacy`, `modern`) or still to be probed (`auto`). */
  era: string
  pid?: number
  recentExits: number
  listenStreams: number
}

/** The `modern` member of `GET /ready`, or undefined when the leg is off. */
export async function modernReport(base: string): Promise<ModernReport | undefined> {
  const { body } = await getJson(base, '/ready')
  return body.modern as ModernReport | undefined
}

/** An open `subscriptions/listen` stream. */
export interface ListenStream {
  response: Response
  reader: SseReader
  controller: AbortController
}

/** Open `subscriptions/listen` (request id `id`, this filter); the stream is aborted after the test or by `controller`. */
export async function openListen(base: string, id: JsonRpcId, notifications: Record<string, unknown>): Promise<ListenStream> {
  const controller = abortAfterTest()
  const response = await postModern(base, listenRequest(id, notifications), {}, controller.signal)
  expect(response.status).toBe(200)
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/)
  return { response, reader: new SseReader(response), controller }
}

/** The next JSON-RPC message on a listen stream (bounded); fails if the stream ends first. */
export async function nextFrame(stream: ListenStream): Promise<Message> {
  for (;;) {
    const event = await stream.reader.next()
    if (!event) throw new Error('the listen stream ended')
    if (event.data !== '') return JSON.parse(event.data) as Message
  }
}

/** The rest of a listen stream's frames, once the server ends it (bounded). */
export async function framesUntilEnd(stream: ListenStream): Promise<Message[]> {
  const frames: Message[] = []
  for (;;) {
    const event = await stream.reader.next()
    if (!event) return frames
    if (event.data !== '') frames.push(JSON.parse(event.data) as Message)
  }
}
