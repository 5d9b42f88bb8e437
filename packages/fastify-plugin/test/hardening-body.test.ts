// Request bodies the proxy must refuse cleanly, over real HTTP with the echo fixture: batches with
// duplicate request ids, JSON nested deeper than the proxy can re-serialize, and bodies that never finish
// arriving (bodyTimeout). After each refusal the session keeps working.
import { describe, expect, it, vi } from 'vitest'
import { HttpError } from '../src/index.js'
import { nestedDeeperThan } from '../src/http/body.js'
import { MAX_JSON_DEPTH } from '../src/http/limits.js'
import { listen } from './helpers.js'
import {
  answerOf,
  getJson,
  initialize,
  isJsonRpcError,
  openGet,
  post,
  rawExchange,
  rawJsonBody,
  rawSocket,
  request,
  rpc,
  sleep,
  SseReader,
  textOf,
  toolCall,
  waitFor,
  within,
  type Message,
} from './failure-helpers.js'

vi.setConfig({ testTimeout: 15_000 })

async function listenWithPort(options: Parameters<typeof listen>[0] = {}): Promise<{ base: string; port: number }> {
  const { base } = await listen(options)
  return { base, port: Number(new URL(base).port) }
}

/** The JSON-RPC error of a refused POST: status, code, message. */
async function refusal(response: Response): Promise<{ status: number; code: number | undefined; message: string | undefined; id: unknown }> {
  const text = await response.text()
  const body = JSON.parse(text) as Message
  expect(isJsonRpcError(body), text).toBe(true)
  return { status: response.status, code: body.error?.code, message: body.error?.message, id: body.id }
}

const deep = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth)

describe('a batch with duplicate request ids', () => {
  it('gets 400 -32600 naming the duplicate id; distinct ids (1 and "1") pass; the session keeps working', async () => {
    const { base } = await listen()
    const session = await initialize(base, '2025-03-26')
    const numbers = await post(base, [toolCall(1, 'echo', { text: 'a' }), toolCall(2, 'echo', { text: 'b' }), toolCall(1, 'echo', { text: 'c' })], { session })
    expect(await refusal(numbers)).toEqual({ status: 400, code: -32600, message: expect.stringContaining('duplicate request id 1') as unknown, id: null })
    const strings = await post(base, [toolCall('x', 'echo', { text: 'a' }), toolCall('x', 'echo', { text: 'b' })], { session })
    expect((await refusal(strings)).message).toContain('duplicate request id "x"')

    const distinct = await post(base, [toolCall(1, 'echo', { text: 'number' }), toolCall('1', 'echo', { text: 'string' })], { session })
    expect(distinct.status).toBe(200)
    expect(textOf(await request(base, session, toolCall(9, 'echo', { text: 'after' })))).toBe('after')
  })

  it('is refused on the legacy /messages endpoint too', async () => {
    const { base } = await listen()
    const controller = new AbortController()
    try {
      const sse = await fetch(`${base}/sse`, { headers: { accept: 'text/event-stream' }, signal: controller.signal })
      const reader = sse.body!.getReader()
      let text = ''
      while (!text.includes('\n\n')) text += new TextDecoder().decode((await reader.read()).value)
      const endpoint = new URL(/data: (\S+)/.exec(text)?.[1] ?? '', base)
      const res = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([rpc(5, 'ping'), rpc(5, 'ping')]) })
      expect(await refusal(res)).toMatchObject({ status: 400, code: -32600, message: expect.stringContaining('duplicate request id 5') as unknown })
    } finally {
      controller.abort()
    }
  })
})

describe(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`, () => {
  const TOO_DEEP = 10_000

  it('a deeply nested batch, cancelled-notification params and tools/call arguments each get 400; the session keeps working', async () => {
    const { base } = await listen()
    const session = await initialize(base, '2025-03-26')
    const bodies: Array<[string, string]> = [
      ['batch', `[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x"},"deep":${deep(TOO_DEEP)}}},{"jsonrpc":"2.0","id":2,"method":"ping"}]`],
      ['notifications/cancelled params', `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1,"reason":${deep(TOO_DEEP)}}}`],
      ['tools/call arguments', `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"text":${deep(TOO_DEEP)}}}}`],
      ['the whole body', deep(TOO_DEEP)],
      ['objects', `{"jsonrpc":"2.0","id":4,"method":"ping","params":${'{"a":'.repeat(TOO_DEEP)}1${'}'.repeat(TOO_DEEP)}}`],
    ]
    for (const [what, body] of bodies) {
      const answer = await refusal(await post(base, body, { session }))
      expect(answer.status, what).toBe(400)
      expect([-32600, -32700], what).toContain(answer.code)
      expect(answer.message, what).toBe(HttpError.NestedTooDeep.message)
      expect(answer.message, what).toContain(`nested too deeply (limit ${MAX_JSON_DEPTH})`)
    }
    expect(textOf(await request(base, session, toolCall(9, 'echo', { text: 'still here' })))).toBe('still here')
    expect((await getJson(base, '/ping')).status).toBe(200)
  })

  it('in stateless mode (ids rewritten, so every message is re-serialized) the same bodies get 400', async () => {
    const { base } = await listen({ stateless: true })
    const answer = await refusal(await post(base, `[{"jsonrpc":"2.0","id":1,"method":"ping","params":{"deep":${deep(TOO_DEEP)}}}]`))
    expect(answer).toMatchObject({ status: 400, message: HttpError.NestedTooDeep.message })
    expect(textOf(await answerOf(await post(base, toolCall(2, 'echo', { text: 'fine' })), 2))).toBe('fine')
  })

  it(`exactly ${MAX_JSON_DEPTH} levels are accepted and answered`, async () => {
    const { base } = await listen()
    const session = await initialize(base)
    // The message itself takes 3 levels (message, params, arguments).
    const inner = deep(MAX_JSON_DEPTH - 3)
    const body = `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo","arguments":{"text":"ok","deep":${inner}}}}`
    expect(nestedDeeperThan(body, MAX_JSON_DEPTH)).toBe(false)
    expect(textOf(await request(base, session, JSON.parse(body) as Message))).toBe('ok')
  })

  it('the depth scan skips string contents, escaped quotes included', () => {
    const limit = 3
    const pad = ' '.repeat(10)
    expect(nestedDeeperThan(`${pad}[[[["x"]]]]`, limit)).toBe(true)
    expect(nestedDeeperThan(`${pad}[[["[[[[[[{{{{"]]]`, limit)).toBe(false)
    expect(nestedDeeperThan(`${pad}[[["\\"[[[[[[{{{{"]]]`, limit)).toBe(false)
    expect(nestedDeeperThan(`${pad}[[["\\\\"[[[[]]]]]]]`, limit)).toBe(true)
    expect(nestedDeeperThan(`${pad}[[["unterminated [[[[[[`, limit)).toBe(false)
    expect(nestedDeeperThan('[[[[', limit)).toBe(false) // too short to be valid JSON that deep: JSON.parse refuses it
  })
})

describe('bodyTimeout', () => {
  const HEAD = (port: number, length: number): string =>
    `POST /mcp HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\ncontent-length: ${length}\r\n\r\n`

  it('half a body: 408 with a JSON-RPC error and Connection: close, then the connection is closed', async () => {
    const { base, port } = await listenWithPort({ bodyTimeout: 300 })
    const body = JSON.stringify(toolCall(1, 'echo', { text: 'never finished' }))
    const answer = await rawExchange(port, [HEAD(port, body.length), body.slice(0, body.length / 2)], { ms: 5000 })
    expect(answer.status, answer.text).toBe(408)
    expect(answer.text.toLowerCase()).toContain('\r\nconnection: close\r\n')
    const error = rawJsonBody(answer) as Message
    expect(isJsonRpcError(error)).toBe(true)
    expect(error.error?.message).toBe(HttpError.BodyTimeout.message)
    expect(answer.closed).toBe(true)
    expect((await getJson(base, '/ping')).status).toBe(200)
  })

  it('a chunked body that stalls gets 408 too', async () => {
    const { port } = await listenWithPort({ bodyTimeout: 300 })
    const head = `POST /mcp HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n`
    const answer = await rawExchange(port, [head, '5\r\n{"jso\r\n'], { ms: 5000 })
    expect(answer.status, answer.text).toBe(408)
    expect(answer.closed).toBe(true)
  })

  it('a body sent slowly but completely within the limit is served; bodiless GET streams outlive the limit', async () => {
    const { base, port } = await listenWithPort({ bodyTimeout: 400 })
    const session = await initialize(base)
    const stream = await openGet(base, session)
    expect(stream.status).toBe(200)

    const body = JSON.stringify(toolCall(2, 'echo', { text: 'slow but whole' }))
    const socket = await rawSocket(port)
    const received: Buffer[] = []
    socket.on('data', (chunk: Buffer) => received.push(chunk))
    socket.write(
      `POST /mcp HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\nmcp-session-id: ${session}\r\nconnection: close\r\ncontent-length: ${body.length}\r\n\r\n`,
    )
    socket.write(body.slice(0, 10))
    await sleep(150)
    socket.write(body.slice(10))
    await within(new Promise((resolve) => socket.once('close', resolve)), 'the answer to the slow body')
    const text = Buffer.concat(received).toString('utf8')
    expect(text).toMatch(/^HTTP\/1\.1 200/)
    expect(text).toContain('slow but whole')

    // Well past bodyTimeout, the GET stream is still open and gets the server's messages (with two
    // calls in flight, a notification goes to the GET stream).
    await sleep(600)
    const reader = new SseReader(stream)
    post(base, toolCall(98, 'slow', { ms: 30_000 }), { session }).catch(() => {})
    const log = await post(base, toolCall(3, 'log', { message: 'still open' }), { session })
    expect(log.status).toBe(200)
    const event = await reader.until((m) => m.method === 'notifications/message')
    expect((event.params as { data: string }).data).toBe('still open')
    reader.cancel()
  })

  it('0 disables the limit', async () => {
    const { port } = await listenWithPort({ bodyTimeout: 0 })
    const socket = await rawSocket(port)
    let data = ''
    socket.on('data', (chunk: Buffer) => (data += chunk.toString()))
    socket.write(`${HEAD(port, 100)}{"jsonrpc"`)
    await sleep(500)
    expect(data).toBe('')
    await waitFor(() => socket.writable, 'the socket to stay open')
  })
})
