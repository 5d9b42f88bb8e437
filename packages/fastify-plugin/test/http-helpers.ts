// HTTP-level helpers for the plugin's contract tests: JSON-RPC bodies, `app.inject` shortcuts, an SSE
// parser, and real-HTTP stream readers that are always aborted (and apps always closed) after each test.
import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { afterEach, expect } from 'vitest'

export type JsonRpcId = string | number

/** The revision most tests negotiate. */
export const LATEST = '2025-11-25'

/** Headers every Streamable HTTP POST carries. */
export const POST_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' } as const

/** A bound on every wait for something over the network: a hang fails the test instead of stalling it. */
export const WAIT_MS = 3000

const controllers: AbortController[] = []
const extraApps: FastifyInstance[] = []
// Registered after helpers.ts' hook; vitest runs after-hooks as a stack, so streams are aborted first.
afterEach(async () => {
  for (const controller of controllers.splice(0)) controller.abort()
  await Promise.all(extraApps.splice(0).map((app) => app.close().catch(() => {})))
})

/** Close an app built by hand (not through helpers.ts) after the test. */
export function closeAfterTest(app: FastifyInstance): FastifyInstance {
  extraApps.push(app)
  return app
}

/** An AbortController that is aborted after the test, whatever happens. */
export function abortAfterTest(): AbortController {
  const controller = new AbortController()
  controllers.push(controller)
  return controller
}

export function initializeRequest(id: JsonRpcId = 1, protocolVersion: string = LATEST): Record<string, unknown> {
  return {
    jsonrpc: '2.0',
    id,
    method: 'initialize',
    params: { protocolVersion, capabilities: {}, clientInfo: { name: 'contract-test', version: '1.0.0' } },
  }
}

export function rpcRequest(id: JsonRpcId, method: string, params?: Record<string, unknown>): Record<string, unknown> {
  return params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params }
}

export function rpcNotification(method: string, params?: Record<string, unknown>): Record<string, unknown> {
  return params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params }
}

export function echoCall(id: JsonRpcId, text: string): Record<string, unknown> {
  return rpcRequest(id, 'tools/call', { name: 'echo', arguments: { text } })
}

/** POST a body (a value is JSON-encoded, a string is sent as is) with the standard headers, overridable. */
export function post(
  app: FastifyInstance,
  body: unknown,
  headers: Record<string, string | undefined> = {},
  url = '/mcp',
): Promise<LightMyRequestResponse> {
  const merged: Record<string, string> = {}
  for (const [name, value] of Object.entries({ ...POST_HEADERS, ...headers })) if (value !== undefined) merged[name] = value
  return app.inject({ method: 'POST', url, headers: merged, payload: typeof body === 'string' ? body : JSON.stringify(body) })
}

/** A comma-separated header as a list of lower-case names. */
export function headerList(value: unknown): string[] {
  return String(value ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== '')
}

export interface SseEvent {
  event: string | undefined
  id: string | undefined
  retry: string | undefined
  data: string
}

/** Parse SSE blocks (comments and field-less blocks skipped). A trailing incomplete block is not returned. */
export function parseSseBlocks(text: string): { events: SseEvent[]; rest: string } {
  const normalized = text.replace(/\r\n?/g, '\n')
  const blocks = normalized.split('\n\n')
  const rest = blocks.pop() ?? ''
  const events: SseEvent[] = []
  for (const block of blocks) {
    const event: SseEvent = { event: undefined, id: undefined, retry: undefined, data: '' }
    const data: string[] = []
    let fields = 0
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue
      const colon = line.indexOf(':')
      const name = colon === -1 ? line : line.slice(0, colon)
      let value = colon === -1 ? '' : line.slice(colon + 1)
      if (value.startsWith(' ')) value = value.slice(1)
      fields++
      if (name === 'data') data.push(value)
      else if (name === 'event') event.event = value
      else if (name === 'id') event.id = value
      else if (name === 'retry') event.retry = value
    }
    if (fields === 0) continue
    event.data = data.join('\n')
    events.push(event)
  }
  return { events, rest }
}

/** Parse a complete SSE text into events (comments skipped; events with neither data nor id skipped). */
export function parseSse(text: string): SseEvent[] {
  return parseSseBlocks(text + '\n\n').events
}

/** The JSON-RPC messages in an SSE text (events with data; the priming event has none). */
export function sseMessages(text: string): Array<Record<string, unknown>> {
  return parseSse(text)
    .filter((e) => e.data !== '')
    .map((e) => JSON.parse(e.data) as Record<string, unknown>)
}

/** Status, then the JSON-RPC error body: jsonrpc 2.0, the code, a non-empty message, the id (null if none). */
export function expectJsonRpcError(
  response: { statusCode: number; body: string; headers: IncomingHttpHeaders | Record<string, unknown> },
  status: number,
  code: number,
  id: JsonRpcId | null = null,
): { jsonrpc: string; id: unknown; error: { code: number; message: string; data?: unknown } } {
  expect(response.statusCode, response.body).toBe(status)
  expect(String(response.headers['content-type'])).toMatch(/^application\/json/)
  const body = JSON.parse(response.body) as { jsonrpc: string; id: unknown; error: { code: number; message: string; data?: { reason?: unknown } } }
  expect(body.jsonrpc).toBe('2.0')
  expect(body.error.code).toBe(code)
  // Every refusal of the proxy names itself with a stable code (the message may change; this may not).
  expect(body.error.data?.reason, 'error.data.reason').toMatch(/^MCP_PROXY_[A-Z0-9_]+$/)
  expect(typeof body.error.message).toBe('string')
  expect(body.error.message.length).toBeGreaterThan(0)
  expect(body.id).toEqual(id)
  expect(body).not.toHaveProperty('result')
  return body
}

export interface Session {
  sessionId: string
  initialize: LightMyRequestResponse
  result: Record<string, unknown>
}

/** Initialize a session through `app.inject` (and send `notifications/initialized`); returns its id. */
export async function initSession(
  app: FastifyInstance,
  options: { protocolVersion?: string; headers?: Record<string, string | undefined>; url?: string; initialized?: boolean } = {},
): Promise<Session> {
  const url = options.url ?? '/mcp'
  const initialize = await post(app, initializeRequest(1, options.protocolVersion ?? LATEST), options.headers, url)
  expect(initialize.statusCode, initialize.body).toBe(200)
  const sessionId = initialize.headers['mcp-session-id']
  if (typeof sessionId !== 'string') throw new Error(`no mcp-session-id on the initialize answer: ${JSON.stringify(initialize.headers)}`)
  const contentType = String(initialize.headers['content-type'])
  const messages = contentType.startsWith('text/event-stream') ? sseMessages(initialize.body) : [JSON.parse(initialize.body) as Record<string, unknown>]
  const answer = messages.find((m) => m.id === 1)
  if (!answer || typeof answer.result !== 'object' || answer.result === null) throw new Error(`no InitializeResult: ${initialize.body}`)
  if (options.initialized !== false) {
    const done = await post(app, rpcNotification('notifications/initialized'), { ...options.headers, 'mcp-session-id': sessionId }, url)
    expect(done.statusCode, done.body).toBe(202)
  }
  return { sessionId, initialize, result: answer.result as Record<string, unknown> }
}

/** The answers of an inject response that holds requests: SSE events or one JSON body. */
export function answersOf(response: LightMyRequestResponse): Array<Record<string, unknown>> {
  const contentType = String(response.headers['content-type'])
  if (contentType.startsWith('text/event-stream')) return sseMessages(response.body)
  const value = JSON.parse(response.body) as unknown
  return Array.isArray(value) ? (value as Array<Record<string, unknown>>) : [value as Record<string, unknown>]
}

/** Reject after `ms` if `promise` has not settled (a bounded wait, not a timing assertion). */
export async function within<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`gave up waiting for ${what} after ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Reads SSE events off a fetch response body, one at a time. */
export class SseReader {
  #reader: ReadableStreamDefaultReader<Uint8Array>
  #decoder = new TextDecoder()
  #buffer = ''
  #queue: SseEvent[] = []

  constructor(body: ReadableStream<Uint8Array>) {
    this.#reader = body.getReader()
  }

  /** The next event with data or an id, or undefined when the stream ended. Bounded by WAIT_MS. */
  async next(what = 'an SSE event'): Promise<SseEvent | undefined> {
    return within(this.#next(), what)
  }

  /** The next event that satisfies `match` (skipping the others). */
  async until(match: (event: SseEvent) => boolean, what: string): Promise<SseEvent> {
    return within(
      (async () => {
        for (;;) {
          const event = await this.#next()
          if (!event) throw new Error(`the stream ended before ${what}`)
          if (match(event)) return event
        }
      })(),
      what,
    )
  }

  /** Resolves true once the stream ends (the server closed it). */
  async ended(what = 'the end of the stream'): Promise<boolean> {
    return within(
      (async () => {
        for (;;) if ((await this.#next()) === undefined) return true
      })(),
      what,
    )
  }

  async #next(): Promise<SseEvent | undefined> {
    for (;;) {
      const queued = this.#queue.shift()
      if (queued) return queued
      const boundary = this.#buffer.indexOf('\n\n')
      if (boundary !== -1) {
        const block = this.#buffer.slice(0, boundary + 2)
        this.#buffer = this.#buffer.slice(boundary + 2)
        this.#queue.push(...parseSse(block))
        continue
      }
      const { done, value } = await this.#reader.read()
      if (done) return undefined
      this.#buffer += this.#decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n')
    }
  }
}

export interface OpenStream {
  response: Response
  reader: SseReader
  controller: AbortController
}

/** A fetch whose body is an SSE stream, aborted after the test (or by `controller.abort()`). */
export async function openStream(url: string, init: RequestInit): Promise<OpenStream> {
  const controller = abortAfterTest()
  const response = await within(fetch(url, { ...init, signal: controller.signal }), `the answer head of ${init.method ?? 'GET'} ${url}`)
  if (!response.body) throw new Error('no body')
  return { response, reader: new SseReader(response.body), controller }
}

/** A fetch with a bounded wait (the signal aborts it if the server never answers). */
export async function fetchWithin(url: string, init: RequestInit = {}): Promise<{ response: Response; text: string }> {
  const controller = abortAfterTest()
  const timer = setTimeout(() => controller.abort(new Error(`no answer from ${init.method ?? 'GET'} ${url} within ${WAIT_MS} ms`)), WAIT_MS)
  try {
    const response = await fetch(url, { ...init, signal: controller.signal })
    const text = await response.text()
    return { response, text }
  } finally {
    clearTimeout(timer)
  }
}

/** The same shape as an inject response, for `expectJsonRpcError` on a fetch answer. */
export function asInjectLike(response: Response, text: string): { statusCode: number; body: string; headers: Record<string, string> } {
  return { statusCode: response.status, body: text, headers: Object.fromEntries(response.headers) }
}

/** A raw node:http request (chunked when `chunks` has several entries and no content-length is given). */
export function rawRequest(
  url: string,
  options: { method: string; headers?: OutgoingHttpHeaders; chunks?: Array<string | Buffer> },
): Promise<{ statusCode: number; headers: IncomingHttpHeaders; body: string }> {
  return within(
    new Promise((resolve, reject) => {
      const req = httpRequest(url, { method: options.method, headers: options.headers ?? {} }, (res) => {
        const parts: Buffer[] = []
        res.on('data', (chunk: Buffer) => parts.push(chunk))
        res.on('end', () => resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }))
        res.on('error', reject)
      })
      // The server may answer (413) and close before every chunk is written: that is not a failure here.
      req.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code !== 'EPIPE' && error.code !== 'ECONNRESET') reject(error)
      })
      for (const chunk of options.chunks ?? []) req.write(chunk)
      req.end()
    }),
    `${options.method} ${url}`,
  )
}
