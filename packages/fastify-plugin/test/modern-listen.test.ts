// `subscriptions/listen` over real HTTP, served by the proxy over the modern leg's child (the echo fixture:
// `announce` makes it send any notification and `received` reads back what it was sent, both run through
// `fixture/call`; it refuses to subscribe to `test://refused…`). Each stream's frames arrive in order, so "a
// stream did not get X" is checked as "its next frame is the later Y", never by waiting for silence.
import { describe, expect, it } from 'vitest'
import { listenLogged, SseReader, waitFor, within, type JsonRpcId, type Message } from './failure-helpers.js'
import {
  ECHO_SERVER_INFO,
  envelope,
  exchange,
  fixtureCall,
  framesUntilEnd,
  listenRequest,
  modernCall,
  modernReport,
  nextFrame,
  openListen,
  postModern,
  readAnswer,
  SERVER_INFO_KEY,
  SUBSCRIPTION_ID_KEY,
  textOfAnswer,
  type ListenStream,
} from './modern-helpers.js'

const ACKNOWLEDGED = 'notifications/subscriptions/acknowledged'
const TOOLS_CHANGED = 'notifications/tools/list_changed'
const PROMPTS_CHANGED = 'notifications/prompts/list_changed'
const RESOURCES_CHANGED = 'notifications/resources/list_changed'
const UPDATED = 'notifications/resources/updated'

/** The modern child sends one notification (the fixture's `announce`). */
async function announce(base: string, method: string, params?: Record<string, unknown>): Promise<void> {
  expect(textOfAnswer(await exchange(base, fixtureCall('announce', 'announce', params === undefined ? { method } : { method, params })))).toBe('announced')
}

/** What the modern child has received of `method`. */
async function received(base: string, method: string): Promise<unknown[]> {
  return JSON.parse(textOfAnswer(await exchange(base, fixtureCall('received', 'received', { method }))) ?? '') as unknown[]
}

/** Open a listen stream and read its acknowledgement (which must be the first frame, tagged with `id`). */
async function listen(base: string, id: JsonRpcId, filter: Record<string, unknown>): Promise<{ stream: ListenStream; honored: Record<string, unknown> }> {
  const stream = await openListen(base, id, filter)
  expect(stream.response.headers.get('mcp-session-id')).toBeNull()
  const ack = await nextFrame(stream)
  expect(ack).toMatchObject({ jsonrpc: '2.0', method: ACKNOWLEDGED })
  expect(ack).not.toHaveProperty('id')
  const params = ack.params as { notifications: Record<string, unknown>; _meta: Record<string, unknown> }
  expect(params._meta[SUBSCRIPTION_ID_KEY]).toStrictEqual(id)
  return { stream, honored: params.notifications }
}

/** The next frame of a stream: a notification of `method`, tagged with the stream's id. */
async function expectNext(stream: ListenStream, id: JsonRpcId, method: string, params: Record<string, unknown> = {}): Promise<Message> {
  const frame = await nextFrame(stream)
  expect(frame).toEqual({ jsonrpc: '2.0', method, params: { ...params, _meta: { [SUBSCRIPTION_ID_KEY]: id } } })
  return frame
}

/** Close a stream from the client side, and wait until the proxy counts it no more. */
async function closeStream(base: string, stream: ListenStream, remaining: number): Promise<void> {
  stream.controller.abort()
  await waitFor(async () => (await modernReport(base))?.listenStreams === remaining, `${remaining} listen stream(s) left`)
}

describe('subscriptions/listen: the acknowledgement', () => {
  it('comes first, with the honoured subset of the filter: bits asked for, URIs the child accepted', async () => {
    const { base } = await listenLogged()
    const filter = {
      toolsListChanged: true,
      promptsListChanged: false,
      resourceSubscriptions: ['test://a', 'test://refused/b', 'test://a'],
      somethingElse: true,
    }
    const { stream, honored } = await listen(base, 7, filter)
    expect(honored).toEqual({ toolsListChanged: true, resourceSubscriptions: ['test://a'] })
    // No event ids: nothing of 2026-07-28 resumes.
    await announce(base, TOOLS_CHANGED)
    expect(stream.response.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const event = await stream.reader.next()
    expect(event?.id).toBeUndefined()
    expect(JSON.parse(event!.data)).toMatchObject({ method: TOOLS_CHANGED })
    // The child was asked once per distinct URI; it refused one. The listen itself never reached it.
    expect(await received(base, 'resources/subscribe')).toEqual([{ uri: 'test://a' }, { uri: 'test://refused/b' }])
    expect(await received(base, 'subscriptions/listen')).toEqual([])
  })

  it('ignores a Mcp-Session-Id and a Last-Event-ID sent with it', async () => {
    const { base } = await listenLogged()
    const response = await postModern(base, listenRequest('again', { toolsListChanged: true }), { 'mcp-session-id': 'no-such-session', 'last-event-id': '42' })
    expect(response.status).toBe(200)
    expect(response.headers.get('mcp-session-id')).toBeNull()
    const stream = { response, reader: new SseReader(response), controller: new AbortController() }
    expect(await nextFrame(stream)).toMatchObject({ method: ACKNOWLEDGED, params: { notifications: { toolsListChanged: true } } })
  })

  it("honours only what the child's capabilities advertise; with nothing left, the ack is followed by the end", async () => {
    const { base } = await listenLogged({ env: { FIXTURE_CAPABILITIES: JSON.stringify({ tools: { listChanged: true }, resources: { listChanged: true }, prompts: {} }) } })
    const all = { toolsListChanged: true, promptsListChanged: true, resourcesListChanged: true, resourceSubscriptions: ['test://a'] }
    const { honored } = await listen(base, 'all', all)
    expect(honored).toEqual({ toolsListChanged: true, resourcesListChanged: true })
    // Without resources.subscribe the child is never asked to subscribe.
    expect(await received(base, 'resources/subscribe')).toEqual([])

    const { stream, honored: none } = await listen(base, 'none', { promptsListChanged: true, resourceSubscriptions: ['test://a'] })
    expect(none).toEqual({})
    expect(await framesUntilEnd(stream)).toEqual([{ jsonrpc: '2.0', id: 'none', result: { resultType: 'complete', _meta: { [SUBSCRIPTION_ID_KEY]: 'none', [SERVER_INFO_KEY]: ECHO_SERVER_INFO } } }])
  })

  it('a filter that is not one: an in-band -32602, then the end', async () => {
    const { base } = await listenLogged()
    for (const [id, notifications] of [['missing', undefined], ['bad bit', { toolsListChanged: 'yes' }], ['bad uris', { resourceSubscriptions: 'test://a' }]] as const) {
      const response = await postModern(base, {
        jsonrpc: '2.0',
        id,
        method: 'subscriptions/listen',
        params: { ...(notifications === undefined ? {} : { notifications }), _meta: envelope() },
      })
      const answer = await readAnswer(response)
      expect(answer.status, id).toBe(200)
      expect(answer.messages, id).toEqual([{ jsonrpc: '2.0', id, error: { code: -32602, message: expect.any(String) } }])
    }
  })
})

describe('subscriptions/listen: the fan-out', () => {
  it('every frame carries the listen id verbatim: a number stays a number, a string a string, equal ids on two streams both served', async () => {
    const { base } = await listenLogged()
    const ids: JsonRpcId[] = [7, '7', 7]
    const streams = []
    for (const id of ids) streams.push((await listen(base, id, { toolsListChanged: true })).stream)
    await announce(base, TOOLS_CHANGED)
    for (const [index, stream] of streams.entries()) await expectNext(stream, ids[index]!, TOOLS_CHANGED)
  })

  it('list_changed goes only to the streams whose filter asked for it', async () => {
    const { base } = await listenLogged()
    const tools = (await listen(base, 'tools', { toolsListChanged: true })).stream
    const prompts = (await listen(base, 'prompts', { promptsListChanged: true })).stream
    const resources = (await listen(base, 'resources', { resourcesListChanged: true })).stream
    const everything = (await listen(base, 'all', { toolsListChanged: true, promptsListChanged: true, resourcesListChanged: true })).stream
    await announce(base, TOOLS_CHANGED)
    await announce(base, PROMPTS_CHANGED)
    await announce(base, RESOURCES_CHANGED)
    // Each stream's next frame is the first change it asked for: the earlier ones were not sent to it.
    await expectNext(tools, 'tools', TOOLS_CHANGED)
    await expectNext(prompts, 'prompts', PROMPTS_CHANGED)
    await expectNext(resources, 'resources', RESOURCES_CHANGED)
    for (const method of [TOOLS_CHANGED, PROMPTS_CHANGED, RESOURCES_CHANGED]) await expectNext(everything, 'all', method)
    // A change a tool call causes reaches the stream too (the fixture's retag sends tools/list_changed).
    await exchange(base, modernCall('retag', 'retag', { header: 'Zone' }))
    await expectNext(tools, 'tools', TOOLS_CHANGED)
  })

  it('resources/updated reaches only the streams subscribed to that URI; subscribes are ref-counted across streams', async () => {
    const { base } = await listenLogged()
    const [u1, u2] = ['test://shared', 'test://only-a']
    const a = (await listen(base, 'a', { resourceSubscriptions: [u1, u2] })).stream
    const b = (await listen(base, 'b', { resourceSubscriptions: [u1], toolsListChanged: true })).stream
    expect(await received(base, 'resources/subscribe')).toEqual([{ uri: u1 }, { uri: u2 }])

    await announce(base, UPDATED, { uri: u2 })
    await announce(base, UPDATED, { uri: 'test://nobody' })
    await announce(base, UPDATED, { uri: u1 })
    await expectNext(a, 'a', UPDATED, { uri: u2 })
    await expectNext(a, 'a', UPDATED, { uri: u1 })
    await expectNext(b, 'b', UPDATED, { uri: u1 })

    // A leaves: u2 has no reference left, u1 still has B's.
    await closeStream(base, a, 1)
    await waitFor(async () => (await received(base, 'resources/unsubscribe')).length > 0, 'resources/unsubscribe at the child')
    expect(await received(base, 'resources/unsubscribe')).toEqual([{ uri: u2 }])
    await announce(base, UPDATED, { uri: u1 })
    await expectNext(b, 'b', UPDATED, { uri: u1 })

    // B leaves: now u1 is unsubscribed too, once.
    await closeStream(base, b, 0)
    await waitFor(async () => (await received(base, 'resources/unsubscribe')).length > 1, 'the second resources/unsubscribe')
    expect(await received(base, 'resources/unsubscribe')).toEqual([{ uri: u2 }, { uri: u1 }])
    expect(await received(base, 'resources/subscribe')).toEqual([{ uri: u1 }, { uri: u2 }])
  })

  it("never carries a call's logs or progress", async () => {
    const { base } = await listenLogged()
    const { stream } = await listen(base, 'quiet', { toolsListChanged: true })
    const logged = await exchange(base, modernCall('log', 'log', { level: 'error', message: 'for the call only' }, { logLevel: 'debug' }))
    expect(logged.notifications.map((n) => n.method)).toEqual(['notifications/message'])
    const progressed = await exchange(base, modernCall('progress', 'progress', { steps: 2, ms: 1 }, { meta: { progressToken: 'p' } }))
    expect(progressed.notifications.map((n) => n.method)).toEqual(['notifications/progress', 'notifications/progress'])
    await announce(base, TOOLS_CHANGED)
    await expectNext(stream, 'quiet', TOOLS_CHANGED)
  })
})

describe('subscriptions/listen: limits and the end', () => {
  it('maxListenStreams: 1 — a second stream gets an in-band -32603 and ends; once the first closes, a new one opens', async () => {
    const { base } = await listenLogged({ maxListenStreams: 1 })
    const first = (await listen(base, 'first', { toolsListChanged: true })).stream
    expect((await modernReport(base))?.listenStreams).toBe(1)
    const refused = await readAnswer(await postModern(base, listenRequest('second', { toolsListChanged: true })))
    expect(refused.status).toBe(200)
    expect(refused.messages).toEqual([{ jsonrpc: '2.0', id: 'second', error: { code: -32603, message: expect.any(String) } }])
    await closeStream(base, first, 0)
    const third = (await listen(base, 'third', { toolsListChanged: true })).stream
    await announce(base, TOOLS_CHANGED)
    await expectNext(third, 'third', TOOLS_CHANGED)
  })

  it('the proxy shuts down: each stream gets the listen result and ends', async () => {
    const proxy = await listenLogged()
    const { stream } = await listen(proxy.base, 9, { toolsListChanged: true })
    const closing = proxy.close()
    expect(await framesUntilEnd(stream)).toEqual([
      { jsonrpc: '2.0', id: 9, result: { resultType: 'complete', _meta: { [SUBSCRIPTION_ID_KEY]: 9, [SERVER_INFO_KEY]: ECHO_SERVER_INFO } } },
    ])
    await within(closing, 'the proxy to close')
  })

  it("the child exits: each stream gets the listen's result (subscriptionId, serverInfo) and ends; the new child serves new streams", async () => {
    const { base } = await listenLogged()
    const numbered = (await listen(base, 41, { toolsListChanged: true })).stream
    const named = (await listen(base, 'named', { resourceSubscriptions: ['test://a'] })).stream
    const { pid } = (await modernReport(base))!
    const crashed = await exchange(base, modernCall('crash', 'crash'))
    expect(crashed.answer).toMatchObject({ id: 'crash', error: { code: -32603 } })
    for (const [stream, id] of [[numbered, 41], [named, 'named']] as const) {
      expect(await framesUntilEnd(stream)).toEqual([
        { jsonrpc: '2.0', id, result: { resultType: 'complete', _meta: { [SUBSCRIPTION_ID_KEY]: id, [SERVER_INFO_KEY]: ECHO_SERVER_INFO } } },
      ])
    }
    await waitFor(async () => {
      const report = await modernReport(base)
      return report?.state === 'up' && report.pid !== pid && report.listenStreams === 0
    }, 'a new modern child, no stream left')
    const { stream, honored } = await listen(base, 'after', { resourceSubscriptions: ['test://a'] })
    expect(honored).toEqual({ resourceSubscriptions: ['test://a'] })
    // The new child was asked to subscribe afresh.
    expect(await received(base, 'resources/subscribe')).toEqual([{ uri: 'test://a' }])
    await announce(base, UPDATED, { uri: 'test://a' })
    await expectNext(stream, 'after', UPDATED, { uri: 'test://a' })
  })
})
