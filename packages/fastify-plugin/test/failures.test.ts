// Failure modes with real children and real HTTP on 127.0.0.1: a child that exits mid-call, hangs, never
// initializes, starts slowly, writes garbage or noise, ignores SIGTERM; shutdown with work in flight; the
// stateless child's restarts; limits (sessions, idle, slow clients); client disconnects; bad input.
// Every wait is bounded; nothing asserts how long something took.
import { afterAll, describe, expect, it, vi } from 'vitest'
import { listen } from './helpers.js'
import {
  abortAfterTest,
  alive,
  answerOf,
  childPids,
  deleteSession,
  getJson,
  initialize,
  initializeMessage,
  isJsonRpcError,
  LATEST,
  listenLogged,
  messagesOf,
  openGet,
  post,
  rawExchange,
  rawJsonBody,
  rawRequest,
  rawSocket,
  request,
  rpc,
  sleep,
  SseReader,
  stderrLines,
  textOf,
  toolCall,
  waitFor,
  waitForChildren,
  within,
  type Message,
} from './failure-helpers.js'

const ECHO = 'echo-server.mjs'

// Real children and real time: each test is bounded by 10 s (the project default is 5 s).
vi.setConfig({ testTimeout: 10_000 })

/** helpers.ts' listen, plus the port (for raw sockets). */
async function listenWithPort(options: Parameters<typeof listen>[0] = {}): Promise<{ base: string; port: number }> {
  const { base } = await listen(options)
  return { base, port: Number(new URL(base).port) }
}

// No test may leave a fixture process behind (the apps are closed after each test; closing stops children).
afterAll(async () => {
  await waitFor(() => childPids('/fixtures/').length === 0, () => `no fixture process left (have ${childPids('/fixtures/').join(', ')})`)
})

function expectExitError(answer: Message, id: number): void {
  expect(answer.id).toBe(id)
  expect(answer.error?.code).toBe(-32603)
  expect(answer.error?.message).toMatch(/exited/)
  expect(answer.error?.message).toMatch(/code 7/)
}

describe('a child that exits mid-request', () => {
  it('answers the call in flight with an error, ends the session, and a new initialize gets a new child', async () => {
    const { base } = await listen({ fixture: 'crash-server', warmChildren: 0 })
    const session = await initialize(base)
    const [first] = await waitForChildren('crash-server.mjs', 1)

    const response = await post(base, toolCall(1, 'anything'), { session })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const messages = await messagesOf(response)
    expect(messages).toHaveLength(1)
    expectExitError(messages[0]!, 1)

    // The session ended with its child.
    const after = await post(base, rpc(2, 'ping'), { session })
    expect(after.status).toBe(404)
    expect(isJsonRpcError(await after.json())).toBe(true)
    await waitForChildren('crash-server.mjs', 0)

    const next = await initialize(base)
    expect(next).not.toBe(session)
    const [second] = await waitForChildren('crash-server.mjs', 1)
    expect(second).not.toBe(first)
    const tools = await request(base, next, rpc(3, 'tools/list'))
    expect((tools.result as { tools: unknown[] }).tools.length).toBeGreaterThan(0)
  })

  it('answers every call in flight, each on its own stream', async () => {
    const { base } = await listen({ warmChildren: 0 })
    const session = await initialize(base)
    // Four slow calls in flight (their streams have started: the requests reached the child's stdin)...
    const slow = await Promise.all([1, 2, 3, 4].map((id) => post(base, toolCall(id, 'slow', { ms: 30_000 }), { session })))
    for (const response of slow) expect(response.status).toBe(200)
    // ...then the child exits with code 7 (the echo `crash` tool).
    const crash = await post(base, toolCall(5, 'crash', { code: 7 }), { session })
    const answers = await Promise.all([...slow, crash].map((response, i) => answerOf(response, i + 1)))
    answers.forEach((answer, i) => expectExitError(answer, i + 1))
    expect((await post(base, rpc(6, 'ping'), { session })).status).toBe(404)
  })

  it('a batch of calls (2025-03-26) to a child that dies gets one error per call', async () => {
    const { base } = await listen({ fixture: 'crash-server', warmChildren: 0 })
    const session = await initialize(base, '2025-03-26')
    const response = await post(base, [toolCall(1, 'a'), toolCall(2, 'b'), toolCall(3, 'c')], { session })
    expect(response.status).toBe(200)
    const messages = await messagesOf(response)
    expect(messages.map((m) => m.id).sort()).toEqual([1, 2, 3])
    for (const message of messages) expectExitError(message, message.id as number)
  })
})

describe('a child that hangs', () => {
  it('a call times out with -32001 and the proxy keeps answering', async () => {
    const { base } = await listen({ fixture: 'hang-server', requestTimeout: 300 })
    const session = await initialize(base)
    const answer = await request(base, session, toolCall(1, 'echo', { text: 'x' }))
    expect(answer.error?.code).toBe(-32001)
    expect(answer.error?.message).toMatch(/timed out/)
    expect((await getJson(base, '/ping')).status).toBe(200)
    // The session itself is still there (a hung call is not a dead child).
    expect((await deleteSession(base, session)).status).toBe(200)
  })

  it('progress keeps a call alive past requestTimeout', async () => {
    const { base } = await listen({ requestTimeout: 250, maxRequestTimeout: 10_000 })
    const session = await initialize(base)
    const response = await post(base, toolCall(1, 'progress', { steps: 5, ms: 100 }, { progressToken: 'tok' }), { session })
    const messages = await messagesOf(response)
    const progress = messages.filter((m) => m.method === 'notifications/progress')
    expect(progress.map((m) => (m.params as { progress: number }).progress)).toEqual([1, 2, 3, 4, 5])
    for (const m of progress) expect((m.params as { progressToken: unknown }).progressToken).toBe('tok')
    const answer = messages.find((m) => m.id === 1)
    expect(answer?.error).toBeUndefined()
    expect(textOf(answer!)).toBe('progress done')
  })

  it('but never past maxRequestTimeout', async () => {
    const { base } = await listen({ requestTimeout: 250, maxRequestTimeout: 300 })
    const session = await initialize(base)
    const response = await post(base, toolCall(1, 'progress', { steps: 5, ms: 100 }, { progressToken: 'tok' }), { session })
    const answer = (await messagesOf(response)).find((m) => m.id === 1)
    expect(answer?.error?.code).toBe(-32001)
    expect(answer?.error?.message).toMatch(/timed out/)
  })
})

describe('a child that never answers initialize', () => {
  it('the initialize POST gets an error answer and no session survives', async () => {
    const { base } = await listen({ fixture: 'no-init-server', initializeTimeout: 300, warmChildren: 0 })
    const response = await post(base, initializeMessage(0))
    const session = response.headers.get('mcp-session-id')
    expect(session).toBeTruthy()
    const answer = await answerOf(response, 0)
    expect(answer.result).toBeUndefined()
    expect(answer.error?.code).toBe(-32001)
    await waitFor(async () => (await getJson(base, '/ready')).body.sessions === 0, '/ready to show 0 sessions')
    expect((await post(base, rpc(1, 'ping'), { session: session! })).status).toBe(404)
    await waitForChildren('no-init-server.mjs', 0)
  })
})

describe('a child that starts slowly', () => {
  it('initialize still succeeds, later', async () => {
    const { base } = await listen({ fixture: 'slow-start-server', warmChildren: 0, env: { FIXTURE_START_DELAY_MS: '800' } })
    const session = await initialize(base)
    expect(textOf(await request(base, session, toolCall(1, 'echo', { text: 'late' })))).toBe('late')
  })

  it('with warmChildren: 1 a new session gets the child that was started ahead of time', async () => {
    // The children wait 1.5 s before reading stdin and initialize may take 300 ms: only a child that was
    // spawned ahead of time (and is past its delay) can answer in time; a child spawned for the session cannot.
    const { base, logs } = await listenLogged({
      fixture: 'slow-start-server',
      warmChildren: 1,
      initializeTimeout: 300,
      requestTimeout: 400,
      env: { FIXTURE_START_DELAY_MS: '1500' },
    })
    const ready = (): number => stderrLines(logs).filter((line) => line.startsWith('ready slow-start-server')).length
    await waitFor(() => ready() === 1, 'the warm child to be past its start delay')
    const first = await initialize(base)
    // The pool refills in the background; once that child is past its delay, the next session takes it.
    await waitFor(() => ready() === 2, 'the refilled warm child to be past its start delay')
    const second = await initialize(base)
    expect(second).not.toBe(first)
    expect(textOf(await request(base, second, toolCall(1, 'echo', { text: 'warm' })))).toBe('warm')
    // Control: the child refilled for a third session is still in its delay, and its initialize times out.
    const third = await post(base, initializeMessage(0))
    expect((await answerOf(third, 0)).error?.code).toBe(-32001)
  })
})

describe('a child that writes garbage or noise on stdout', () => {
  it('garbage (non-JSON, non-JSON-RPC, an over-long line) is dropped and the answer arrives', async () => {
    const { base, logs } = await listenLogged({
      fixture: 'garbage-server',
      maxLineLength: 100_000,
      env: { FIXTURE_LONG_LINE_BYTES: '2000000' },
    })
    const session = await initialize(base)
    expect(textOf(await request(base, session, toolCall(1, 'echo', { text: 'through the garbage' })))).toBe('through the garbage')
    const tools = await request(base, session, rpc(2, 'tools/list'))
    expect((tools.result as { tools: unknown[] }).tools.length).toBeGreaterThan(0)
    const reasons = logs.map((line) => line.reason)
    expect(reasons).toContain('line-too-long')
    expect(reasons).toContain('not-json')
    expect(logs.some((line) => line.msg?.includes('not JSON-RPC'))).toBe(true)
  })

  it('noise (banner, DEBUG lines, blank lines, prefixes, invalid UTF-8) does not hide the answers', async () => {
    const { base } = await listen({ fixture: 'noisy-server' })
    const session = await initialize(base)
    for (let i = 1; i <= 4; i++) expect(textOf(await request(base, session, toolCall(i, 'echo', { text: `n${i}` })))).toBe(`n${i}`)
    expect(textOf(await request(base, session, toolCall(5, 'add', { a: 2, b: 3 })))).toBe('5')
    expect((await request(base, session, rpc(6, 'ping'))).result).toEqual({})
  })
})

describe('the stop ladder over HTTP', () => {
  it('DELETE stops a child that ignores SIGTERM and stdin end (SIGKILL)', async () => {
    const { base } = await listen({ fixture: 'ignore-sigterm-server', stopGrace: 100, warmChildren: 0 })
    const session = await initialize(base)
    const [pid] = await waitForChildren('ignore-sigterm-server.mjs', 1)
    expect((await deleteSession(base, session)).status).toBe(200)
    await waitFor(() => !alive(pid!), `pid ${pid} to be gone`)
  })

  it('app.close() with a GET stream open and a slow call in flight completes and leaves no child', async () => {
    const proxy = await listenLogged({ fixture: 'ignore-sigterm-server', stopGrace: 100, warmChildren: 1 })
    const session = await initialize(proxy.base)
    const get = await openGet(proxy.base, session)
    expect(get.status).toBe(200)
    const slow = await post(proxy.base, toolCall(1, 'slow', { ms: 60_000 }), { session })
    expect(slow.status).toBe(200)
    await waitForChildren('ignore-sigterm-server.mjs', 2) // the session's child and the warm one
    const slowMessages = messagesOf(slow).catch(() => [] as Message[])
    await within(proxy.close(), 'app.close()')
    expect(childPids('ignore-sigterm-server.mjs')).toEqual([])
    // The streams ended (they did not hang).
    await within(slowMessages, 'the slow call stream to end')
    await within(messagesOf(get).catch(() => []), 'the GET stream to end')
  })
})

describe('stateless mode: the shared child', () => {
  it('a crash answers the call in flight, /ready goes 503 (restarting) and back to 200, later calls work', async () => {
    const { base } = await listen({ fixture: 'crash-server', stateless: true })
    const ready = await getJson(base, '/ready')
    expect(ready.status).toBe(200)
    expect((ready.body.child as { state: string }).state).toBe('up')

    const response = await post(base, toolCall(1, 'boom'))
    expect(response.status).toBe(200)
    expectExitError(await answerOf(response, 1), 1)

    const down = await waitFor(async () => {
      const r = await getJson(base, '/ready')
      return r.status === 503 ? r : undefined
    }, '/ready 503')
    expect((down.body.child as { state: string }).state).toBe('restarting')
    const up = await waitFor(async () => {
      const r = await getJson(base, '/ready')
      return r.status === 200 ? r : undefined
    }, '/ready 200 again')
    expect((up.body.child as { state: string }).state).toBe('up')
    const tools = await answerOf(await post(base, rpc(2, 'tools/list')), 2)
    expect((tools.result as { tools: unknown[] }).tools.length).toBeGreaterThan(0)
  })

  it('repeated crashes are reported as crash-looping (503)', async () => {
    const { base } = await listen({ fixture: 'crash-server', stateless: true })
    for (let crash = 1; crash <= 5; crash++) {
      await waitFor(async () => (await getJson(base, '/ready')).status === 200, `the child to be up before crash ${crash}`)
      expectExitError(await answerOf(await post(base, toolCall(crash, 'boom')), crash), crash)
    }
    const looping = await waitFor(async () => {
      const r = await getJson(base, '/ready')
      return (r.body.child as { state?: string } | undefined)?.state === 'crash-looping' ? r : undefined
    }, 'crash-looping')
    expect(looping.status).toBe(503)
    expect((looping.body.child as { recentExits: number }).recentExits).toBe(5)
    // While it waits to restart, calls are refused with 503 and Retry-After, not hung.
    const refused = await post(base, toolCall(9, 'x'))
    expect(refused.status).toBe(503)
    expect(refused.headers.get('retry-after')).toBeTruthy()
    expect(isJsonRpcError(await refused.json())).toBe(true)
  })
})

describe('limits', () => {
  it('maxSessions: one more initialize gets 503 with Retry-After while every session is busy; after a DELETE there is room again', async () => {
    const { base } = await listen({ maxSessions: 2 })
    const a = await initialize(base)
    const b = await initialize(base)
    // Open GET streams keep both sessions from being the idle one that gives way at the cap.
    for (const session of [a, b]) expect((await openGet(base, session)).status).toBe(200)
    const refused = await post(base, initializeMessage(7))
    expect(refused.status).toBe(503)
    expect(refused.headers.get('retry-after')).toBeTruthy()
    const body = (await refused.json()) as Message
    expect(isJsonRpcError(body)).toBe(true)
    expect(body.id).toBe(7)
    expect((await deleteSession(base, a)).status).toBe(200)
    const c = await initialize(base)
    expect(textOf(await request(base, c, toolCall(1, 'echo', { text: 'room' })))).toBe('room')
  })

  it('an idle session is reaped with its child; a session with an open GET stream is not', async () => {
    const { base } = await listen({ sessionIdleTimeout: 300, warmChildren: 0 })
    const idle = await initialize(base)
    const streaming = await initialize(base)
    const get = await openGet(base, streaming)
    expect(get.status).toBe(200)
    await waitForChildren(ECHO, 2)
    // Polled through /ready: a request on the idle session would be activity.
    await waitFor(async () => (await getJson(base, '/ready')).body.sessions === 1, 'the idle session to be reaped')
    expect((await post(base, rpc(1, 'ping'), { session: idle })).status).toBe(404)
    await waitForChildren(ECHO, 1)
    await sleep(600) // twice the idle timeout more, with the stream still open
    expect((await request(base, streaming, rpc(2, 'ping'))).result).toEqual({})
  })

  it('the idle countdown restarts when the last stream of a session closes (a reconnect gap is not idleness)', async () => {
    const { base } = await listen({ sessionIdleTimeout: 1000, warmChildren: 0 })
    const session = await initialize(base)
    const controller = abortAfterTest()
    const get = await openGet(base, session, undefined, controller.signal)
    expect(get.status).toBe(200)
    await sleep(1500) // longer than the idle timeout, but the stream is open: not idle
    controller.abort()
    await sleep(400) // more than one reaper tick (250 ms), much less than the idle timeout (1000 ms)
    // A client reconnecting now finds its session.
    expect((await post(base, rpc(1, 'ping'), { session })).status).toBe(200)
  })

  it('a slow SSE reader is disconnected (bounded queue), the session works and the events are replayable', async () => {
    const { base, port } = await listenWithPort({ maxQueuedBytes: 65_536, jsonResponse: true, eventStoreMaxEvents: 5000, eventStoreMaxBytes: 32 * 1024 * 1024 })
    const session = await initialize(base)
    // A GET stream whose reader never reads.
    const socket = await rawSocket(port)
    const received: Buffer[] = []
    let closed = false
    socket.on('data', (chunk: Buffer) => received.push(chunk))
    socket.on('error', () => {})
    socket.once('close', () => (closed = true))
    const head = new Promise<void>((resolve) => socket.once('data', () => resolve()))
    socket.write(rawRequest('GET', '/mcp', port, { accept: 'text/event-stream', 'mcp-session-id': session })[0]!)
    await within(head, 'the head of the GET stream')
    socket.pause() // from now on the client reads nothing
    expect(Buffer.concat(received).toString('latin1')).toMatch(/^HTTP\/1\.1 200/)

    // A second call in flight: the log notifications of a call then go to the open GET stream.
    post(base, toolCall(99, 'slow', { ms: 30_000 }), { session }).catch(() => {})
    await sleep(100)
    // 12 MB: more than the kernel buffers of a loopback connection can hold (send buffer up to 4 MB).
    const count = 3000
    const message = 'x'.repeat(4000)
    const answer = await request(base, session, toolCall(1, 'log', { count, message }), 10_000)
    expect(textOf(answer)).toBe('logged')
    const emitted = count * message.length

    // The proxy dropped that connection: the client side sees the end after what the kernel buffered,
    // far less than everything.
    socket.resume()
    await waitFor(() => closed, 'the slow socket to be closed')
    const again = await openGet(base, session)
    expect(again.status).toBe(200)
    again.body?.cancel().catch(() => {})
    const text = Buffer.concat(received).toString('utf8')
    expect(text.length).toBeLessThan(emitted)
    // (The body is chunked: take the first event id without de-chunking.)
    const firstId = /\nid: ([^\r\n]+)\n/.exec(text)?.[1]
    expect(firstId).toBeDefined()

    // The session still works.
    expect(textOf(await request(base, session, toolCall(2, 'echo', { text: 'still here' })))).toBe('still here')

    // And what the slow client missed is replayable after the last event it saw.
    const resumed = await openGet(base, session, firstId)
    expect(resumed.status).toBe(200)
    const reader = new SseReader(resumed)
    for (let i = 0; i < 5; i++) {
      const log = await reader.until((m) => m.method === 'notifications/message')
      expect((log.params as { data: string }).data).toBe(message)
    }
    reader.cancel()
  })
})

describe('bursts larger than maxQueuedBytes', () => {
  it('a reader that keeps up is not disconnected by a burst larger than maxQueuedBytes', async () => {
    const { base } = await listen({ maxQueuedBytes: 65_536, jsonResponse: true })
    const session = await initialize(base)
    const get = await openGet(base, session)
    expect(get.status).toBe(200)
    const reader = new SseReader(get)
    // A second call in flight: the log notifications of a call then go to the open GET stream.
    post(base, toolCall(99, 'slow', { ms: 30_000 }), { session }).catch(() => {})
    await sleep(100)
    const count = 200
    const message = 'y'.repeat(2000)
    // One stdout chunk of the child holds ~30 of these events (64 KiB): a burst written in one tick.
    expect(textOf(await request(base, session, toolCall(1, 'log', { count, message })))).toBe('logged')
    for (let i = 0; i < count; i++) {
      const log = await reader.until((m) => m.method === 'notifications/message')
      expect((log.params as { data: string }).data).toBe(message)
    }
    reader.cancel()
  })

  it('a Last-Event-ID replay larger than maxQueuedBytes is delivered', async () => {
    const { base } = await listen({ maxQueuedBytes: 65_536 })
    const session = await initialize(base)
    // The call's own stream carries its log notifications; the client leaves after the priming event.
    const controller = new AbortController()
    const response = await post(base, toolCall(2, 'log', { count: 100, message: 'z'.repeat(2000) }), { session, signal: controller.signal })
    const priming = await new SseReader(response).next()
    expect(priming?.data).toBe('')
    controller.abort()
    const resumed = await openGet(base, session, priming!.id)
    expect(resumed.status).toBe(200)
    const reader = new SseReader(resumed)
    for (let i = 0; i < 100; i++) await reader.until((m) => m.method === 'notifications/message')
    reader.cancel()
  })
})

describe('a client that disconnects mid-stream', () => {
  it('the call completes in the child (no cancellation) and the answer is replayable from the priming event', async () => {
    const { base } = await listen()
    const session = await initialize(base, LATEST)
    const controller = new AbortController()
    const response = await post(base, toolCall(1, 'slow', { ms: 500 }), { session, signal: controller.signal })
    const reader = new SseReader(response)
    const priming = await reader.next()
    expect(priming?.data).toBe('')
    expect(priming?.id).toBeTruthy()
    controller.abort()

    const resumed = await openGet(base, session, priming!.id)
    expect(resumed.status).toBe(200)
    const messages = await messagesOf(resumed)
    const answer = messages.find((m) => m.id === 1)
    expect(answer?.error).toBeUndefined()
    expect(textOf(answer!)).toBe('done after 500ms')
  })
})

describe('bad input never crashes the proxy', () => {
  it('raw protocol abuse: bad targets, bad header lines, truncated bodies', async () => {
    const { base, port } = await listenWithPort()
    const badTarget = await rawExchange(port, ['GET /mcp%ZZ HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n'])
    expect(badTarget.status).toBeDefined()
    expect(badTarget.status).not.toBe(500)
    for (const target of ['//', '/%', '/mcp?sessionId=%E0%A4%A', '/messages?sessionId=%ff', '/mcp/../mcp', '*']) {
      const answer = await rawExchange(port, rawRequest('GET', target, port, { accept: 'text/event-stream' }))
      expect(answer.status, target).toBeDefined()
      expect(answer.status, target).not.toBe(500)
    }
    const noColon = await rawExchange(port, ['POST /mcp HTTP/1.1\r\nhost: 127.0.0.1\r\nthis header has no colon\r\n\r\n'])
    expect(noColon.status === undefined ? noColon.closed : noColon.status).toBeTruthy()
    expect(noColon.status).not.toBe(500)
    await rawExchange(
      port,
      ['POST /mcp HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\ncontent-length: 1000\r\n\r\n', '{"jsonrpc"'],
      { destroyAfterWrite: true },
    )
    const short = await rawExchange(
      port,
      ['POST /mcp HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\ncontent-length: 1000\r\n\r\n{"a":1}'],
      { ms: 300 },
    )
    expect(short.status).not.toBe(500)
    const chunkedThenGone = await rawExchange(
      port,
      ['POST /mcp HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n5\r\n{"jso'],
      { destroyAfterWrite: true },
    )
    expect(chunkedThenGone.closed).toBe(true)
    expect((await getJson(base, '/ping')).status).toBe(200)
  })

  it('bad bodies: invalid UTF-8, deep nesting, object ids, stray responses', async () => {
    const { base, port } = await listenWithPort()
    const session = await initialize(base)
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': session }

    // Invalid UTF-8 inside a JSON string: decoded with replacement characters, and answered.
    const invalidUtf8 = Buffer.concat([
      Buffer.from('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"a'),
      Buffer.from([0xff, 0xfe, 0xc3]),
      Buffer.from('b"}}}'),
    ])
    const utf8 = await rawExchange(port, rawRequest('POST', '/mcp', port, headers, invalidUtf8))
    expect([200, 400]).toContain(utf8.status)
    // Invalid UTF-8 outside any string: a parse error.
    const invalidJson = await rawExchange(port, rawRequest('POST', '/mcp', port, headers, Buffer.from([0x7b, 0xff, 0x7d])))
    expect(invalidJson.status).toBe(400)
    expect(isJsonRpcError(rawJsonBody(invalidJson))).toBe(true)

    // 100000 levels of nesting in params: answered (or refused), never a crash.
    const depth = 100_000
    const nested = `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"deep"},"deep":${'['.repeat(depth)}${']'.repeat(depth)}}}`
    const deep = await post(base, nested, { session })
    expect([200, 400]).toContain(deep.status)
    if (deep.status === 200) expect(textOf(await answerOf(deep, 2))).toBe('deep')
    // Unbalanced: a parse error.
    const unbalanced = await post(base, `{"jsonrpc":"2.0","id":3,"method":"ping","params":{"x":${'['.repeat(depth)}}}`, { session })
    expect(unbalanced.status).toBe(400)
    expect(isJsonRpcError(await unbalanced.json())).toBe(true)
    // As the whole body: a batch of one invalid message.
    const deepBody = await post(base, '['.repeat(depth) + ']'.repeat(depth), { session })
    expect(deepBody.status).toBe(400)

    // A JSON-RPC id that is an object.
    const objectId = await post(base, { jsonrpc: '2.0', id: { a: 1 }, method: 'ping' }, { session })
    expect(objectId.status).toBe(400)
    const objectIdBody = (await objectId.json()) as Message
    expect(isJsonRpcError(objectIdBody)).toBe(true)
    expect(objectIdBody.id).toBeNull()

    // A response to a request the child never sent.
    const stray = await post(base, { jsonrpc: '2.0', id: 'never-asked', result: {} }, { session })
    expect(stray.status).toBe(202)
    const strayError = await post(base, { jsonrpc: '2.0', id: null, error: { code: -32000, message: 'x' } }, { session })
    expect(strayError.status).toBe(202)

    // The session still works.
    expect(textOf(await request(base, session, toolCall(9, 'echo', { text: 'ok' })))).toBe('ok')
    expect((await getJson(base, '/ping')).status).toBe(200)
  })

  it('deeply nested params in stateless mode (ids rewritten, so re-serialized) are refused, not a crash', async () => {
    const { base } = await listen({ stateless: true })
    const depth = 100_000
    const nested = `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"deep"},"deep":${'['.repeat(depth)}${']'.repeat(depth)}}}`
    const deep = await post(base, nested)
    expect([200, 400]).toContain(deep.status)
    if (deep.status === 200) {
      const answer = await answerOf(deep, 2)
      expect(answer.error !== undefined || textOf(answer) === 'deep').toBe(true)
    }
    const ok = await answerOf(await post(base, toolCall(3, 'echo', { text: 'fine' })), 3)
    expect(textOf(ok)).toBe('fine')
  })

  it('an SSE answer to a request that says Connection: close ends with the connection closed', async () => {
    const { base, port } = await listenWithPort()
    const session = await initialize(base)
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': session }
    // rawExchange waits (up to 3 s) for the server to close the connection; it asked to.
    const answer = await rawExchange(port, rawRequest('POST', '/mcp', port, headers, JSON.stringify(toolCall(1, 'echo', { text: 'bye' }))), { ms: 3000 })
    expect(answer.status).toBe(200)
    expect(answer.text).toMatch(/"text":"bye"/)
    expect(answer.text.toLowerCase()).not.toMatch(/\r\nconnection: keep-alive\r\n/)
    expect(answer.closed).toBe(true)
  })

  it('HEAD /sse is answered at once and opens no session (no child spawned for a HEAD)', async () => {
    const { base, port } = await listenWithPort({ warmChildren: 0 })
    const head = await rawExchange(port, rawRequest('HEAD', '/sse', port, { accept: 'text/event-stream' }), { ms: 2000 })
    expect(head.status).toBeDefined()
    expect(head.status).not.toBe(500)
    await sleep(100)
    expect((await getJson(base, '/ready')).body.sessions).toBe(0)
  })

  it('HEAD /mcp does not take the session\'s GET stream', async () => {
    const { base, port } = await listenWithPort()
    const session = await initialize(base)
    const socket = await rawSocket(port)
    const head = new Promise<string>((resolve) => socket.once('data', (chunk: Buffer) => resolve(chunk.toString('latin1'))))
    socket.on('error', () => {})
    socket.write(String(rawRequest('HEAD', '/mcp', port, { accept: 'text/event-stream', 'mcp-session-id': session })[0]).replace('connection: close', 'connection: keep-alive'))
    expect(await within(head, 'the HEAD answer')).toMatch(/^HTTP\/1\.1 \d{3}/)
    // The HEAD response is complete for the client; the session's GET stream must still be free.
    expect((await openGet(base, session)).status).toBe(200)
  })

  it('concurrent DELETEs of one session: one 200, the rest 200 or 404, never 500', async () => {
    const { base } = await listen()
    const session = await initialize(base)
    const statuses = await Promise.all(Array.from({ length: 8 }, () => deleteSession(base, session).then((r) => r.status)))
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(1)
    for (const status of statuses) expect([200, 404]).toContain(status)
    expect((await post(base, rpc(1, 'ping'), { session })).status).toBe(404)
    expect((await getJson(base, '/ping')).status).toBe(200)
  })
})
