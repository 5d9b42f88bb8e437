// MRTR's moving parts driven directly: the LeasePool (growth, idle reaping, the queue), Interactions and its
// InteractiveCalls over fake children whose every answer, cancel and close is recorded (what a parked call does
// to its child when it expires, is evicted, finishes by itself, or the proxy stops), and a ModernLeg over the
// real asking-server fixture for what needs two principals (the HTTP leg has one per API key). The answer a
// client reads is a recorded ModernAnswer. Over HTTP with real children: fastify-plugin's modern-mrtr.test.ts.
import { afterEach, describe, expect, it } from 'vitest'
import { fileURLToPath } from 'node:url'
import { ErrorCode } from '../src/jsonrpc/errors.js'
import type { JsonRpcId, JsonRpcMessage, JsonRpcRequest, JsonRpcResponse } from '../src/jsonrpc/schemas.js'
import { silentLogger } from '../src/logger.js'
import { Interactions, type ClientView, type InteractionsOptions } from '../src/modern/interactions.js'
import type { InteractiveCall } from '../src/modern/interactive-call.js'
import { LeasePool, type LeaseHolder, type LeasePoolOptions } from '../src/shared/lease-pool.js'
import type { ModernAnswer } from '../src/modern/modern-call.js'
import { ModernLeg } from '../src/modern/modern-leg.js'
import { DEFAULT_CACHE } from '../src/modern/translate.js'
import type { UpstreamCaller } from '../src/upstream/upstream.js'
import { FakePooledChild, fakePoolOptions } from './fake-pool.js'
import { cleanup, eventually, onCleanup, TEST_LIMITS } from './helpers.js'

afterEach(cleanup)

const EVERY_CAPABILITY = { elicitation: { form: {}, url: {} }, sampling: {}, roots: {} }
const ALICE: ClientView = { capabilities: EVERY_CAPABILITY, logLevel: undefined, principal: 'alice' }
const NAME_FORM = { message: 'Your name?', requestedSchema: { type: 'object', properties: { name: { type: 'string' } } } }
const QUESTION = { messages: [{ role: 'user', content: { type: 'text', text: 'Capital of France?' } }], maxTokens: 10 }

// ---------------------------------------------------------------------------------------------------
// Fakes

/** The answer one client request gets, recorded: its events, then its final response. */
class RecordedAnswer implements ModernAnswer {
  open = true
  events: string[] = []
  final: { message: JsonRpcResponse; status: number } | undefined
  #listeners: Array<() => void> = []

  event(text: string): void {
    if (this.open) this.events.push(text)
  }

  finish(text: string, status: number): void {
    if (!this.open) return
    this.final = { message: JSON.parse(text) as JsonRpcResponse, status }
    this.close()
  }

  onClose(listener: () => void): void {
    this.#listeners.push(listener)
  }

  /** The connection closes (the client left, or the answer was written). */
  close(): void {
    if (!this.open) return
    this.open = false
    for (const listener of this.#listeners.splice(0)) listener()
  }

  /** The final response, once written (bounded). */
  async done(): Promise<{ message: JsonRpcResponse; status: number }> {
    return eventually(() => {
      if (!this.final) throw new Error('no final answer yet')
      return this.final
    })
  }
}

/** A child of the pool that records what the proxy sends it; the test speaks for it. */
class FakeChild extends FakePooledChild {
  /** Requests sent to the child, with who sent them. */
  requests: Array<{ caller: UpstreamCaller; message: JsonRpcRequest }> = []
  /** Answers the proxy gave the child's own requests. */
  answers: JsonRpcResponse[] = []
  /** Calls the proxy cancelled (by their id). */
  cancels: Array<{ id: JsonRpcId; reason: string }> = []
  extensions: Array<{ id: JsonRpcId; ms: number }> = []

  request(caller: UpstreamCaller, message: JsonRpcRequest): void {
    this.requests.push({ caller, message })
  }

  answerChild(response: JsonRpcResponse): void {
    this.answers.push(response)
  }

  cancel(_caller: UpstreamCaller, id: JsonRpcId, reason: string): void {
    this.cancels.push({ id, reason })
  }

  /** How long the call in flight may take from now on (the request timeout, or the input TTL while parked). */
  extend(_caller: UpstreamCaller, id: JsonRpcId, ms: number): void {
    this.extensions.push({ id, ms })
  }

  /** The interactive call that sent the last request here. */
  get call(): InteractiveCall {
    const last = this.requests.at(-1)
    if (!last) throw new Error(`child ${this.pid} got no request`)
    return last.caller as InteractiveCall
  }

  /** The child's answer to the last request it got (the Upstream restores the caller's id). */
  finish(message: Omit<JsonRpcResponse, 'jsonrpc' | 'id'>): void {
    const response = { jsonrpc: '2.0', id: this.call.id, ...message } as JsonRpcResponse
    this.call.deliver(response, JSON.stringify(response))
  }
}

/** Interactions over fake children (the first one is the primary), closed after the test. */
/** Lease-pool settings over fake children: the first is the primary, `spawn` adds one to `children`. */
function fakePool(children: FakeChild[]): LeasePoolOptions {
  return fakePoolOptions(children, () => new FakeChild())
}

function interactions(overrides: Partial<InteractionsOptions> = {}): { host: Interactions; children: FakeChild[] } {
  const children: FakeChild[] = []
  const host = new Interactions({
    ...fakePool(children),
    inputTtlMs: 60_000,
    maxParked: 64,
    requestStateKey: undefined,
    instance: 'core-test',
    context: () => ({ serverInfo: { name: 'fake', version: '1.0.0' }, cache: DEFAULT_CACHE, passThrough: false, scope: { era: 'modern' }, capabilities: {} }),
    ...overrides,
  })
  onCleanup(() => host.close())
  return { host, children }
}

/** A 2026 tools/call (the envelope already taken off, as the leg gets it). */
function toolCall(id: JsonRpcId, name: string, args: Record<string, unknown> = {}): JsonRpcRequest {
  return { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } }
}

function retryOf(call: JsonRpcRequest, id: JsonRpcId, requestState: unknown, inputResponses: Record<string, unknown> = {}): JsonRpcRequest {
  return { ...call, id, params: { ...(call.params as Record<string, unknown>), requestState, inputResponses } }
}

/** Start `request` as `client`; its answer is recorded. */
function start(host: Interactions, request: JsonRpcRequest, client: ClientView = ALICE): RecordedAnswer {
  const answer = new RecordedAnswer()
  void host.call(request, client, answer)
  return answer
}

/** The child asks its holder (as the leg routes a child's request); false if nobody holds it. */
function childAsks(host: Interactions, child: FakeChild, id: JsonRpcId, method: string, params: unknown): boolean {
  return host.holderOf(child.pooled)?.ask(id, method, params) ?? false
}

interface Round {
  inputRequests: Record<string, { method: string; params: Record<string, unknown> }>
  requestState: string
}

/** The `input_required` result an answer ends with (fails otherwise). */
async function roundOf(answer: RecordedAnswer): Promise<Round> {
  const { message, status } = await answer.done()
  expect(status, JSON.stringify(message)).toBe(200)
  expect(message).toMatchObject({ result: { resultType: 'input_required' } })
  return (message as { result: Round }).result
}

/** The error an answer ends with (fails otherwise). */
async function errorOf(answer: RecordedAnswer): Promise<{ code: number; message: string }> {
  const { message } = await answer.done()
  expect(message, JSON.stringify(message)).toHaveProperty('error')
  return (message as { error: { code: number; message: string } }).error
}

/** A call parked on one elicitation (`<id>-e`) of the child it gets, `children[index]` (spawned for it, maybe). */
async function parkedElicitation(host: Interactions, children: FakeChild[], index: number, id: JsonRpcId) {
  const call = toolCall(id, 'ask', { id })
  const answer = start(host, call)
  const child = await eventually(() => {
    const child = children[index]
    expect(child?.requests.at(-1)?.message.id).toBe(id)
    return child!
  })
  expect(childAsks(host, child, `${String(id)}-e`, 'elicitation/create', NAME_FORM)).toBe(true)
  return { call, round: await roundOf(answer) }
}

const accept = (name: string) => ({ action: 'accept', content: { name } })
const text = (value: string) => ({ content: [{ type: 'text', text: value }] })

// ---------------------------------------------------------------------------------------------------

describe('LeasePool', () => {
  function pool(overrides: Partial<LeasePoolOptions> = {}): { pool: LeasePool; children: FakeChild[] } {
    const children: FakeChild[] = []
    const leases = new LeasePool({ ...fakePool(children), ...overrides })
    onCleanup(() => leases.close())
    return { pool: leases, children }
  }
  const holder = (id: string): LeaseHolder => ({ id })

  it('grows on demand up to maxChildren, then queues; an extra child idle for idleMs is stopped, the primary never', async () => {
    const { pool: leases, children } = pool({ idleMs: 100 })
    const first = await leases.acquire(holder('a'))
    expect(first).toBe(children[0]!.pooled)
    const second = await leases.acquire(holder('b'))
    expect(children).toHaveLength(2)
    expect(second).toBe(children[1]!.pooled)
    expect([leases.size, leases.leased]).toEqual([2, 2])

    const third = leases.acquire(holder('c'))
    expect(leases.queued).toBe(1)
    leases.release(second!)
    expect(await third).toBe(children[1]!.pooled)
    expect(children[1]!.pooled.holder).toEqual({ id: 'c' })

    leases.release(first!)
    leases.release(children[1]!.pooled)
    expect([leases.size, leases.leased, leases.queued]).toEqual([2, 0, 0])
    // The extra child idles out and is stopped; the primary, idle as long, stays.
    await eventually(() => expect(leases.size).toBe(1), 2000)
    expect(children[1]!.closed).toBe(true)
    expect(children[0]!.closed).toBe(false)
    expect(await leases.acquire(holder('d'))).toBe(children[0]!.pooled)
  })

  it('a leased extra child is never reaped, however long its lease', async () => {
    const { pool: leases, children } = pool({ idleMs: 60 })
    await leases.acquire(holder('a'))
    const extra = await leases.acquire(holder('b'))
    // Several reaper passes later (each runs every 50 ms), the held extra child is still there.
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(leases.size).toBe(2)
    expect(children[1]!.closed).toBe(false)
    leases.release(extra!)
    await eventually(() => expect(children[1]!.closed).toBe(true), 2000)
  })

  it('the queue: a full one refuses at once, a waiter gives up after queueTimeoutMs, a spawn that fails leaves the call waiting', async () => {
    const { pool: leases } = pool({ maxChildren: 1, maxQueued: 1, queueTimeoutMs: 100 })
    const held = await leases.acquire(holder('a'))
    const waiting = leases.acquire(holder('b'))
    // Refused at once: never queued behind the waiter.
    const refused = leases.acquire(holder('c'))
    expect(leases.queued).toBe(1)
    expect(await refused).toBeUndefined()
    expect(await waiting).toBeUndefined()
    expect(leases.queued).toBe(0)
    leases.release(held!)

    const failing = pool({ maxChildren: 2, spawn: () => Promise.reject(new Error('cannot start')) })
    const primary = await failing.pool.acquire(holder('a'))
    const queued = failing.pool.acquire(holder('b'))
    await eventually(() => expect(failing.pool.queued).toBe(1))
    expect(failing.pool.size).toBe(1)
    failing.pool.release(primary!)
    expect(await queued).toBe(failing.children[0]!.pooled)
  })

  it('close(): waiters are refused, extra children stopped, the primary left to its owner', async () => {
    const { pool: leases, children } = pool()
    await leases.acquire(holder('a'))
    await leases.acquire(holder('b'))
    const waiting = leases.acquire(holder('c'))
    await leases.close()
    expect(await waiting).toBeUndefined()
    expect(children.map((child) => child.closed)).toEqual([false, true])
    expect(await leases.acquire(holder('d'))).toBeUndefined()
  })
})

describe('Interactions: a round and its retry', () => {
  it('requests within the quiet window form one round; the retry answers the child and the call follows it to its result', async () => {
    const { host, children } = interactions()
    const [child] = children as [FakeChild]
    const call = toolCall(1, 'ask')
    const answer = start(host, call)
    await eventually(() => expect(child.requests).toHaveLength(1))
    childAsks(host, child, 'e', 'elicitation/create', { ...NAME_FORM, _meta: { 'stdio-proxy/inputKey': 'user_name' } })
    childAsks(host, child, 's', 'sampling/createMessage', QUESTION)
    const round = await roundOf(answer)
    expect(Object.keys(round.inputRequests)).toEqual(['user_name', 'sampling-1'])
    expect(host.stats).toEqual({ children: 1, leased: 1, queued: 0, parked: 1 })
    // While parked, the child's call may take longer than the input TTL (so the TTL's own expiry comes first).
    expect(child.extensions).toEqual([{ id: 1, ms: expect.any(Number) }])
    expect(child.extensions[0]!.ms).toBeGreaterThan(60_000)

    const retry = start(host, retryOf(call, 2, round.requestState, { user_name: accept('Ada'), 'sampling-1': { role: 'assistant', content: { type: 'text', text: 'Paris' }, model: 'm' } }))
    await eventually(() => expect(child.answers).toHaveLength(2))
    expect(child.answers).toEqual([
      { jsonrpc: '2.0', id: 'e', result: accept('Ada') },
      { jsonrpc: '2.0', id: 's', result: { role: 'assistant', content: { type: 'text', text: 'Paris' }, model: 'm' } },
    ])
    expect(retry.final).toBeUndefined()
    // Resumed, it is under the request timeout again.
    expect(child.extensions.at(-1)).toEqual({ id: 1, ms: 5000 })
    child.finish({ result: text('done') })
    expect((await retry.done()).message).toMatchObject({ id: 2, result: { resultType: 'complete', content: [{ text: 'done' }] } })
    expect(host.stats).toEqual({ children: 1, leased: 0, queued: 0, parked: 0 })
    expect(child.cancels).toEqual([])
  })

  it('a child that asks again while its call waits for a key left out: the new request goes out with the next round', async () => {
    const { host, children } = interactions()
    const [child] = children as [FakeChild]
    const call = toolCall(1, 'ask')
    const answer = start(host, call)
    await eventually(() => expect(child.requests).toHaveLength(1))
    childAsks(host, child, 'first', 'elicitation/create', { ...NAME_FORM, message: 'first' })
    childAsks(host, child, 'second', 'elicitation/create', { ...NAME_FORM, message: 'second' })
    const one = await roundOf(answer)
    expect(Object.keys(one.inputRequests)).toEqual(['elicitation-1', 'elicitation-2'])

    // Only the first is answered: the second is asked again alone.
    const two = await roundOf(start(host, retryOf(call, 2, one.requestState, { 'elicitation-1': accept('a') })))
    expect(Object.keys(two.inputRequests)).toEqual(['elicitation-2'])
    // Its answer in hand, the child asks a third thing while the call is parked again.
    expect(childAsks(host, child, 'third', 'elicitation/create', { ...NAME_FORM, message: 'third' })).toBe(true)
    await new Promise((resolve) => setTimeout(resolve, host.quietMs * 3))

    const three = await roundOf(start(host, retryOf(call, 3, two.requestState, { 'elicitation-2': accept('b') })))
    expect(Object.values(three.inputRequests).map((request) => request.params.message)).toEqual(['third'])
    const last = start(host, retryOf(call, 4, three.requestState, Object.fromEntries(Object.keys(three.inputRequests).map((key) => [key, accept('c')]))))
    await eventually(() => expect(child.answers.map((a) => a.id)).toEqual(['first', 'second', 'third']))
    child.finish({ result: text('three answers') })
    expect((await last.done()).message).toMatchObject({ id: 4, result: { content: [{ text: 'three answers' }] } })
  })

  it('at most 16 rounds: the 17th request for input ends the call with -32603, the child told "cancel"', async () => {
    const { host, children } = interactions()
    const [child] = children as [FakeChild]
    const call = toolCall(1, 'ask')
    let answer = start(host, call)
    await eventually(() => expect(child.requests).toHaveLength(1))
    for (let round = 1; round <= host.maxRounds; round++) {
      childAsks(host, child, `e${round}`, 'elicitation/create', NAME_FORM)
      const { requestState } = await roundOf(answer)
      answer = start(host, retryOf(call, `retry-${round}`, requestState, { 'elicitation-1': accept(String(round)) }))
    }
    childAsks(host, child, 'one too many', 'elicitation/create', NAME_FORM)
    expect(await errorOf(answer)).toMatchObject({ code: ErrorCode.InternalError, message: expect.stringContaining('16') })
    expect(child.answers.at(-1)).toEqual({ jsonrpc: '2.0', id: 'one too many', result: { action: 'cancel' } })
    expect(child.cancels).toEqual([{ id: 1, reason: 'too many rounds of input' }])
    await eventually(() => expect(host.stats).toMatchObject({ leased: 0, parked: 0 }))
  })

  it('the client closes a retry while the call runs again: the child is told to cancel, and gets its lease back after settling', async () => {
    const { host, children } = interactions()
    const [child] = children as [FakeChild]
    const { call, round } = await parkedElicitation(host, children, 0, 1)
    const retry = start(host, retryOf(call, 2, round.requestState, { 'elicitation-1': accept('Ada') }))
    await eventually(() => expect(child.answers).toHaveLength(1))
    retry.close()
    expect(child.cancels).toEqual([{ id: 1, reason: 'The client closed the request' }])
    // Held a moment (late messages of the cancelled call reach nobody else), then free.
    expect(host.stats.leased).toBe(1)
    await eventually(() => expect(host.stats.leased).toBe(0))
  })
})

describe('Interactions: parked calls', () => {
  it("another principal's retry, or a retry for another call: -32602, and the call stays parked for its own", async () => {
    const { host, children } = interactions()
    const [child] = children as [FakeChild]
    const { call, round } = await parkedElicitation(host, children, 0, 1)
    const bob: ClientView = { ...ALICE, principal: 'bob' }
    expect(await errorOf(start(host, retryOf(call, 'bob', round.requestState, { 'elicitation-1': accept('Bob') }), bob))).toMatchObject({ code: ErrorCode.InvalidParams })
    const otherCall = toolCall(1, 'ask', { id: 'other' })
    expect(await errorOf(start(host, retryOf(otherCall, 'other', round.requestState, { 'elicitation-1': accept('Eve') })))).toMatchObject({ code: ErrorCode.InvalidParams })
    expect(child.answers).toEqual([])
    expect(host.stats.parked).toBe(1)
    start(host, retryOf(call, 'alice', round.requestState, { 'elicitation-1': accept('Ada') }))
    await eventually(() => expect(child.answers).toEqual([{ jsonrpc: '2.0', id: '1-e', result: accept('Ada') }]))
  })

  it('two retries of one state at once: exactly one resumes the call', async () => {
    const { host, children } = interactions()
    const [child] = children as [FakeChild]
    const { call, round } = await parkedElicitation(host, children, 0, 1)
    const first = start(host, retryOf(call, 'x', round.requestState, { 'elicitation-1': accept('x') }))
    const second = start(host, retryOf(call, 'y', round.requestState, { 'elicitation-1': accept('y') }))
    await eventually(() => expect(child.answers).toHaveLength(1))
    expect([first.final, second.final].filter(Boolean)).toHaveLength(1)
    const loser = first.final ? first : second
    const winner = first.final ? second : first
    expect(await errorOf(loser)).toMatchObject({ code: ErrorCode.InvalidParams })
    const winnerName = winner === first ? 'x' : 'y'
    expect(child.answers).toEqual([{ jsonrpc: '2.0', id: '1-e', result: accept(winnerName) }])
    child.finish({ result: text(`won by ${winnerName}`) })
    expect((await winner.done()).message).toMatchObject({ id: winnerName, result: { content: [{ text: `won by ${winnerName}` }] } })
  })

  it('past inputTtlMs: an elicitation is answered "cancel", sampling and roots an error; the call is cancelled, its lease freed, its state refused', async () => {
    const { host, children } = interactions({ inputTtlMs: 100 })
    const [child] = children as [FakeChild]
    const call = toolCall(1, 'ask')
    const answer = start(host, call)
    await eventually(() => expect(child.requests).toHaveLength(1))
    childAsks(host, child, 'e', 'elicitation/create', NAME_FORM)
    childAsks(host, child, 's', 'sampling/createMessage', QUESTION)
    childAsks(host, child, 'r', 'roots/list', {})
    const round = await roundOf(answer)
    await eventually(() => expect(child.answers).toHaveLength(3))
    expect(child.answers).toEqual([
      { jsonrpc: '2.0', id: 'e', result: { action: 'cancel' } },
      { jsonrpc: '2.0', id: 's', error: { code: ErrorCode.RequestTimeout, message: expect.any(String) } },
      { jsonrpc: '2.0', id: 'r', error: { code: ErrorCode.RequestTimeout, message: expect.any(String) } },
    ])
    expect(child.cancels).toEqual([{ id: 1, reason: 'expired' }])
    expect(host.stats.parked).toBe(0)
    await eventually(() => expect(host.stats.leased).toBe(0))
    expect(await errorOf(start(host, retryOf(call, 2, round.requestState, { 'elicitation-1': accept('late') })))).toMatchObject({ code: ErrorCode.InvalidParams })
  })

  it('the child finishes while parked: its lease comes back at once, its request is answered "cancel", the retry gets the result', async () => {
    const { host, children } = interactions()
    const [child] = children as [FakeChild]
    const { call, round } = await parkedElicitation(host, children, 0, 1)
    child.finish({ result: text('finished alone') })
    expect(child.answers).toEqual([{ jsonrpc: '2.0', id: '1-e', result: { action: 'cancel' } }])
    expect(host.stats).toMatchObject({ leased: 0, parked: 1 })
    const retry = start(host, retryOf(call, 2, round.requestState, { 'elicitation-1': accept('late') }))
    expect((await retry.done()).message).toMatchObject({ id: 2, result: { resultType: 'complete', content: [{ text: 'finished alone' }] } })
    expect(child.answers).toHaveLength(1)
    expect(child.cancels).toEqual([])
    expect(host.stats).toMatchObject({ leased: 0, parked: 0 })
  })

  it('the child withdraws its request and fails (its own timeout) while parked: the request is not answered, the retry gets the error', async () => {
    const { host, children } = interactions()
    const [child] = children as [FakeChild]
    const { call, round } = await parkedElicitation(host, children, 0, 1)
    child.call.withdraw('1-e')
    child.finish({ error: { code: ErrorCode.RequestTimeout, message: 'Request timed out' } })
    expect(host.stats).toMatchObject({ leased: 0, parked: 1 })
    const retry = start(host, retryOf(call, 2, round.requestState, { 'elicitation-1': accept('late') }))
    expect((await retry.done()).message).toEqual({ jsonrpc: '2.0', id: 2, error: { code: ErrorCode.RequestTimeout, message: 'Request timed out' } })
    expect(child.answers).toEqual([])
    expect(child.cancels).toEqual([])
  })

  it('a finished call nobody retries expires without touching its child, which serves another call by then', async () => {
    const { host, children } = interactions({ inputTtlMs: 100, maxChildren: 1 })
    const [child] = children as [FakeChild]
    await parkedElicitation(host, children, 0, 'done-alone')
    child.finish({ result: text('finished alone') })
    const next = start(host, toolCall('next', 'echo'))
    await eventually(() => expect(child.requests.at(-1)?.message.id).toBe('next'))
    await eventually(() => expect(host.stats.parked).toBe(0))
    expect(child.cancels).toEqual([])
    expect(child.pooled.holder).toBe(child.call)
    child.finish({ result: text('next done') })
    expect((await next.done()).message).toMatchObject({ id: 'next', result: { content: [{ text: 'next done' }] } })
  })

  it('past maxParked: the call parked longest is given up (answered "cancel", cancelled), the newer one resumes', async () => {
    const { host, children } = interactions({ maxParked: 1 })
    const older = await parkedElicitation(host, children, 0, 'older')
    const newer = await parkedElicitation(host, children, 1, 'newer')
    expect(children[0]!.answers).toEqual([{ jsonrpc: '2.0', id: 'older-e', result: { action: 'cancel' } }])
    expect(children[0]!.cancels).toEqual([{ id: 'older', reason: 'evicted' }])
    expect(await errorOf(start(host, retryOf(older.call, 'older-2', older.round.requestState, { 'elicitation-1': accept('x') })))).toMatchObject({ code: ErrorCode.InvalidParams })
    start(host, retryOf(newer.call, 'newer-2', newer.round.requestState, { 'elicitation-1': accept('y') }))
    await eventually(() => expect(children[1]!.answers).toEqual([{ jsonrpc: '2.0', id: 'newer-e', result: accept('y') }]))
  })

  it('every child held by a parked call: a new call takes the child of the one parked longest', async () => {
    const { host, children } = interactions({ maxChildren: 1 })
    const [child] = children as [FakeChild]
    const parked = await parkedElicitation(host, children, 0, 'parked')
    const newcomer = start(host, toolCall('newcomer', 'echo'))
    await eventually(() => expect(child.requests.at(-1)?.message.id).toBe('newcomer'))
    expect(child.answers).toEqual([{ jsonrpc: '2.0', id: 'parked-e', result: { action: 'cancel' } }])
    expect(child.cancels).toEqual([{ id: 'parked', reason: 'evicted' }])
    child.finish({ result: text('served') })
    expect((await newcomer.done()).message).toMatchObject({ id: 'newcomer', result: { content: [{ text: 'served' }] } })
    expect(await errorOf(start(host, retryOf(parked.call, 'late', parked.round.requestState, { 'elicitation-1': accept('x') })))).toMatchObject({ code: ErrorCode.InvalidParams })
  })

  it('the call given way is one that still holds a child: a parked call whose child already finished keeps its result', async () => {
    const { host, children } = interactions({ maxChildren: 1, queueTimeoutMs: 3000 })
    const [child] = children as [FakeChild]
    const finished = await parkedElicitation(host, children, 0, 'finished')
    child.finish({ result: text('kept for the retry') })
    await parkedElicitation(host, children, 0, 'holding')
    const newcomer = start(host, toolCall('newcomer', 'echo'))
    // The child of `holding` is taken (not `finished`'s, which holds none): the newcomer runs at once.
    await eventually(() => expect(child.requests.at(-1)?.message.id).toBe('newcomer'), 1000)
    expect(child.cancels).toEqual([{ id: 'holding', reason: 'evicted' }])
    child.finish({ result: text('served') })
    expect((await newcomer.done()).message).toMatchObject({ id: 'newcomer', result: { content: [{ text: 'served' }] } })
    const retry = start(host, retryOf(finished.call, 'finished-2', finished.round.requestState, { 'elicitation-1': accept('x') }))
    expect((await retry.done()).message).toMatchObject({ id: 'finished-2', result: { content: [{ text: 'kept for the retry' }] } })
  })

  it('close(): every parked call is given up (its child answered and told to cancel), extra children stopped; a retry after is -32602', async () => {
    const { host, children } = interactions({ maxChildren: 2 })
    const first = await parkedElicitation(host, children, 0, 'first')
    const sampling = start(host, toolCall('sampling', 'ask'))
    await eventually(() => expect(children[1]?.requests).toHaveLength(1))
    childAsks(host, children[1]!, 's', 'sampling/createMessage', QUESTION)
    await roundOf(sampling)

    await host.close()
    expect(children[0]!.answers).toEqual([{ jsonrpc: '2.0', id: 'first-e', result: { action: 'cancel' } }])
    expect(children[1]!.answers).toEqual([{ jsonrpc: '2.0', id: 's', error: { code: ErrorCode.ConnectionClosed, message: expect.any(String) } }])
    expect([...children[0]!.cancels, ...children[1]!.cancels]).toEqual([
      { id: 'first', reason: 'shutdown' },
      { id: 'sampling', reason: 'shutdown' },
    ])
    expect(children.map((child) => child.closed)).toEqual([false, true])
    expect(host.stats).toMatchObject({ children: 1, parked: 0 })
    expect(await errorOf(start(host, retryOf(first.call, 'after', first.round.requestState, { 'elicitation-1': accept('x') })))).toMatchObject({ code: ErrorCode.InvalidParams })
  })

  it('close(): a call waiting for a lease is refused (-32603), a fresh one too', async () => {
    const { host, children } = interactions({ maxChildren: 1, queueTimeoutMs: 60_000 })
    // A running call (nothing can take its child away) holds the one child.
    start(host, toolCall('running', 'echo'))
    await eventually(() => expect(children[0]!.requests).toHaveLength(1))
    const waiter = start(host, toolCall('waiter', 'echo'))
    await eventually(() => expect(host.stats.queued).toBe(1))
    await host.close()
    expect(await errorOf(waiter)).toMatchObject({ code: ErrorCode.InternalError })
    expect(await errorOf(start(host, toolCall('later', 'echo')))).toMatchObject({ code: ErrorCode.InternalError })
    expect(children[0]!.requests).toHaveLength(1)
  })
})

// ---------------------------------------------------------------------------------------------------

describe('ModernLeg over a real child: a parked call belongs to its principal', () => {
  const ASKING_SERVER = fileURLToPath(new URL('../../../fixtures/asking-server.mjs', import.meta.url))

  function leg(): ModernLeg {
    const modern = new ModernLeg({
      child: { command: { command: process.execPath, args: [ASKING_SERVER], env: process.env as Record<string, string> }, ...TEST_LIMITS, logger: silentLogger },
      initializeTimeoutMs: 5000,
      restart: { initialDelayMs: 100, maxDelayMs: 1000, crashLoopExits: 5, crashLoopWindowMs: 60_000 },
      clientInfo: { name: 'core-test', version: '1.0.0' },
      cache: DEFAULT_CACHE,
      roots: [],
      maxListenStreams: 4,
      upstreamProtocol: 'legacy',
      interactive: 'translate',
      maxChildren: 2,
      inputTtlMs: 60_000,
      maxParked: 64,
      requestStateKey: Buffer.alloc(32, 7),
      instance: 'core-test',
      leaseTimeoutMs: 5000,
      logger: silentLogger,
    })
    onCleanup(() => modern.close())
    return modern
  }

  async function serve(modern: ModernLeg, request: JsonRpcRequest, client: ClientView): Promise<JsonRpcMessage> {
    const answer = new RecordedAnswer()
    await modern.call(request, client, answer)
    return (await answer.done()).message
  }

  it("another principal's retry is -32602; the principal that parked it resumes it", async () => {
    const modern = leg()
    expect(await modern.ready()).toBe(true)
    const call = toolCall(1, 'ask', { key: 'who' })
    const first = (await serve(modern, call, ALICE)) as { result: Round }
    expect(first.result).toMatchObject({ resultType: 'input_required', inputRequests: { who: { method: 'elicitation/create' } } })
    const state = first.result.requestState

    const bob: ClientView = { ...ALICE, principal: 'bob' }
    expect(await serve(modern, retryOf(call, 2, state, { who: accept('Bob') }), bob)).toMatchObject({ id: 2, error: { code: ErrorCode.InvalidParams } })
    expect(modern.health().report).toMatchObject({ interactive: { leased: 1, parked: 1 } })
    const done = await serve(modern, retryOf(call, 3, state, { who: accept('Alice') }), ALICE)
    expect(done).toMatchObject({ id: 3, result: { resultType: 'complete', content: [{ text: `answered ${JSON.stringify({ result: accept('Alice') })}` }] } })
    expect(modern.health().report).toMatchObject({ interactive: { leased: 0, parked: 0 } })
  })
})
