// MRTR over real HTTP, through the real plugin and real 2025-era children: a child's request in the middle of
// a 2026-07-28 call becomes `input_required`, the client's retry answers it, and every way a parked call can
// end leaves no lease and no child behind. Two fixtures:
// - everything-legacy (SDK v1) asks with the key hints the conformance scenarios expect (`user_name`, …),
//   concurrently where a scenario needs one round of several requests;
// - asking-server (the echo fixture plus `ask` and `settle`) reports on stderr every answer the proxy gave
//   it (`reply <json>`) and lets a test end a waiting call (`settle`: a result, or its own timeout).
// The children are counted with GET /ready (`modern.interactive`) and in /proc. The core-level tests
// (packages/core/test/modern-interactions.test.ts) cover what needs a clock or a second principal: idle
// reaping, the lease queue's timeout, another caller's retry.
import { describe, expect, it } from 'vitest'
import { DrainSwitch } from '../src/index.js'
import { listenLogged, stderrLines, waitFor, waitForChildren, type JsonRpcId, type LoggedApp, type Message } from './failure-helpers.js'
import {
  CLIENT_CAPABILITIES_KEY,
  exchange,
  expectModernError,
  fixtureCall,
  modernCall,
  modernReport,
  modernRequest,
  resultOf,
  SERVER_INFO_KEY,
  textOfAnswer,
  type Answer,
  type ModernOptions,
  type ModernReport,
} from './modern-helpers.js'

const INVALID_PARAMS = -32602
const INTERNAL_ERROR = -32603
const MISSING_CAPABILITY = -32021
const METHOD_NOT_FOUND = -32601
const REQUEST_TIMEOUT = -32001

/** asking-server, and no warm child for 2025 sessions: every asking-server process is one of the modern leg's. */
const ASKING = { fixture: 'asking-server', warmChildren: 0 }

const ELICITATION = { elicitation: { form: {} } }
const EVERY_CAPABILITY = { elicitation: { form: {}, url: {} }, sampling: {}, roots: {} }
const NAME_SCHEMA = { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] }

/** An ElicitResult accepting `name`. */
const accept = (name: string) => ({ action: 'accept', content: { name } })

/** The envelope of a client that declared `capabilities`. */
function declaring(capabilities: Record<string, unknown>): ModernOptions {
  return { meta: { [CLIENT_CAPABILITIES_KEY]: capabilities } }
}

/** A 2026-07-28 tools/call from a client that declared `capabilities`. */
function callOf(id: JsonRpcId, name: string, args: Record<string, unknown> = {}, capabilities: Record<string, unknown> = EVERY_CAPABILITY): Message {
  return modernCall(id, name, args, declaring(capabilities))
}

/** The retry of `call` under a new id: its params, plus `requestState` and (if given) `inputResponses`. */
function retryOf(call: Message, id: JsonRpcId, requestState: unknown, inputResponses?: Record<string, unknown>): Message {
  const params = { ...(call.params as Record<string, unknown>), requestState, ...(inputResponses === undefined ? {} : { inputResponses }) }
  return { ...call, id, params }
}

interface InputRequired {
  inputRequests: Record<string, { method: string; params: Record<string, unknown> }>
  requestState: string
}

/** An `input_required` answer (fails the test otherwise): one JSON body, a sealed state, the server named. */
function inputRequiredOf(answer: Answer): InputRequired {
  const result = resultOf(answer)
  expect(answer.kind).toBe('json')
  expect(result).toMatchObject({ resultType: 'input_required', _meta: { [SERVER_INFO_KEY]: expect.any(Object) } })
  expect(result.requestState).toEqual(expect.stringMatching(/^v1\.[\w-]+\.[\w-]+$/))
  return result as unknown as InputRequired
}

/** `GET /ready`'s `modern.interactive`: the children of interactive calls and what holds them. */
interface InteractiveReport {
  children: number
  leased: number
  queued: number
  parked: number
}

async function interactiveReport(base: string): Promise<InteractiveReport | undefined> {
  return ((await modernReport(base)) as (ModernReport & { interactive?: InteractiveReport }) | undefined)?.interactive
}

/** Wait until `check` holds for the interactive report; returns it. */
function reportWhere(base: string, check: (report: InteractiveReport) => boolean, what: string): Promise<InteractiveReport> {
  let last: InteractiveReport | undefined
  return waitFor(
    async () => {
      last = await interactiveReport(base)
      return last !== undefined && check(last) ? last : undefined
    },
    () => `${what} (last report ${JSON.stringify(last)})`,
  )
}

/** No call holds a child, waits for one, or is parked (a cancelled call keeps its child a moment, to settle). */
function nothingHeld(base: string): Promise<InteractiveReport> {
  return reportWhere(base, (r) => r.leased === 0 && r.queued === 0 && r.parked === 0, 'no lease, no queue, nothing parked')
}

/** One `ask` of asking-server: the child that sent it and its request id there. */
interface Ask {
  pid: number
  id: string
}

/** The `ask` named `name` once it reached its child (from its stderr line `asked <name> <id>`). */
function asked(proxy: LoggedApp, name: string): Promise<Ask> {
  return waitFor(() => {
    for (const line of proxy.logs) {
      const match = typeof line.stderr === 'string' ? /^asked (\S+) (\S+)$/.exec(line.stderr) : null
      if (match?.[1] === name) return { pid: line.childPid as number, id: match[2]! }
    }
    return undefined
  }, `the ask ${name} at its child`)
}

/** Every answer the proxy gave `ask` (its child's stderr lines `reply <json>`). */
function repliesTo(proxy: LoggedApp, ask: Ask): Message[] {
  return proxy.logs.flatMap((line) => {
    if (line.childPid !== ask.pid || typeof line.stderr !== 'string' || !line.stderr.startsWith('reply ')) return []
    const reply = JSON.parse(line.stderr.slice('reply '.length)) as Message
    return reply.id === ask.id ? [reply] : []
  })
}

/** The proxy's answer to `ask`, once its child reported it. */
function replyTo(proxy: LoggedApp, ask: Ask): Promise<Message> {
  return waitFor(() => repliesTo(proxy, ask)[0], `the answer to ${ask.id} at child ${ask.pid}`)
}

/** What asking-server's `ask` answers once the client's reply came. */
function answered(reply: Record<string, unknown>): string {
  return `answered ${JSON.stringify(reply)}`
}

/** The params of every `method` the primary child received (the fixture's `received`, run beside any lease). */
async function receivedByPrimary(base: string, method: string): Promise<Array<Record<string, unknown> | null>> {
  return JSON.parse(textOfAnswer(await exchange(base, fixtureCall('received', 'received', { method }))) ?? '') as Array<Record<string, unknown> | null>
}

/** One `ask` parked: its call, the round the client got, and the ask at the child. */
async function parkAsk(proxy: LoggedApp, id: JsonRpcId, args: Record<string, unknown> = {}, capabilities: Record<string, unknown> = EVERY_CAPABILITY) {
  const call = callOf(id, 'ask', args, capabilities)
  const round = inputRequiredOf(await exchange(proxy.base, call))
  const ask = await asked(proxy, typeof args.name === 'string' ? args.name : 'ask')
  return { call, round, ask }
}

describe('a round of input_required and its retry', () => {
  it("the child's elicitation becomes input_required under its key hint; the retry answers it and the call completes", async () => {
    const { base } = await listenLogged({ fixture: 'everything-legacy' })
    const call = callOf('first', 'test_input_required_result_elicitation', {}, ELICITATION)
    const first = await exchange(base, call)
    expect(first.answer?.id).toBe('first')
    const round = inputRequiredOf(first)
    expect(Object.keys(round.inputRequests)).toEqual(['user_name'])
    expect(round.inputRequests.user_name).toMatchObject({ method: 'elicitation/create', params: { message: 'What is your name?', requestedSchema: NAME_SCHEMA } })
    // The key hint and the rest of the 2025-only params are not shown to the client.
    expect(round.inputRequests.user_name!.params).not.toHaveProperty('_meta')
    expect(await interactiveReport(base)).toEqual({ children: 1, leased: 1, queued: 0, parked: 1 })

    const done = await exchange(base, retryOf(call, 'second', round.requestState, { user_name: accept('Ada') }))
    expect(done.answer?.id).toBe('second')
    expect(resultOf(done)).toMatchObject({ resultType: 'complete', content: [{ type: 'text', text: 'Hello, Ada!' }] })
    expect(await nothingHeld(base)).toEqual({ children: 1, leased: 0, queued: 0, parked: 0 })
  })

  it('--instance-id: the state names the instance in its readable part (a balancer can route the retry by it)', async () => {
    const { base } = await listenLogged({ fixture: 'everything-legacy', instanceId: 'node-7' })
    const call = callOf('first', 'test_input_required_result_elicitation', {}, ELICITATION)
    const round = inputRequiredOf(await exchange(base, call))
    const body = JSON.parse(Buffer.from(round.requestState.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>
    expect(body.i).toBe('node-7')
    const done = await exchange(base, retryOf(call, 'second', round.requestState, { user_name: accept('Ada') }))
    expect(resultOf(done)).toMatchObject({ resultType: 'complete' })
  })

  it('a drain waits for a parked call: its retry is still served, then the drain ends idle', async () => {
    const drain = new DrainSwitch()
    const { base } = await listenLogged({ fixture: 'everything-legacy', drain, drainTimeout: 60_000 })
    const call = callOf('first', 'test_input_required_result_elicitation', {}, ELICITATION)
    const round = inputRequiredOf(await exchange(base, call))
    drain.start('test')
    let ended = false
    void drain.finished.then(() => (ended = true))
    // Nothing is in flight over HTTP and there are no sessions, yet the call is not over.
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(ended).toBe(false)
    const done = await exchange(base, retryOf(call, 'second', round.requestState, { user_name: accept('Ada') }))
    expect(resultOf(done)).toMatchObject({ resultType: 'complete' })
    expect(await drain.finished).toMatchObject({ outcome: 'idle', parkedLeft: 0 })
  })

  it('several rounds: each has a new state, and the call ends with the last answer (tools/call and prompts/get)', async () => {
    const { base } = await listenLogged({ fixture: 'everything-legacy' })
    const call = callOf(1, 'test_input_required_result_multi_round', {}, ELICITATION)
    const first = inputRequiredOf(await exchange(base, call))
    expect(Object.keys(first.inputRequests)).toEqual(['step1'])
    const second = inputRequiredOf(await exchange(base, retryOf(call, 2, first.requestState, { step1: accept('Ada') })))
    expect(Object.keys(second.inputRequests)).toEqual(['step2'])
    expect(second.requestState).not.toBe(first.requestState)
    const done = await exchange(base, retryOf(call, 3, second.requestState, { step2: { action: 'accept', content: { color: 'blue' } } }))
    expect(textOfAnswer(done)).toBe('Ada likes blue')

    // prompts/get may ask too.
    const prompt = modernRequest('p1', 'prompts/get', { name: 'test_input_required_result_prompt', arguments: {} }, declaring(ELICITATION))
    const asked = inputRequiredOf(await exchange(base, prompt))
    expect(Object.keys(asked.inputRequests)).toEqual(['user_context'])
    const rendered = resultOf(await exchange(base, retryOf(prompt, 'p2', asked.requestState, { user_context: { action: 'accept', content: { context: 'tests' } } })))
    expect(rendered).toMatchObject({ resultType: 'complete', messages: [{ content: { text: 'Use this context: tests' } }] })
    await nothingHeld(base)
  })

  it('requests the child sends together form one round; keys left out are asked again alone, under a new state; extra keys are ignored', async () => {
    const { base } = await listenLogged({ fixture: 'everything-legacy' })
    const call = callOf(1, 'test_input_required_result_multiple_inputs')
    const first = inputRequiredOf(await exchange(base, call))
    expect(Object.keys(first.inputRequests).sort()).toEqual(['client_roots', 'greeting', 'user_name'])
    expect(first.inputRequests.greeting?.method).toBe('sampling/createMessage')
    expect(first.inputRequests.client_roots).toEqual({ method: 'roots/list', params: {} })

    // One answer, and one for a key nobody asked (not even checked: ignored).
    const second = inputRequiredOf(await exchange(base, retryOf(call, 2, first.requestState, { user_name: accept('Ada'), no_such_key: 'not an answer' })))
    expect(second.inputRequests).toEqual({ greeting: first.inputRequests.greeting, client_roots: first.inputRequests.client_roots })
    expect(second.requestState).not.toBe(first.requestState)

    const done = await exchange(
      base,
      retryOf(call, 3, second.requestState, {
        greeting: { role: 'assistant', content: { type: 'text', text: 'Hi there' }, model: 'test-model' },
        client_roots: { roots: [{ uri: 'file:///work', name: 'work' }] },
      }),
    )
    expect(textOfAnswer(done)).toBe('name=Ada; greeting=Hi there; roots=file:///work')
    await nothingHeld(base)
  })

  it('an invalid answer: -32602 in-band; the call is over (its child told "cancel", the state spent)', async () => {
    const proxy = await listenLogged(ASKING)
    const { base } = proxy
    const { call, round, ask } = await parkAsk(proxy, 1, { key: 'who' })
    expect(Object.keys(round.inputRequests)).toEqual(['who'])
    const error = expectModernError(await exchange(base, retryOf(call, 2, round.requestState, { who: { action: 'maybe' } })), 200, INVALID_PARAMS, 2)
    expect(error.message).toContain('who')
    expect(await replyTo(proxy, ask)).toEqual({ jsonrpc: '2.0', id: ask.id, result: { action: 'cancel' } })
    await nothingHeld(base)
    expect(await receivedByPrimary(base, 'notifications/cancelled')).toHaveLength(1)
    expectModernError(await exchange(base, retryOf(call, 3, round.requestState, { who: accept('Ada') })), 200, INVALID_PARAMS, 3)
  })

  it('a first call that brings inputResponses: the answer under the key the child asks by is used, no round; an invalid one is -32602', async () => {
    const { base } = await listenLogged({ fixture: 'everything-legacy' })
    const preAnswered = (id: JsonRpcId, inputResponses: Record<string, unknown>) =>
      modernRequest(id, 'tools/call', { name: 'test_input_required_result_elicitation', arguments: {}, inputResponses }, declaring(ELICITATION))
    const done = await exchange(base, preAnswered(1, { user_name: accept('Pre'), unrelated: accept('ignored') }))
    expect(done.kind).toBe('json')
    expect(resultOf(done)).toMatchObject({ resultType: 'complete', content: [{ text: 'Hello, Pre!' }] })
    await nothingHeld(base)

    const error = expectModernError(await exchange(base, preAnswered(2, { user_name: { action: 'accept', content: { name: { nested: true } } } })), 200, INVALID_PARAMS, 2)
    expect(error.message).toContain('user_name')
    await nothingHeld(base)
  })
})

describe("the capability gate: only what the client declared goes out", () => {
  it('nothing covered: 400 -32021 with requiredCapabilities; the child gets an error and a cancel, and its lease comes back', async () => {
    const proxy = await listenLogged(ASKING)
    const { base } = proxy
    const answer = await exchange(base, callOf('s', 'ask', { method: 'sampling/createMessage' }, ELICITATION))
    const error = expectModernError(answer, 400, MISSING_CAPABILITY, 's')
    expect(error.data).toEqual({ requiredCapabilities: { sampling: {} } })
    const reply = await replyTo(proxy, await asked(proxy, 'ask'))
    expect(reply.error).toMatchObject({ code: METHOD_NOT_FOUND })
    await nothingHeld(base)
    expect(await receivedByPrimary(base, 'notifications/cancelled')).toHaveLength(1)

    // URL-mode elicitation needs `elicitation.url`; form support does not cover it.
    const url = await exchange(base, callOf('u', 'ask', { name: 'url', params: { mode: 'url', url: 'https://example.com/form', elicitationId: 'e1' } }, ELICITATION))
    expect(expectModernError(url, 400, MISSING_CAPABILITY, 'u').data).toEqual({ requiredCapabilities: { elicitation: { url: {} } } })
    await nothingHeld(base)
  })

  it('some covered: only those reach the client; the others get an error at once', async () => {
    const { base } = await listenLogged({ fixture: 'everything-legacy' })
    // The tool elicits and samples at once and settles with whichever succeeds: the sampling request fails at
    // once (the client has no sampling), the elicitation goes out.
    const call = callOf(1, 'test_input_required_result_capabilities', {}, ELICITATION)
    const round = inputRequiredOf(await exchange(base, call))
    expect(Object.keys(round.inputRequests)).toEqual(['user_name'])
    expect(textOfAnswer(await exchange(base, retryOf(call, 2, round.requestState, { user_name: accept('Ada') })))).toBe('elicitation: Ada')
    await nothingHeld(base)
  })
})

describe('a state is good for one retry of its own call', () => {
  it('a replay of a used state: -32602', async () => {
    const proxy = await listenLogged(ASKING)
    const { call, round } = await parkAsk(proxy, 1)
    expect(textOfAnswer(await exchange(proxy.base, retryOf(call, 2, round.requestState, { 'elicitation-1': accept('Ada') })))).toBe(answered({ result: accept('Ada') }))
    expectModernError(await exchange(proxy.base, retryOf(call, 3, round.requestState, { 'elicitation-1': accept('Ada') })), 200, INVALID_PARAMS, 3)
    await nothingHeld(proxy.base)
  })

  it('a tampered or malformed state: -32602, and the parked call is untouched (its own state still resumes it)', async () => {
    const proxy = await listenLogged(ASKING)
    const { call, round } = await parkAsk(proxy, 1)
    const [prefix, body, mac] = round.requestState.split('.') as [string, string, string]
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<string, unknown>
    const longer = Buffer.from(JSON.stringify({ ...claims, exp: (claims.exp as number) + 3_600_000 })).toString('base64url')
    const flipped = mac.slice(0, -1) + (mac.endsWith('A') ? 'B' : 'A')
    const forged: unknown[] = [`${prefix}.${body}.${flipped}`, `${prefix}.${longer}.${mac}`, 'v1.e30.e30', round.requestState + 'x', 42, null, '']
    for (const [index, state] of forged.entries()) {
      const id = `forged-${index}`
      expectModernError(await exchange(proxy.base, retryOf(call, id, state, { 'elicitation-1': accept('Mallory') })), 200, INVALID_PARAMS, id)
    }
    expect(await interactiveReport(proxy.base)).toMatchObject({ leased: 1, parked: 1 })
    expect(textOfAnswer(await exchange(proxy.base, retryOf(call, 'genuine', round.requestState, { 'elicitation-1': accept('Ada') })))).toBe(answered({ result: accept('Ada') }))
    await nothingHeld(proxy.base)
  })

  it('another tool or changed arguments with the state: -32602; the call it belongs to still resumes', async () => {
    const proxy = await listenLogged(ASKING)
    const { call, round } = await parkAsk(proxy, 1, { name: 'mine' })
    const answers = { 'elicitation-1': accept('Ada') }
    const changedArguments = callOf(1, 'ask', { name: 'theirs' })
    const otherTool = callOf(1, 'echo', { text: 'x' })
    const otherMethod = modernRequest(1, 'prompts/get', { name: 'ask', arguments: { name: 'mine' } }, declaring(EVERY_CAPABILITY))
    for (const [index, other] of [changedArguments, otherTool, otherMethod].entries()) {
      expectModernError(await exchange(proxy.base, retryOf(other, `other-${index}`, round.requestState, answers)), 200, INVALID_PARAMS, `other-${index}`)
    }
    expect(textOfAnswer(await exchange(proxy.base, retryOf(call, 'own', round.requestState, answers)))).toBe(answered({ result: accept('Ada') }))
    await nothingHeld(proxy.base)
  })

  it('two retries of one state at the same time: exactly one resumes the call, the other gets -32602', async () => {
    const proxy = await listenLogged(ASKING)
    const { call, round } = await parkAsk(proxy, 1)
    const [a, b] = await Promise.all(
      ['a', 'b'].map((name) => exchange(proxy.base, retryOf(call, name, round.requestState, { 'elicitation-1': accept(name) }))),
    )
    const outcomes = [a!, b!].map((answer) => (answer.answer?.error ? `error ${answer.answer.error.code}` : textOfAnswer(answer)))
    expect(outcomes.sort()).toEqual([expect.stringMatching(/^answered /), `error ${INVALID_PARAMS}`].sort())
    const winner = [a!, b!].find((answer) => answer.answer?.result !== undefined)!
    expect(textOfAnswer(winner)).toBe(answered({ result: accept(String(winner.answer!.id)) }))
    await nothingHeld(proxy.base)
  })
})

describe('the child moves on while its call is parked', () => {
  it('it finishes: its lease comes back at once, its request is answered "cancel", and the retry gets its result', async () => {
    const proxy = await listenLogged(ASKING)
    const { base } = proxy
    const { call, round, ask } = await parkAsk(proxy, 1)
    expect(textOfAnswer(await exchange(base, fixtureCall('settle', 'settle', { how: 'finish' })))).toBe('settled ask: finish')
    await reportWhere(base, (r) => r.leased === 0 && r.parked === 1, 'the lease back, the call still parked')
    expect(await replyTo(proxy, ask)).toMatchObject({ result: { action: 'cancel' } })
    const done = await exchange(base, retryOf(call, 2, round.requestState, { 'elicitation-1': accept('too late') }))
    expect(done.answer?.id).toBe(2)
    expect(resultOf(done)).toMatchObject({ resultType: 'complete', content: [{ text: 'finished before the answer' }] })
    await nothingHeld(base)
    // The proxy never cancelled it: it ended by itself.
    expect(await receivedByPrimary(base, 'notifications/cancelled')).toEqual([])
  })

  it('its own request times out (it cancels it, then fails): the retry gets that error', async () => {
    const proxy = await listenLogged(ASKING)
    const { base } = proxy
    const { call, round } = await parkAsk(proxy, 1)
    expect(textOfAnswer(await exchange(base, fixtureCall('settle', 'settle', { how: 'time-out' })))).toBe('settled ask: time-out')
    await reportWhere(base, (r) => r.leased === 0 && r.parked === 1, 'the lease back, the call still parked')
    const failed = await exchange(base, retryOf(call, 2, round.requestState, { 'elicitation-1': accept('too late') }))
    expect(failed.status).toBe(200)
    expect(failed.answer).toEqual({ jsonrpc: '2.0', id: 2, error: { code: REQUEST_TIMEOUT, message: 'Request timed out' } })
    await nothingHeld(base)
  })

  it("the request timeout does not run while the call is parked: the client may take the input TTL to answer", async () => {
    const proxy = await listenLogged({ ...ASKING, requestTimeout: 300 })
    const { base } = proxy
    const { call, round, ask } = await parkAsk(proxy, 1)
    // A request sent after the park times out on the same child: the parked call has outlived the timeout by then.
    const slow = await exchange(base, fixtureCall('slow', 'slow', { ms: 60_000 }))
    expect(slow.answer).toMatchObject({ id: 'slow', error: { code: REQUEST_TIMEOUT } })
    expect(await interactiveReport(base)).toMatchObject({ leased: 1, parked: 1 })
    expect(repliesTo(proxy, ask)).toEqual([])
    const done = await exchange(base, retryOf(call, 2, round.requestState, { 'elicitation-1': accept('Ada') }))
    expect(textOfAnswer(done)).toBe(answered({ result: accept('Ada') }))
    // The one cancellation the child got is the slow request's.
    expect(await receivedByPrimary(base, 'notifications/cancelled')).toHaveLength(1)
    await nothingHeld(base)
  })

  it('it crashes: the retry gets the error, and a new child serves the next call', async () => {
    const proxy = await listenLogged(ASKING)
    const { base } = proxy
    const { call, round, ask } = await parkAsk(proxy, 1)
    await exchange(base, fixtureCall('crash', 'crash'))
    await waitFor(async () => (await modernReport(base))?.state === 'up' && (await modernReport(base))?.pid !== ask.pid, 'the child restarted')
    await reportWhere(base, (r) => r.leased === 0 && r.parked === 1, 'the lease back, the call still parked')
    const failed = await exchange(base, retryOf(call, 2, round.requestState, { 'elicitation-1': accept('too late') }))
    expect(failed.answer).toMatchObject({ id: 2, error: { code: expect.any(Number) } })
    await nothingHeld(base)
    const next = await parkAsk(proxy, 3, { name: 'next' })
    expect(next.ask.pid).not.toBe(ask.pid)
    expect(textOfAnswer(await exchange(base, retryOf(next.call, 4, next.round.requestState, { 'elicitation-1': accept('Ada') })))).toBe(answered({ result: accept('Ada') }))
    await nothingHeld(base)
  })
})

describe('a retry that never comes', () => {
  it('past modernInputTtl: an elicitation is answered "cancel", a sampling request an error, each call cancelled; a late retry is -32602', async () => {
    const proxy = await listenLogged({ ...ASKING, modernInputTtl: 200 })
    const { base } = proxy
    const elicit = await parkAsk(proxy, 'e', { name: 'elicit' })
    expect(await replyTo(proxy, elicit.ask)).toEqual({ jsonrpc: '2.0', id: elicit.ask.id, result: { action: 'cancel' } })
    await nothingHeld(base)
    const sample = await parkAsk(proxy, 's', { name: 'sample', method: 'sampling/createMessage' })
    expect((await replyTo(proxy, sample.ask)).error).toMatchObject({ code: REQUEST_TIMEOUT })
    await nothingHeld(base)
    expect(await receivedByPrimary(base, 'notifications/cancelled')).toHaveLength(2)
    expectModernError(await exchange(base, retryOf(elicit.call, 'late', elicit.round.requestState, { 'elicitation-1': accept('Ada') })), 200, INVALID_PARAMS, 'late')
  })

  it('past modernMaxParked: the call parked longest is given up (its child told "cancel"), the newer one still resumes', async () => {
    const proxy = await listenLogged({ ...ASKING, modernMaxParked: 1 })
    const { base } = proxy
    const older = await parkAsk(proxy, 'older', { name: 'older' })
    const newer = await parkAsk(proxy, 'newer', { name: 'newer' })
    expect(newer.ask.pid).not.toBe(older.ask.pid)
    expect(await replyTo(proxy, older.ask)).toMatchObject({ result: { action: 'cancel' } })
    await reportWhere(base, (r) => r.leased === 1 && r.parked === 1, 'one call left parked')
    expectModernError(await exchange(base, retryOf(older.call, 'older-2', older.round.requestState, { 'elicitation-1': accept('Ada') })), 200, INVALID_PARAMS, 'older-2')
    expect(textOfAnswer(await exchange(base, retryOf(newer.call, 'newer-2', newer.round.requestState, { 'elicitation-1': accept('Bo') })))).toBe(answered({ result: accept('Bo') }))
    expect(await nothingHeld(base)).toMatchObject({ children: 2 })
  })

  it('every child held by a parked call: a new call takes the child of the one parked longest', async () => {
    const proxy = await listenLogged({ ...ASKING, modernMaxChildren: 1 })
    const { base } = proxy
    const parked = await parkAsk(proxy, 'parked', { name: 'parked' })
    expect(textOfAnswer(await exchange(base, callOf('newcomer', 'echo', { text: 'served' })))).toBe('served')
    expect(await replyTo(proxy, parked.ask)).toMatchObject({ result: { action: 'cancel' } })
    expectModernError(await exchange(base, retryOf(parked.call, 'late', parked.round.requestState, { 'elicitation-1': accept('Ada') })), 200, INVALID_PARAMS, 'late')
    expect(await nothingHeld(base)).toMatchObject({ children: 1 })
  })
})

describe('one child per interactive call', () => {
  it('two eliciting calls at once: the pool grows to two children, each answer reaches its own call, and the leases come back', async () => {
    const proxy = await listenLogged(ASKING)
    const { base } = proxy
    const calls = [callOf('a', 'ask', { name: 'a' }), callOf('b', 'ask', { name: 'b' })]
    const rounds = (await Promise.all(calls.map((call) => exchange(base, call)))).map(inputRequiredOf)
    expect(rounds.map((round) => round.inputRequests['elicitation-1']?.params.message)).toEqual(['Question a', 'Question b'])
    expect(rounds[0]!.requestState).not.toBe(rounds[1]!.requestState)
    expect(await interactiveReport(base)).toEqual({ children: 2, leased: 2, queued: 0, parked: 2 })
    const [a, b] = await Promise.all([asked(proxy, 'a'), asked(proxy, 'b')])
    expect(a.pid).not.toBe(b.pid)
    // (the throwaway copy that probed the server's era may still be stopping: wait until exactly two run)
    expect(await waitForChildren('asking-server.mjs', 2)).toEqual([a.pid, b.pid].sort((x, y) => x - y))

    // Answered the other way round, each under the other's name: each reaches the child that asked it.
    const second = await exchange(base, retryOf(calls[1]!, 'b2', rounds[1]!.requestState, { 'elicitation-1': accept('for b') }))
    const first = await exchange(base, retryOf(calls[0]!, 'a2', rounds[0]!.requestState, { 'elicitation-1': accept('for a') }))
    expect([textOfAnswer(first), textOfAnswer(second)]).toEqual([answered({ result: accept('for a') }), answered({ result: accept('for b') })])
    expect((await replyTo(proxy, b)).result).toEqual(accept('for b'))
    // The extra child idles until it is reaped (30 s; the reaping itself: core's modern-interactions test).
    expect(await nothingHeld(base)).toEqual({ children: 2, leased: 0, queued: 0, parked: 0 })
    await proxy.close()
    await waitForChildren('asking-server.mjs', 0)
  })

  it('past modernMaxChildren calls wait in order; past the queue, -32603 "busy" at once; then every lease comes back', async () => {
    const proxy = await listenLogged({ ...ASKING, modernMaxChildren: 1 })
    const { base } = proxy
    // A running call (not parked: nothing takes its child away) holds the one child at a gate.
    const holder = exchange(base, callOf('holder', 'gate', { name: 'g', count: 2, text: 'holder done' }))
    await reportWhere(base, (r) => r.leased === 1, 'the holder leased the child')
    const queued = Array.from({ length: 8 }, (_, index) => exchange(base, callOf(`q${index}`, 'echo', { text: `queued ${index}` })))
    await reportWhere(base, (r) => r.queued === 8, 'eight calls queued')
    const busy = expectModernError(await exchange(base, callOf('busy', 'echo', { text: 'x' })), 200, INTERNAL_ERROR, 'busy')
    expect(busy.message).toMatch(/busy/)

    // The gate opens through the same child (fixture/call takes no lease): the holder ends, the queue drains.
    expect(textOfAnswer(await exchange(base, fixtureCall('opener', 'gate', { name: 'g', count: 2 })))).toBe('g')
    expect(textOfAnswer(await holder)).toBe('holder done')
    expect((await Promise.all(queued)).map(textOfAnswer)).toEqual(Array.from({ length: 8 }, (_, index) => `queued ${index}`))
    expect(await nothingHeld(base)).toEqual({ children: 1, leased: 0, queued: 0, parked: 0 })
    await waitForChildren('asking-server.mjs', 1)
  })

  it('a request the child sends outside any call is answered by the proxy: roots from the roots option, elicitation an error', async () => {
    const proxy = await listenLogged({ ...ASKING, roots: { fixed: ['file:///srv/data'] } })
    const { base } = proxy
    // fixture/call is no interactive method: it takes no lease, and nobody holds the child when it asks.
    expect(textOfAnswer(await exchange(base, fixtureCall(1, 'ask', { name: 'roots', method: 'roots/list' })))).toBe(answered({ result: { roots: [{ uri: 'file:///srv/data', name: 'data' }] } }))
    const elicited = textOfAnswer(await exchange(base, fixtureCall(2, 'ask', { name: 'elicit' })))
    expect(elicited).toMatch(/^answered \{"error":\{"code":-32601,/)
    expect(await interactiveReport(base)).toEqual({ children: 1, leased: 0, queued: 0, parked: 0 })
  })
})

describe('modernInteractive', () => {
  it("off: no input_required; the child is told the client asks nothing, and a request it sends anyway gets an error", async () => {
    const { base } = await listenLogged({ ...ASKING, modernInteractive: 'off' })
    const answer = await exchange(base, callOf(1, 'ask', { key: 'who' }))
    expect(resultOf(answer)).toMatchObject({ resultType: 'complete' })
    expect(textOfAnswer(answer)).toMatch(/^answered \{"error":\{"code":-32601,/)
    expect(await interactiveReport(base)).toBeUndefined()
    const whoami = JSON.parse(textOfAnswer(await exchange(base, fixtureCall('who', 'whoami'))) ?? '') as { capabilities: unknown }
    expect(whoami.capabilities).toEqual({})
  })

  it('translate (the default): the child is told the client can elicit (form and URL), sample and list roots', async () => {
    const { base } = await listenLogged(ASKING)
    const whoami = JSON.parse(textOfAnswer(await exchange(base, fixtureCall('who', 'whoami'))) ?? '') as { capabilities: unknown }
    expect(whoami.capabilities).toEqual({ sampling: {}, elicitation: { form: {}, url: {} }, roots: {} })
  })
})

describe('shutdown', () => {
  it('with calls parked on two children: each request is answered "cancel", every child stops', async () => {
    const proxy = await listenLogged(ASKING)
    const [a, b] = [await parkAsk(proxy, 'a', { name: 'a' }), await parkAsk(proxy, 'b', { name: 'b' })]
    await waitForChildren('asking-server.mjs', 2)
    await proxy.close()
    await waitForChildren('asking-server.mjs', 0)
    for (const { ask } of [a, b]) expect(await replyTo(proxy, ask)).toMatchObject({ result: { action: 'cancel' } })
    expect(stderrLines(proxy.logs).filter((line) => line.startsWith('reply '))).toHaveLength(2)
  })
})
