import { afterEach, describe, expect, it } from 'vitest'
import { ErrorCode } from '../src/index.js'
import {
  MISSING_COMMAND,
  RecordingCaller,
  call,
  cleanup,
  errorOf,
  eventually,
  fixtureCommand,
  initializeRequest,
  logged,
  notification,
  recordStdin,
  recordingLogger,
  request,
  sleep,
  startAnsweringUpstream,
  startUpstream,
  textOf,
  toolCall,
} from './helpers.js'

afterEach(cleanup)

describe('Upstream over a noisy child', () => {
  it('delivers the answers through banners, log lines and prefixes, and reports the noise', async () => {
    const logger = recordingLogger()
    const backend = startUpstream(fixtureCommand('noisy-server'), { logger })
    const unrouted: unknown[] = []
    backend.setUnroutedHandler((message) => unrouted.push(message))

    const init = await call(backend, initializeRequest(1))
    expect(init).toMatchObject({ id: 1, result: { serverInfo: { name: 'echo-fixture' } } })
    for (let id = 2; id <= 4; id++) expect(textOf(await call(backend, toolCall(id, 'echo', { text: `noisy ${id}` })))).toBe(`noisy ${id}`)

    const noise = logger.warn.mock.calls.filter(([, msg]) => msg?.includes('stdout line that is not JSON-RPC'))
    const reasons = noise.map(([obj]) => (obj as { reason: string }).reason)
    expect(reasons).toEqual(expect.arrayContaining(['not-json', 'prefix-trimmed', 'invalid-utf8']))
    // {"hello":"world"} is JSON but not JSON-RPC: dropped and reported, never routed.
    expect(logged(logger.warn)).toContain('MCP server wrote JSON that is not JSON-RPC; dropped')
    expect(unrouted).toEqual([])
  })

  it('drops a line longer than maxLineLength and still delivers the answer after it', async () => {
    const logger = recordingLogger()
    const backend = startUpstream(fixtureCommand('garbage-server', { FIXTURE_LONG_LINE_BYTES: '100000' }), { logger, maxLineLength: 10_000 })
    expect(await call(backend, request('p', 'ping'))).toEqual({ jsonrpc: '2.0', id: 'p', result: {} })
    const reasons = logger.warn.mock.calls.map(([obj]) => (obj as { reason?: string }).reason)
    expect(reasons).toContain('line-too-long')
  })
})

describe('Upstream progress', () => {
  it('restores the caller token on progress and keeps the caller id on the answer', async () => {
    const backend = startUpstream(fixtureCommand('echo-server'))
    const stdin = recordStdin(backend)
    const caller = new RecordingCaller()
    backend.upstream.request(caller, toolCall('call-1', 'progress', { steps: 3, ms: 5 }, { progressToken: 'mine' }))
    expect(textOf(await caller.response())).toBe('progress done')
    expect(caller.progress.map((message) => message.params)).toEqual([1, 2, 3].map((progress) => expect.objectContaining({ progressToken: 'mine', progress })))
    // What the child saw was rewritten (shared mode): neither the id nor the token is the caller's.
    const sent = stdin.messages()[0] as unknown as { id: unknown; params: { _meta: { progressToken: unknown } } }
    expect(sent.id).not.toBe('call-1')
    expect(sent.params._meta.progressToken).not.toBe('mine')
  })

  it('resets the request timeout on each progress notification', async () => {
    const backend = await startAnsweringUpstream(fixtureCommand('echo-server'), { requestTimeoutMs: 300, maxRequestTimeoutMs: 20_000 })
    const caller = new RecordingCaller()
    // 8 steps 50 ms apart: the whole call takes longer than requestTimeoutMs, every gap is far shorter.
    backend.upstream.request(caller, toolCall(1, 'progress', { steps: 8, ms: 50 }, { progressToken: 'p' }))
    expect(textOf(await caller.response())).toBe('progress done')
    expect(caller.progress).toHaveLength(8)
  })

  it('never extends a request past maxRequestTimeoutMs, however much progress it reports', async () => {
    const logger = recordingLogger()
    const backend = startUpstream(fixtureCommand('echo-server'), { requestTimeoutMs: 300, maxRequestTimeoutMs: 500, logger })
    const caller = new RecordingCaller()
    backend.upstream.request(caller, toolCall(7, 'progress', { steps: 200, ms: 50 }, { progressToken: 'p' }))
    const response = await caller.response()
    expect(response.id).toBe(7)
    expect(errorOf(response).code).toBe(ErrorCode.RequestTimeout)
    expect(caller.progress.length).toBeGreaterThan(0)
    expect(caller.progress.length).toBeLessThan(200)
    expect(logged(logger.warn)).toContain('request to the MCP server timed out')
  })
})

describe('Upstream cancellation', () => {
  it('forwards a client cancellation with the upstream id and abandons the request with the caller id', async () => {
    const logger = recordingLogger()
    // Exclusive mode (one client per child): the cancellation reaches the child for that request only;
    // another request in flight is untouched.
    const backend = startUpstream(fixtureCommand('echo-server'), { logger, shared: false })
    const stdin = recordStdin(backend)
    const other = new RecordingCaller()
    backend.upstream.request(other, toolCall('x', 'slow', { ms: 100 }))
    const caller = new RecordingCaller()
    backend.upstream.request(caller, toolCall(1, 'slow', { ms: 150 }))
    const upstreamId = (stdin.messages()[1] as { id: unknown }).id
    expect(upstreamId).toBe(1)

    backend.upstream.notify(notification('notifications/cancelled', { requestId: 1, reason: 'user' }))
    expect(stdin.messages()[2]).toEqual(notification('notifications/cancelled', { requestId: upstreamId, reason: 'user' }))
    expect(caller.abandoned).toEqual([1])
    expect(textOf(await other.response())).toBe('done after 100ms')
    expect(backend.upstream.pendingCount).toBe(0)

    // The child dropped the call: no answer ever comes (one would be logged as "not pending").
    await sleep(300)
    expect(caller.delivered).toEqual([])
    expect(logged(logger.debug)).not.toContain('MCP server answered a request that is not pending; dropped')
    expect(textOf(await call(backend, toolCall(2, 'echo', { text: 'still serving' })))).toBe('still serving')
  })

  it('with one client (exclusive), forwards a cancellation of an id it does not know unchanged', async () => {
    const backend = startUpstream(fixtureCommand('echo-server'), { shared: false })
    const stdin = recordStdin(backend)
    const cancel = notification('notifications/cancelled', { requestId: 'unknown' })
    backend.upstream.notify(cancel)
    expect(stdin.messages()).toEqual([cancel])
  })

  it('never lets a cancellation that names an upstream id reach the request of another caller', async () => {
    const backend = await startAnsweringUpstream(fixtureCommand('echo-server'), { requestTimeoutMs: 600 })
    const stdin = recordStdin(backend)
    const owner = new RecordingCaller()
    backend.upstream.request(owner, toolCall(1, 'slow', { ms: 100 }))
    const upstreamId = (stdin.messages()[0] as { id: unknown }).id as string
    expect(upstreamId).not.toBe(1)

    // Another client guesses the generated id (they are sequential) and cancels it.
    backend.upstream.notify(notification('notifications/cancelled', { requestId: upstreamId }))
    expect(textOf(await owner.response())).toBe('done after 100ms')
  })
})

describe('Upstream timeouts', () => {
  it('answers a request the child never answers with -32001 and the caller id, and tells the child to cancel', async () => {
    const backend = startUpstream(fixtureCommand('hang-server'), { requestTimeoutMs: 150 })
    const stdin = recordStdin(backend)
    const response = await call(backend, toolCall('abc', 'echo', { text: 'x' }))
    expect(response.id).toBe('abc')
    expect(errorOf(response)).toMatchObject({ code: ErrorCode.RequestTimeout, message: expect.stringContaining('tools/call') })
    const [sent, cancelled] = stdin.messages() as Array<{ id?: unknown; params?: { requestId?: unknown } }>
    expect(cancelled).toMatchObject({ method: 'notifications/cancelled', params: { requestId: sent!.id } })
    expect(backend.upstream.pendingCount).toBe(0)
  })

  it('applies the timeoutMs of one request (initialize) instead of requestTimeoutMs', async () => {
    const backend = startUpstream(fixtureCommand('no-init-server'), { requestTimeoutMs: 1000, maxRequestTimeoutMs: 1000 })
    const response = await call(backend, initializeRequest(0), 100)
    expect(response.id).toBe(0)
    expect(errorOf(response).code).toBe(ErrorCode.RequestTimeout)
  })
})

describe('Upstream when the child exits', () => {
  it('answers every request in flight at once with one -32603 error that says how the child exited', async () => {
    const backend = startUpstream(fixtureCommand('crash-server'))
    const callers = Array.from({ length: 5 }, () => new RecordingCaller())
    callers.forEach((caller, index) => backend.upstream.request(caller, toolCall(index, 'echo', { text: `call ${index}` })))
    await backend.exited
    callers.forEach((caller, index) => {
      expect(caller.delivered).toHaveLength(1)
      expect(caller.responses[0]!.id).toBe(index)
      const error = errorOf(caller.responses[0])
      expect(error.code).toBe(ErrorCode.InternalError)
      expect(error.message).toMatch(/exited/)
      expect(error.message).toMatch(/code 7/)
    })
    expect(backend.upstream.closed).toBe(true)
    expect(backend.upstream.pendingCount).toBe(0)
  })

  it('owns the exit: one warn line with the last stderr lines, then onClosed listeners (after every request was answered)', async () => {
    const logger = recordingLogger()
    const backend = startUpstream(fixtureCommand('crash-server'), { logger })
    const caller = new RecordingCaller()
    const seen: Array<{ code: number | null; answered: number }> = []
    backend.onClosed((exit) => seen.push({ code: exit.code, answered: caller.delivered.length }))
    backend.upstream.request(caller, toolCall(1, 'echo', { text: 'x' }))
    await backend.exited
    await eventually(() => expect(seen).toEqual([{ code: 7, answered: 1 }]))
    const warnings = logger.warn.mock.calls.filter(([, msg]) => /exited/.test(msg ?? ''))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]![0]).toMatchObject({ code: 7, lastStderr: expect.arrayContaining(['about to crash']) })
    // A listener added after the end is called at once.
    const late: number[] = []
    backend.onClosed((exit) => late.push(exit.code ?? -1))
    expect(late).toEqual([7])
  })

  it('logs an exit the proxy asked for at info, without a warning', async () => {
    const logger = recordingLogger()
    const backend = await startAnsweringUpstream(fixtureCommand('echo-server'), { logger })
    await backend.stop()
    expect(logged(logger.info)).toContain('MCP server exited')
    expect(logger.warn).not.toHaveBeenCalled()
  })

  it('answers a request sent after the exit at once, with an error', async () => {
    const backend = startUpstream(fixtureCommand('crash-server'))
    backend.upstream.request(new RecordingCaller(), toolCall(1, 'echo', { text: 'x' }))
    await backend.exited
    const late = new RecordingCaller()
    backend.upstream.request(late, request('late', 'tools/list'))
    expect(late.responses).toHaveLength(1)
    expect(late.responses[0]!.id).toBe('late')
    expect(errorOf(late.responses[0]).message).toMatch(/exited \(code 7\)/)
  })

  it('answers a request sent while the child is being stopped at once, with an error', async () => {
    const backend = startUpstream(fixtureCommand('echo-server'))
    const stopped = backend.stop()
    const caller = new RecordingCaller()
    backend.upstream.request(caller, request(1, 'ping'))
    expect(caller.responses).toHaveLength(1)
    expect(errorOf(caller.responses[0]).code).toBe(ErrorCode.InternalError)
    await stopped
  })

  it('answers with an error saying the server could not be started when the command is missing', async () => {
    const backend = startUpstream(MISSING_COMMAND)
    const response = await call(backend, initializeRequest(1))
    expect(response.id).toBe(1)
    expect(errorOf(response).message).toMatch(/could not be started.*ENOENT/)
  })

  it('drops answers that arrive for no pending request', async () => {
    const logger = recordingLogger()
    const backend = startUpstream(fixtureCommand('echo-server'), { logger })
    // The answer to a request written past the Upstream, straight to stdin, is pending for nobody.
    backend.child.send(JSON.stringify(request('raw', 'ping')))
    await eventually(() => expect(logged(logger.debug)).toContain('MCP server answered a request that is not pending; dropped'))
  })
})
