// The proxy in front of a hostile stdio server (fixtures/hostile-server.mjs), over real HTTP: deep
// nesting, a notification flood nobody collects, leftovers of the child, a child ignoring SIGTERM, a closed
// stdout, an answer over the line limit. Each of these crashed, leaked or hung the proxy before.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import type { TapListener } from '@proxy/core'
import {
  abortAfterTest,
  answerOf,
  childPids,
  deleteSession,
  getJson,
  initialize,
  listenLogged,
  openGet,
  post,
  request,
  sleep,
  SseReader,
  stderrLines,
  textOf,
  toolCall,
  waitFor,
  type Message,
} from './failure-helpers.js'

const HOSTILE = 'hostile-server.mjs'

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    return !/\)\s+Z\s/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

async function stillServing(base: string, session: string): Promise<void> {
  expect((await getJson(base, '/ping')).status).toBe(200)
  expect(textOf(await request(base, session, toolCall('after', 'echo', { text: 'still here' })))).toBe('still here')
}

describe('a child that writes messages nested too deeply to re-serialize', () => {
  it('session mode: a batch line with a deep item loses that item only; the process keeps serving', async () => {
    const { base } = await listenLogged({ fixture: 'hostile-server' })
    const session = await initialize(base)
    expect(textOf(await request(base, session, toolCall(1, 'deep', { depth: 10_000, as: 'batch' })))).toBe('deep batch 10000')
    await stillServing(base, session)
  })

  it('stateless mode (every id rewritten): a deep answer becomes an error; progress and server requests do not crash it', async () => {
    const { base } = await listenLogged({ fixture: 'hostile-server', stateless: true })
    const deep = await answerOf(await post(base, toolCall(1, 'deep', { depth: 10_000, as: 'result' })), 1)
    expect((deep.error as { message: string }).message).toContain('nested too deeply')
    for (const as of ['progress', 'notification', 'batch', 'request']) {
      const answer = await answerOf(await post(base, toolCall(`d-${as}`, 'deep', { depth: 10_000, as }, { progressToken: `t-${as}` })), `d-${as}`)
      expect(textOf(answer)).toBe(`deep ${as} 10000`)
    }
    expect(textOf(await answerOf(await post(base, toolCall(2, 'echo', { text: 'ok' })), 2))).toBe('ok')
  })
})

describe('server messages nobody collects', () => {
  it('are bounded in bytes while no GET stream is open, counted, and the GET that collects them is served', async () => {
    // The flood's answer comes after every message of the flood (stdout is one ordered stream): once the
    // proxy has it, the backlog holds all it will hold, and the GET gets the backlog and nothing live.
    let flooded = false
    const tap: TapListener = (event) => {
      if (event.type === 'from-child' && JSON.stringify(event.message).includes('flooded 40x500000')) flooded = true
    }
    const { base } = await listenLogged({ fixture: 'hostile-server', maxQueuedBytes: 2_000_000, tap })
    const session = await initialize(base)
    // The caller drops its POST stream at once: the flood has nowhere to go but the backlog of the GET stream.
    const controller = new AbortController()
    const call = await post(base, toolCall(1, 'flood', { count: 40, bytes: 500_000 }), { session, signal: controller.signal })
    controller.abort()
    await call.body?.cancel().catch(() => {})
    await waitFor(() => flooded, 'the end of the flood')
    // Most of the 40 were dropped and counted: the rest went to the POST stream before it was dropped (what
    // the loopback buffers and its own bound took, a few megabytes) or wait in the backlog.
    expect(((await getJson(base, '/ready')).body.backlogDropped as { events?: number } | undefined)?.events ?? 0).toBeGreaterThanOrEqual(20)
    const get = await openGet(base, session)
    expect(get.status).toBe(200)
    const reader = new SseReader(get)
    const kept: Message[] = []
    for (;;) {
      const event = await reader.next(500).catch(() => undefined)
      if (!event) break
      if (event.data !== '') kept.push(JSON.parse(event.data) as Message)
    }
    reader.cancel()
    expect(kept.length).toBeGreaterThan(0)
    expect(kept.length).toBeLessThanOrEqual(5) // 2 MB of 0.5 MB messages, plus the newest one
    await stillServing(base, session)
  })
})

describe('messages larger than maxQueuedBytes', () => {
  it('a client that reads at a normal pace gets every one and the answer after them', async () => {
    const { base } = await listenLogged({ fixture: 'hostile-server' }) // maxQueuedBytes: 8 MiB
    const session = await initialize(base)
    const response = await post(base, toolCall(1, 'flood', { count: 3, bytes: 9_000_000 }), { session })
    const reader = new SseReader(response)
    let notifications = 0
    for (;;) {
      const event = await reader.next(10_000)
      if (!event) break
      if (event.data === '') continue
      const message = JSON.parse(event.data) as Message
      if (message.method) notifications++
      else {
        expect(textOf(message)).toBe('flooded 3x9000000')
        break
      }
    }
    reader.cancel()
    expect(notifications).toBe(3)
  })
})

describe('what a child leaves behind', () => {
  it('a grandchild in the child’s process group is stopped when the child dies by itself', async () => {
    const { base, logs } = await listenLogged({ fixture: 'hostile-server', env: { FIXTURE_GRANDCHILD: '1' }, warmChildren: 0 })
    const session = await initialize(base)
    const grandchild = await waitFor(() => {
      const line = stderrLines(logs).find((l) => l.startsWith('grandchild pid='))
      return line ? Number(line.slice('grandchild pid='.length)) : undefined
    }, 'the grandchild pid on stderr')
    const [child] = childPids(HOSTILE)
    expect(isRunning(grandchild)).toBe(true)
    process.kill(child!, 'SIGKILL')
    await waitFor(() => !isRunning(grandchild), 'the grandchild to be stopped')
    expect((await post(base, toolCall(1, 'echo', { text: 'x' }), { session })).status).toBe(404)
  })

  it('a grandchild is stopped when the session is deleted, and when the proxy closes', async () => {
    const { base, logs, close } = await listenLogged({ fixture: 'hostile-server', env: { FIXTURE_GRANDCHILD: '1' }, warmChildren: 0 })
    const first = await initialize(base)
    const second = await initialize(base)
    const grandchildren = await waitFor(() => {
      const pids = stderrLines(logs).filter((l) => l.startsWith('grandchild pid=')).map((l) => Number(l.slice('grandchild pid='.length)))
      return pids.length === 2 ? pids : undefined
    }, 'two grandchild pids')
    expect((await deleteSession(base, first)).status).toBe(200)
    await waitFor(() => grandchildren.filter(isRunning).length === 1, 'the deleted session’s grandchild to stop')
    expect(second).toBeTruthy()
    await close()
    expect(grandchildren.filter(isRunning)).toEqual([])
  })
})

describe('the session cap bounds processes', () => {
  it('children still being stopped count: rapid open/delete with a child ignoring SIGTERM never exceeds cap + warm', async () => {
    // A stop ladder (2 × 1000 ms) longer than a new session waits for a slot (1000 ms): some get 503.
    const { base } = await listenLogged({ fixture: 'hostile-server', env: { FIXTURE_IGNORE_SIGTERM: '1' }, maxSessions: 3, warmChildren: 1, stopGrace: 1000 })
    let peak = 0
    let refused = 0
    for (let i = 0; i < 8; i++) {
      const response = await post(base, { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } })
      if (response.status === 503) {
        expect(response.headers.get('retry-after')).toBeTruthy()
        expect(((await response.json()) as Message).error).toBeDefined()
        refused++
      } else {
        expect(response.status).toBe(200)
        const session = response.headers.get('mcp-session-id')!
        await answerOf(response, 0)
        expect((await deleteSession(base, session)).status).toBe(200)
      }
      peak = Math.max(peak, childPids(HOSTILE).length)
    }
    for (let i = 0; i < 20; i++) {
      peak = Math.max(peak, childPids(HOSTILE).length)
      await sleep(50)
    }
    expect(peak).toBeLessThanOrEqual(4)
    expect(refused).toBeGreaterThan(0)
  })

  it('an idle session gives way to a new one at the cap instead of a 503', async () => {
    const { base } = await listenLogged({ fixture: 'echo-server', maxSessions: 1 })
    const first = await initialize(base)
    const second = await initialize(base)
    expect(second).not.toBe(first)
    expect((await post(base, toolCall(1, 'echo', { text: 'x' }), { session: first })).status).toBe(404)
    expect(textOf(await request(base, second, toolCall(2, 'echo', { text: 'y' })))).toBe('y')
  })

  it('a session with an open GET stream is not evicted: the new one gets 503', async () => {
    const { base } = await listenLogged({ fixture: 'echo-server', maxSessions: 1 })
    const first = await initialize(base)
    const get = await openGet(base, first, undefined, abortAfterTest().signal)
    expect(get.status).toBe(200)
    const response = await post(base, { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } })
    expect(response.status).toBe(503)
    expect(textOf(await request(base, first, toolCall(1, 'echo', { text: 'kept' })))).toBe('kept')
  })
})

describe('a child that closes its stdout and keeps running', () => {
  it('the call gets an error at once (not at the request timeout) and the session ends', async () => {
    const { base } = await listenLogged({ fixture: 'hostile-server' })
    const session = await initialize(base)
    const answer = await request(base, session, toolCall(1, 'close-stdout'))
    expect((answer.error as { message: string }).message).toContain('closed its stdout')
    await waitFor(async () => (await post(base, toolCall(2, 'echo', { text: 'x' }), { session })).status === 404, 'the session to end')
    await waitFor(() => childPids(HOSTILE).length <= 1, 'the child to be stopped') // the warm one stays
  })
})

describe('an answer longer than the line limit', () => {
  it('fails its request at once with an error that names the limit', async () => {
    const { base } = await listenLogged({ fixture: 'hostile-server', maxLineLength: 100_000 })
    const session = await initialize(base)
    const answer = await request(base, session, toolCall(1, 'huge', { chars: 300_000 }))
    expect(answer.error).toMatchObject({ code: -32603, data: { maxLineLength: 100_000 } })
    await stillServing(base, session)
  })
})
