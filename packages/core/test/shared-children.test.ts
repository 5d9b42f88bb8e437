// Shared-child mode's moving parts driven directly: the LeasePool's share semantics over fake children (a share
// beside shares, leases kept off a shared child, FIFO fairness between shares and leases, quarantine after a
// cancel, revival), then SharedChildren and SharedLink over the real echo-server fixture (who a child's ask
// reaches, what a cancelled, timed-out, failed or crashed call leaves behind). Over HTTP: fastify-plugin's
// shared-mode.test.ts.
import { afterEach, describe, expect, it } from 'vitest'
import { FakePooledChild, fakePoolOptions } from './fake-pool.js'
import type { JsonRpcMessage, JsonRpcNotification, JsonRpcRequest, JsonRpcResponse } from '../src/jsonrpc/schemas.js'
import { ErrorCode } from '../src/jsonrpc/errors.js'
import { silentLogger, type Logger } from '../src/logger.js'
import { LeasePool, type LeaseHolder, type LeasePoolOptions } from '../src/shared/lease-pool.js'
import type { RestartPolicy } from '../src/shared/shared-child.js'
import { SharedChildren, type SharedChildrenOptions } from '../src/shared/shared-children.js'
import type { CallClient, SharedCall } from '../src/shared/shared-call.js'
import { SharedSessions } from '../src/shared/shared-sessions.js'
import type { SessionBackend } from '../src/session/session-backend.js'
import type { UpstreamCaller } from '../src/upstream/upstream.js'
import {
  RecordingCaller,
  TEST_LIMITS,
  cleanup,
  errorOf,
  eventually,
  fixtureCommand,
  onCleanup,
  recordingLogger,
  request,
  textOf,
  toolCall,
} from './helpers.js'

afterEach(cleanup)

// ---------------------------------------------------------------------------------------------------
// LeasePool: share semantics over fake children

function leasePool(overrides: Partial<LeasePoolOptions> = {}): { pool: LeasePool; children: FakePooledChild[] } {
  const children: FakePooledChild[] = []
  const pool = new LeasePool(fakePoolOptions(children, () => new FakePooledChild(), { maxChildren: 1, maxQueued: 8, queueTimeoutMs: 10_000, ...overrides }))
  onCleanup(() => pool.close())
  return { pool, children }
}

const holder = (id: string): LeaseHolder => ({ id })

/** Settles `promise` into a box the test can look into without awaiting (has it resolved yet, and to what?). */
function track<T>(promise: Promise<T>): { settled: boolean; value: T | undefined } {
  const box: { settled: boolean; value: T | undefined } = { settled: false, value: undefined }
  void promise.then((value) => {
    box.settled = true
    box.value = value
  })
  return box
}

/** Lets every pending promise callback run (the pool resolves waiters through promises). */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

describe('LeasePool: shared holds', () => {
  it('shares run beside each other on one child: no lease, a sharer count, and the primary first (no extra spawned)', async () => {
    const { pool, children } = leasePool({ maxChildren: 3 })
    const first = await pool.share()
    const second = await pool.share()
    expect(first).toBe(children[0]!.pooled)
    expect(second).toBe(children[0]!.pooled)
    expect(children).toHaveLength(1)
    expect(children[0]!.pooled.sharers).toBe(2)
    expect(children[0]!.pooled.holder).toBeUndefined()
    expect(pool.leased).toBe(0)
    pool.unshare(first!)
    pool.unshare(second!)
    expect(children[0]!.pooled.sharers).toBe(0)
  })

  it('a lease is never granted on a shared child: with room it grows, at the bound it waits for the last unshare', async () => {
    const grows = leasePool({ maxChildren: 2 })
    await grows.pool.share()
    const leased = await grows.pool.acquire(holder('a'))
    expect(leased).toBe(grows.children[1]!.pooled)
    expect(grows.children[0]!.pooled.holder).toBeUndefined()

    const { pool, children } = leasePool({ maxChildren: 1 })
    const primary = children[0]!.pooled
    const s1 = await pool.share()
    const s2 = await pool.share()
    const waiting = track(pool.acquire(holder('b')))
    await flush()
    expect(pool.queued).toBe(1)
    pool.unshare(s1!)
    await flush()
    expect(waiting.settled).toBe(false)
    pool.unshare(s2!)
    await flush()
    expect(waiting.value).toBe(primary)
    expect(primary.holder).toEqual({ id: 'b' })
    expect(primary.sharers).toBe(0)
  })

  it('FIFO: a queued lease is not starved by shares that arrive after it, even though the shared child would fit them', async () => {
    const { pool, children } = leasePool({ maxChildren: 1 })
    const primary = children[0]!.pooled
    const s1 = await pool.share()
    const lease = track(pool.acquire(holder('a')))
    // The child is only shared (no holder), so a share would fit it; it still waits behind the lease.
    const late = track(pool.share())
    await flush()
    expect(late.settled).toBe(false)
    expect(pool.queued).toBe(2)
    expect(primary.sharers).toBe(1)

    pool.unshare(s1!)
    await flush()
    expect(lease.value).toBe(primary)
    expect(late.settled).toBe(false)
    pool.release(primary)
    await flush()
    expect(late.value).toBe(primary)
    expect(primary.sharers).toBe(1)
    expect(pool.queued).toBe(0)
  })

  it('a release hands the child on to every queued share at its head, and stops at the first lease', async () => {
    const { pool, children } = leasePool({ maxChildren: 1 })
    const primary = children[0]!.pooled
    await pool.acquire(holder('a'))
    const shares = [track(pool.share()), track(pool.share())]
    const lease = track(pool.acquire(holder('b')))
    const behind = track(pool.share())
    await flush()
    expect(pool.queued).toBe(4)
    pool.release(primary)
    await flush()
    expect(shares.map((s) => s.value)).toEqual([primary, primary])
    expect(primary.sharers).toBe(2)
    expect(lease.settled).toBe(false)
    expect(behind.settled).toBe(false)
    pool.unshare(primary)
    pool.unshare(primary)
    await flush()
    expect(lease.value).toBe(primary)
    expect(behind.settled).toBe(false)
  })

  it('a share that gives up (abort) leaves the queue, and the next waiter is not held up by it', async () => {
    const { pool, children } = leasePool({ maxChildren: 1 })
    const primary = children[0]!.pooled
    await pool.acquire(holder('a'))
    const controller = new AbortController()
    const gaveUp = track(pool.share(controller.signal))
    const next = track(pool.acquire(holder('b')))
    await flush()
    controller.abort()
    await flush()
    expect(gaveUp).toEqual({ settled: true, value: undefined })
    expect(pool.queued).toBe(1)
    pool.release(primary)
    await flush()
    expect(next.value).toBe(primary)
    expect(primary.sharers).toBe(0)
  })

  it('releaseAfterCancel: the child stays held (its asks refused) until it has been quiet, then goes to the waiter', async () => {
    const { pool, children } = leasePool({ maxChildren: 1 })
    const primary = children[0]!.pooled
    const a = holder('a')
    await pool.acquire(a)
    pool.releaseAfterCancel(primary)
    expect(primary.holder).toBeDefined()
    expect(primary.holder).not.toBe(a)
    // Neither a lease nor a share gets a child in quarantine.
    const share = track(pool.share())
    const lease = track(pool.acquire(holder('b')))
    await flush()
    expect(share.settled).toBe(false)
    expect(lease.settled).toBe(false)
    expect(pool.queued).toBe(2)
    await eventually(() => expect(share.value).toBe(primary))
    // The share took it first (FIFO); the lease waits for it to end.
    expect(lease.settled).toBe(false)
    pool.unshare(primary)
    await flush()
    expect(lease.value).toBe(primary)
  })

  it('a child that is not up is handed to no waiter; revive() hands it on once it is back', async () => {
    const { pool, children } = leasePool({ maxChildren: 1 })
    const primary = children[0]!.pooled
    await pool.acquire(holder('a'))
    const waiting = track(pool.acquire(holder('b')))
    children[0]!.state = 'restarting'
    pool.release(primary)
    await flush()
    expect(waiting.settled).toBe(false)
    children[0]!.state = 'up'
    pool.revive(primary)
    await flush()
    expect(waiting.value).toBe(primary)
  })

  it('unshare never drives the sharer count below zero', async () => {
    const { pool, children } = leasePool()
    const primary = children[0]!.pooled
    pool.unshare(primary)
    expect(primary.sharers).toBe(0)
    expect(await pool.acquire(holder('a'))).toBe(primary)
  })
})

// ---------------------------------------------------------------------------------------------------
// SharedChildren over the echo-server fixture

const FAST_RESTARTS: RestartPolicy = { initialDelayMs: 50, maxDelayMs: 200, crashLoopExits: 5, crashLoopWindowMs: 10_000 }
const ANSWER = { role: 'assistant', content: { type: 'text', text: 'sampled' }, model: 'm' }

/** A client of calls, recording the asks and logs relayed to it (by the call they are about). */
class RecordingClient implements CallClient {
  readonly relayed: Array<{ message: JsonRpcRequest | JsonRpcNotification; call: SharedCall }> = []
  constructor(
    readonly askable: boolean,
    readonly name = 'client',
  ) {}

  canAsk(method: string): boolean {
    return this.askable && (method === 'sampling/createMessage' || method === 'elicitation/create')
  }

  relay(message: JsonRpcRequest | JsonRpcNotification, _text: string, call: SharedCall): void {
    this.relayed.push({ message, call })
  }

  get asks(): JsonRpcRequest[] {
    return this.relayed.map((r) => r.message).filter((m): m is JsonRpcRequest => 'id' in m)
  }

  /** The first ask relayed, once there is one. */
  ask(): Promise<JsonRpcRequest> {
    return eventually(() => {
      const [first] = this.asks
      if (!first) throw new Error(`no ask relayed to ${this.name} yet`)
      return first
    })
  }
}

/** Settings of a pool of echo-server children shared by SharedChildren and SharedSessions. */
function echoChildren(logger: Logger, maxChildren: number) {
  return {
    child: { command: fixtureCommand('echo-server'), ...TEST_LIMITS, logger },
    initializeTimeoutMs: 5000,
    restart: FAST_RESTARTS,
    clientInfo: { name: 'mcp-proxy-tests', version: '0.0.0' },
    roots: { mode: 'deny' } as const,
    maxChildren,
    maxQueued: 8,
    queueTimeoutMs: 10_000,
    idleMs: 60_000,
    logger,
  }
}

async function sharedChildren(overrides: Partial<SharedChildrenOptions> = {}): Promise<{ children: SharedChildren; published: JsonRpcNotification[] }> {
  const logger = recordingLogger()
  const published: JsonRpcNotification[] = []
  const children = new SharedChildren({ ...echoChildren(logger, 1), publish: (message) => published.push(message), role: 'shared', ...overrides })
  onCleanup(() => children.close())
  await children.start()
  return { children, published }
}

function answerTo(ask: JsonRpcRequest, result: Record<string, unknown> = ANSWER): JsonRpcResponse {
  return { jsonrpc: '2.0', id: ask.id, result }
}

describe('SharedChildren: who a child asks', () => {
  it('two askable calls on two children: each ask reaches its own client under a proxy id, each answer its own child', async () => {
    const { children } = await sharedChildren({ maxChildren: 2 })
    const alice = new RecordingClient(true, 'alice')
    const bob = new RecordingClient(true, 'bob')
    const aliceCaller = new RecordingCaller()
    const bobCaller = new RecordingCaller()
    children.call(aliceCaller, toolCall(1, 'sample', { prompt: 'alice?' }), undefined, alice)
    children.call(bobCaller, toolCall(1, 'sample', { prompt: 'bob?' }), undefined, bob)
    const [aliceAsk, bobAsk] = [await alice.ask(), await bob.ask()]
    expect(aliceAsk.params).toMatchObject({ messages: [{ content: { text: 'alice?' } }] })
    expect(bobAsk.params).toMatchObject({ messages: [{ content: { text: 'bob?' } }] })
    expect(String(aliceAsk.id)).toMatch(/^mcp-proxy:ask:[0-9a-f-]{36}$/)
    expect(aliceAsk.id).not.toBe(bobAsk.id)
    expect(children.answer(answerTo(bobAsk, { ...ANSWER, content: { type: 'text', text: 'for bob' } }))).toBe(true)
    expect(children.answer(answerTo(aliceAsk, { ...ANSWER, content: { type: 'text', text: 'for alice' } }))).toBe(true)
    expect(textOf(await aliceCaller.response())).toBe('for alice')
    expect(textOf(await bobCaller.response())).toBe('for bob')
    // Answered once: a second answer finds no ask.
    expect(children.answer(answerTo(aliceAsk))).toBe(false)
    expect(children.children.map((c) => [c.holder, c.sharers])).toEqual([
      [undefined, 0],
      [undefined, 0],
    ])
  })

  it('a client that cannot be asked shares the child; its ask is refused and the sharer count returns to 0', async () => {
    const { children } = await sharedChildren()
    const client = new RecordingClient(false)
    const caller = new RecordingCaller()
    children.call(caller, toolCall(1, 'sample', { prompt: 'anyone?' }), undefined, client)
    expect(textOf(await caller.response())).toMatch(/^sampling error: .*cannot reach a client/)
    expect(client.relayed).toEqual([])
    expect(children.primary.sharers).toBe(0)
    expect(children.primary.holder).toBeUndefined()
  })

  it('an ask answered after its call ended is dropped (not sent to the child under a stale id)', async () => {
    const { children } = await sharedChildren()
    const client = new RecordingClient(true)
    const caller = new RecordingCaller()
    const call = children.call(caller, toolCall(1, 'sample', { prompt: 'late?' }), undefined, client)
    const ask = await client.ask()
    call.cancel('the client gave up')
    expect(caller.abandoned).toEqual([1])
    expect(children.answer(answerTo(ask))).toBe(false)
  })

  // Non-asking methods run on any child that is up, the one held alone included. A method the proxy does not
  // know (here the fixture's own `fixture/call`, which runs a tool) may still make the child ask: that ask must
  // not reach the client of the call that holds the child.
  it('an ask caused by a request that holds no child never reaches the client holding that child', async () => {
    const { children } = await sharedChildren()
    const alice = new RecordingClient(true, 'alice')
    const aliceCaller = new RecordingCaller()
    children.call(aliceCaller, toolCall('a', 'slow', { ms: 3000 }), undefined, alice)
    await eventually(() => expect(children.primary.holder).toBeDefined())
    const bob = new RecordingClient(true, 'bob')
    const bobCaller = new RecordingCaller()
    children.call(bobCaller, request('b', 'fixture/call', { name: 'sample', arguments: { prompt: 'from bob' } }), undefined, bob)
    // Either bob's call is answered (its ask refused, or relayed to bob), or the ask went somewhere.
    await eventually(() => expect(bobCaller.responses.length + alice.relayed.length + bob.relayed.length).toBeGreaterThan(0))
    expect(alice.asks.map((ask) => ask.params)).toEqual([])
  })
})

describe('SharedChildren with asks: refuse (a server that never asks)', () => {
  it('the calls of clients that can be asked share one child; the child was told nobody can be asked, and an ask is refused', async () => {
    const { children } = await sharedChildren({ maxChildren: 2, asks: 'refuse' })
    const alice = new RecordingClient(true, 'alice')
    const bob = new RecordingClient(true, 'bob')
    const slow = new RecordingCaller()
    children.call(slow, toolCall(1, 'slow', { ms: 2000 }), undefined, alice)
    await eventually(() => expect(children.primary.sharers).toBe(1))
    const sampled = new RecordingCaller()
    children.call(sampled, toolCall(2, 'sample', { prompt: 'anyone?' }), undefined, bob)
    expect(textOf(await sampled.response())).toMatch(/^sampling error: .*refuses/)
    expect([...alice.relayed, ...bob.relayed]).toEqual([])
    // Beside the slow call, on the same child: nobody held it, and no extra was started for the second call.
    expect(children.children).toHaveLength(1)
    expect(children.primary.holder).toBeUndefined()
    const who = new RecordingCaller()
    children.call(who, toolCall(3, 'whoami'), undefined, alice)
    expect(JSON.parse(textOf(await who.response()) ?? '{}')).toMatchObject({ capabilities: {} })
    expect(textOf(await slow.response())).toBe('done after 2000ms')
    expect(children.primary.sharers).toBe(0)
  })

  it('with a fixed roots list the child is told of roots only', async () => {
    const { children } = await sharedChildren({ asks: 'refuse', roots: { mode: 'fixed', roots: [{ uri: 'file:///srv' }] } })
    const who = new RecordingCaller()
    children.call(who, toolCall(1, 'whoami'), undefined, new RecordingClient(true))
    expect(JSON.parse(textOf(await who.response()) ?? '{}').capabilities).toEqual({ roots: { listChanged: false } })
  })
})

describe('SharedChildren: what an ended call leaves behind', () => {
  it('a call cancelled while it waits for a child leaves the queue: the next caller is queued, not refused as busy', async () => {
    const { children } = await sharedChildren({ maxChildren: 1, maxQueued: 1 })
    const holderCaller = new RecordingCaller()
    const holding = children.call(holderCaller, toolCall('h', 'slow', { ms: 3000 }), undefined, new RecordingClient(true))
    await eventually(() => expect(children.primary.holder).toBe(holding))
    const waiter = new RecordingCaller()
    const waiting = children.call(waiter, toolCall('w', 'echo', { text: 'never' }), undefined, new RecordingClient(true))
    await eventually(() => expect(children.health().report).toMatchObject({ queued: 1 }))
    waiting.cancel('the client gave up')
    expect(waiter.abandoned).toEqual(['w'])
    const next = new RecordingCaller()
    children.call(next, toolCall('n', 'echo', { text: 'queued' }), undefined, new RecordingClient(true))
    // The cancelled waiter gave up its place: the new call queues instead of being refused at once.
    expect(children.health().report).toMatchObject({ queued: 1 })
    holding.cancel('done with it')
    expect(textOf(await next.response())).toBe('queued')
    expect(waiter.responses).toEqual([])
  })

  it('a call cancelled while it waits never reaches the child, and the child it was given goes back', async () => {
    const { children } = await sharedChildren({ maxChildren: 1 })
    const holderCaller = new RecordingCaller()
    const holding = children.call(holderCaller, toolCall('h', 'slow', { ms: 200 }), undefined, new RecordingClient(true))
    await eventually(() => expect(children.primary.holder).toBe(holding))
    const waiter = new RecordingCaller()
    const waiting = children.call(waiter, toolCall('w', 'echo', { text: 'never' }), undefined, new RecordingClient(true))
    waiting.cancel('gave up')
    expect(textOf(await holderCaller.response())).toBe('done after 200ms')
    await eventually(() => expect(children.primary.holder).toBeUndefined())
    const received = new RecordingCaller()
    children.call(received, toolCall('r', 'received', { method: 'tools/call' }), undefined, new RecordingClient(false))
    const calls = JSON.parse(textOf(await received.response())) as Array<{ name: string; arguments: { text?: string } }>
    expect(calls.map((c) => c.arguments.text)).not.toContain('never')
    expect(waiter.responses).toEqual([])
  })

  // The Upstream tells the child to cancel a request that timed out, like a client's cancellation: the child may
  // still be working on it (and ask about it), so it must not go straight to the next caller.
  it('a call that times out on a child it holds leaves the child in quarantine, as a cancelled one does', async () => {
    const { children } = await sharedChildren()
    const holderAtAnswer: unknown[] = []
    const caller: UpstreamCaller = {
      streaming: true,
      deliver: (message) => {
        if (!('method' in message)) holderAtAnswer.push(children.primary.holder)
      },
      abandon: () => {},
    }
    const call = children.call(caller, toolCall('t', 'slow', { ms: 5000 }), undefined, new RecordingClient(true), 100)
    await eventually(() => expect(children.primary.holder).toBe(call))
    await eventually(() => expect(holderAtAnswer).toHaveLength(1))
    expect(holderAtAnswer[0]).toBeDefined()
    expect(holderAtAnswer[0]).not.toBe(call)
  })

  it('a child that crashes under a held call: the call fails, and a call waiting for that child runs once it is back', async () => {
    const { children } = await sharedChildren({ maxChildren: 1 })
    const firstPid = children.primary.child.pid
    const crashing = new RecordingCaller()
    children.call(crashing, toolCall('c', 'crash'), undefined, new RecordingClient(true))
    const waiter = new RecordingCaller()
    children.call(waiter, toolCall('w', 'echo', { text: 'after the restart' }), undefined, new RecordingClient(true))
    expect(errorOf(await crashing.response()).message).toMatch(/exited/)
    const answer = await waiter.response()
    expect(answer, JSON.stringify(answer)).not.toHaveProperty('error')
    expect(textOf(answer)).toBe('after the restart')
    expect(children.primary.child.pid).not.toBe(firstPid)
  })

  it('shared calls that fail, time out or are cancelled all give their share back', async () => {
    const { children } = await sharedChildren()
    const client = new RecordingClient(false)
    const failing = new RecordingCaller()
    children.call(failing, toolCall(1, 'fail', { code: -32050 }), undefined, client)
    const timing = new RecordingCaller()
    children.call(timing, toolCall(2, 'slow', { ms: 5000 }), undefined, client, 100)
    const cancelled = new RecordingCaller()
    const call = children.call(cancelled, toolCall(3, 'slow', { ms: 5000 }), undefined, client)
    await eventually(() => expect(children.primary.sharers).toBe(3))
    call.cancel('gave up')
    expect(errorOf(await failing.response()).code).toBe(-32050)
    expect(errorOf(await timing.response()).code).toBe(ErrorCode.RequestTimeout)
    expect(children.primary.sharers).toBe(0)
    // With no share left, a lease is granted at once.
    const leased = new RecordingCaller()
    children.call(leased, toolCall(4, 'echo', { text: 'alone' }), undefined, new RecordingClient(true))
    expect(textOf(await leased.response())).toBe('alone')
  })
})

// ---------------------------------------------------------------------------------------------------
// SharedLink: a session's share

/** A session's backend on shared children, with what it routed to its client. */
function link(sessions: SharedSessions, capabilities: Record<string, unknown>) {
  const backend: SessionBackend = sessions.take(silentLogger)
  const routed: Array<{ message: JsonRpcMessage; about: UpstreamCaller | undefined }> = []
  backend.setUnroutedHandler((message, _text, about) => routed.push({ message, about }))
  const init = new RecordingCaller()
  backend.request(init, request(0, 'initialize', { protocolVersion: '2025-06-18', capabilities, clientInfo: { name: 't', version: '1' } }))
  expect(init.responses[0]).toHaveProperty('result')
  const asks = (): JsonRpcRequest[] => routed.map((r) => r.message).filter((m): m is JsonRpcRequest => 'id' in m && 'method' in m)
  /** The one ask routed to this session, once there is one. */
  const onlyAsk = (): Promise<JsonRpcRequest> =>
    eventually(() => {
      expect(asks()).toHaveLength(1)
      return asks()[0]!
    })
  return { backend, routed, asks, onlyAsk }
}

async function sharedSessions(maxChildren = 1): Promise<SharedSessions> {
  const logger = recordingLogger()
  const sessions = new SharedSessions(echoChildren(logger, maxChildren))
  onCleanup(() => sessions.close())
  sessions.fill()
  await sessions.started()
  return sessions
}

describe('SharedLink: a session on the shared children', () => {
  it('an ask goes to the session of the call holding the child, tied to that call (its caller)', async () => {
    const sessions = await sharedSessions()
    const alice = link(sessions, { sampling: {} })
    const bob = link(sessions, { sampling: {} })
    const caller = new RecordingCaller()
    alice.backend.request(caller, toolCall(7, 'sample', { prompt: 'for alice' }))
    const ask = await alice.onlyAsk()
    expect(alice.routed[0]!.about).toBe(caller)
    expect(bob.routed).toEqual([])
    alice.backend.respond(answerTo(ask))
    expect(textOf(await caller.response())).toBe('sampled')
    expect(alice.backend.busy).toBe(false)
  })

  it('a session cancels only its own call: the same id from another session cancels nothing', async () => {
    const sessions = await sharedSessions(2)
    const alice = link(sessions, {})
    const bob = link(sessions, {})
    const aliceCaller = new RecordingCaller()
    alice.backend.request(aliceCaller, toolCall(1, 'slow', { ms: 300 }))
    const bobCaller = new RecordingCaller()
    bob.backend.request(bobCaller, toolCall(1, 'slow', { ms: 5000 }))
    bob.backend.notify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1 } })
    expect(bobCaller.abandoned).toEqual([1])
    expect(aliceCaller.abandoned).toEqual([])
    expect(textOf(await aliceCaller.response())).toBe('done after 300ms')
  })

  it('a session that ends mid-call: its call fails, its ask is forgotten, and another session gets the child after it settles', async () => {
    const sessions = await sharedSessions(1)
    const alice = link(sessions, { sampling: {} })
    const bob = link(sessions, { elicitation: {} })
    const aliceCaller = new RecordingCaller()
    alice.backend.request(aliceCaller, toolCall(1, 'sample', { prompt: 'for alice' }))
    const aliceAsk = await alice.onlyAsk()
    const bobCaller = new RecordingCaller()
    bob.backend.request(bobCaller, toolCall(1, 'elicit', { message: 'for bob' }))
    alice.backend.fail({ message: 'The session ended before the MCP server answered' })
    expect(errorOf(aliceCaller.responses[0]).message).toMatch(/session ended/)
    expect(alice.backend.busy).toBe(false)
    // Alice's ask went with her session: her late answer reaches no child.
    expect(sessions.children.answer(answerTo(aliceAsk))).toBe(false)
    const bobAsk = await bob.onlyAsk()
    expect(bobAsk.method).toBe('elicitation/create')
    expect(bobAsk.params).toMatchObject({ message: 'for bob' })
    expect(alice.routed).toHaveLength(1)
    bob.backend.respond(answerTo(bobAsk, { action: 'accept', content: { name: 'bob' } }))
    expect(JSON.parse(textOf(await bobCaller.response()))).toEqual({ action: 'accept', content: { name: 'bob' } })
    // A request after the end is refused at once.
    const late = new RecordingCaller()
    alice.backend.request(late, toolCall(2, 'echo', { text: 'x' }))
    expect(errorOf(late.responses[0]).code).toBe(ErrorCode.ConnectionClosed)
  })

  it('a session with no asking capability never holds a child: its calls share it with an asking session waiting', async () => {
    const sessions = await sharedSessions(1)
    const plain = link(sessions, {})
    const callers = [new RecordingCaller(), new RecordingCaller()]
    callers.forEach((caller, n) => plain.backend.request(caller, toolCall(n, 'slow', { ms: 100 })))
    await eventually(() => expect(sessions.children.primary.sharers).toBe(2))
    expect(sessions.children.primary.holder).toBeUndefined()
    const asking = link(sessions, { sampling: {} })
    const askingCaller = new RecordingCaller()
    asking.backend.request(askingCaller, toolCall(9, 'echo', { text: 'after the shares' }))
    for (const caller of callers) expect(textOf(await caller.response())).toMatch(/^done after/)
    expect(textOf(await askingCaller.response())).toBe('after the shares')
  })
})

describe('SessionHub: subscriptions and notifications kept per session', () => {
  /** What the primary child received of `method` (the fixture's `received` tool, run beside everything). */
  async function receivedByChild(sessions: SharedSessions, method: string): Promise<unknown[]> {
    const caller = new RecordingCaller()
    sessions.take(silentLogger).request(caller, request(99, 'fixture/call', { name: 'received', arguments: { method } }))
    return JSON.parse(textOf(await caller.response())) as unknown[]
  }

  it('an unsubscribe while the first subscribe is on its way: the child is unsubscribed again and no update reaches the session', async () => {
    const sessions = await sharedSessions()
    const alice = link(sessions, {})
    const subscribed = new RecordingCaller()
    alice.backend.request(subscribed, request(1, 'resources/subscribe', { uri: 'test://static' }))
    const unsubscribed = new RecordingCaller()
    alice.backend.request(unsubscribed, request(2, 'resources/unsubscribe', { uri: 'test://static' }))
    expect(await subscribed.response()).toHaveProperty('result')
    expect(await unsubscribed.response()).toHaveProperty('result')
    await eventually(async () => expect(await receivedByChild(sessions, 'resources/unsubscribe')).toEqual([{ uri: 'test://static' }]))
    const notify = new RecordingCaller()
    alice.backend.request(notify, toolCall(3, 'notify'))
    await notify.response()
    await eventually(() => expect(alice.routed.map((r) => (r.message as { method?: string }).method)).toContain('notifications/tools/list_changed'))
    expect(alice.routed.map((r) => (r.message as { method?: string }).method)).not.toContain('notifications/resources/updated')
  })

  it('a session that leaves takes its subscriptions with it; the last one out unsubscribes the child', async () => {
    const sessions = await sharedSessions()
    const alice = link(sessions, {})
    const bob = link(sessions, {})
    for (const [who, id] of [[alice, 1], [bob, 2]] as const) {
      const caller = new RecordingCaller()
      who.backend.request(caller, request(id, 'resources/subscribe', { uri: 'test://static' }))
      expect(await caller.response()).toHaveProperty('result')
    }
    expect(await receivedByChild(sessions, 'resources/subscribe')).toEqual([{ uri: 'test://static' }])
    await alice.backend.stop()
    expect(await receivedByChild(sessions, 'resources/unsubscribe')).toEqual([])
    bob.backend.fail({ message: 'session closed' })
    await eventually(async () => expect(await receivedByChild(sessions, 'resources/unsubscribe')).toEqual([{ uri: 'test://static' }]))
  })

  it('a child cancelling a request of its own while nobody holds it tells no session; other notifications are published', async () => {
    const { children, published } = await sharedChildren()
    const client = new RecordingClient(false)
    for (const [id, method] of [[1, 'notifications/cancelled'], [2, 'notifications/tools/list_changed']] as const) {
      const caller = new RecordingCaller()
      children.call(caller, toolCall(id, 'announce', { method, params: { requestId: 's-1' } }), undefined, client)
      await caller.response()
    }
    await eventually(() => expect(published.map((m) => m.method)).toEqual(['notifications/tools/list_changed']))
    expect(client.relayed).toEqual([])
  })
})
