// The subscriptions/listen hub against a fake sink and a fake child: what each stream receives, in which
// order and tagged how, and which resources/subscribe calls reach the child.
import { describe, expect, it } from 'vitest'
import type { JsonRpcId, JsonRpcNotification } from '../src/jsonrpc/schemas.js'
import { silentLogger } from '../src/logger.js'
import { ListenHub, type ListenChild, type ListenHubOptions, type UpstreamSubscriptions } from '../src/modern/listen-hub.js'
import type { EventKind, StreamSink } from '../src/session/stream-sink.js'

const SUB = 'io.modelcontextprotocol/subscriptionId'
const SERVER_INFO = { name: 'child', version: '1.0.0' }
const ALL_CAPABILITIES = { tools: { listChanged: true }, prompts: { listChanged: true }, resources: { listChanged: true, subscribe: true } }
const CHILD: ListenChild = { capabilities: ALL_CAPABILITIES, serverInfo: SERVER_INFO }

interface Frame {
  kind: EventKind
  eventId: string | undefined
  message: Record<string, unknown>
}

/** A sink that records every frame, as an SSE response would carry them. */
class FakeSink implements StreamSink {
  readonly streaming = true
  frames: Frame[] = []
  ended = false
  #open = true
  #listeners: Array<() => void> = []

  get open(): boolean {
    return this.#open
  }

  send(eventId: string | undefined, data: string, kind: EventKind): void {
    if (this.#open) this.frames.push({ eventId, kind, message: JSON.parse(data) as Record<string, unknown> })
  }

  end(): void {
    if (!this.#open) return
    this.ended = true
    this.close()
  }

  onClose(listener: () => void): void {
    if (this.#open) this.#listeners.push(listener)
    else listener()
  }

  /** The client goes away. */
  close(): void {
    if (!this.#open) return
    this.#open = false
    for (const listener of this.#listeners.splice(0)) listener()
  }

  get methods(): unknown[] {
    return this.frames.map((frame) => frame.message.method)
  }
}

/** A child that records resources/(un)subscribe in order; `refuse` URIs are refused, `hold` ones wait. */
class FakeChild implements UpstreamSubscriptions {
  calls: string[] = []
  subscribed = new Set<string>()
  refuse = new Set<string>()
  held = new Map<string, () => void>()
  holdNext = false

  async subscribe(uri: string): Promise<boolean> {
    this.calls.push(`subscribe ${uri}`)
    if (this.holdNext) {
      this.holdNext = false
      await new Promise<void>((resolve) => this.held.set(uri, resolve))
    }
    if (this.refuse.has(uri)) return false
    this.subscribed.add(uri)
    return true
  }

  async unsubscribe(uri: string): Promise<void> {
    this.calls.push(`unsubscribe ${uri}`)
    this.subscribed.delete(uri)
  }
}

function makeHub(overrides: Partial<ListenHubOptions> = {}): { hub: ListenHub; child: FakeChild } {
  const child = new FakeChild()
  const hub = new ListenHub({ maxStreams: 1024, ackTimeoutMs: 1000, subscriptions: child, logger: silentLogger, ...overrides })
  return { hub, child }
}

async function listen(hub: ListenHub, id: JsonRpcId, notifications: Record<string, unknown>, child: ListenChild = CHILD): Promise<FakeSink> {
  const sink = new FakeSink()
  await hub.open(id, { _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' }, notifications }, sink, child)
  return sink
}

function note(method: string, params?: Record<string, unknown>): JsonRpcNotification {
  return params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params }
}

/** Let the subscription queue run (each queued call takes a few microtasks). */
async function settle(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve))
}

describe('ListenHub: the acknowledgement', () => {
  it('comes first and carries only the subset the child advertises', async () => {
    const { hub } = makeHub()
    const capabilities = { tools: { listChanged: true }, prompts: {}, resources: { subscribe: true } }
    const sink = await listen(hub, 1, { toolsListChanged: true, promptsListChanged: true, resourcesListChanged: true, resourceSubscriptions: ['file:///a'] }, { capabilities, serverInfo: SERVER_INFO })
    expect(sink.frames).toEqual([
      {
        kind: 'message',
        eventId: undefined,
        message: {
          jsonrpc: '2.0',
          method: 'notifications/subscriptions/acknowledged',
          params: { notifications: { toolsListChanged: true, resourceSubscriptions: ['file:///a'] }, _meta: { [SUB]: 1 } },
        },
      },
    ])
    expect(sink.ended).toBe(false)
  })

  it('leaves out the resource URIs when the child cannot subscribe, without asking it', async () => {
    const { hub, child } = makeHub()
    const capabilities = { tools: { listChanged: true }, resources: { listChanged: true } }
    const sink = await listen(hub, 1, { toolsListChanged: true, resourceSubscriptions: ['file:///a'] }, { capabilities, serverInfo: SERVER_INFO })
    expect(sink.frames[0]?.message.params).toMatchObject({ notifications: { toolsListChanged: true } })
    expect(sink.frames[0]?.message.params).not.toHaveProperty('notifications.resourceSubscriptions')
    expect(child.calls).toEqual([])
  })

  it('leaves out a URI the child refused, and never unsubscribes it', async () => {
    const { hub, child } = makeHub()
    child.refuse.add('file:///denied')
    const sink = await listen(hub, 1, { resourceSubscriptions: ['file:///ok', 'file:///denied'] })
    expect(sink.frames[0]?.message.params).toMatchObject({ notifications: { resourceSubscriptions: ['file:///ok'] } })
    sink.close()
    await settle()
    expect(child.calls).toEqual(['subscribe file:///ok', 'subscribe file:///denied', 'unsubscribe file:///ok'])
  })

  it('waits for a subscribe at most ackTimeoutMs, then leaves that URI out', async () => {
    const { hub, child } = makeHub({ ackTimeoutMs: 30 })
    child.holdNext = true
    const started = Date.now()
    const sink = await listen(hub, 1, { toolsListChanged: true, resourceSubscriptions: ['file:///slow'] })
    expect(Date.now() - started).toBeGreaterThanOrEqual(25)
    expect(sink.frames[0]?.message.params).toEqual({ notifications: { toolsListChanged: true }, _meta: { [SUB]: 1 } })
    // The late subscribe succeeds, and is undone: nobody holds the URI any more.
    child.held.get('file:///slow')?.()
    await settle()
    expect(child.calls).toEqual(['subscribe file:///slow', 'unsubscribe file:///slow'])
    expect(child.subscribed.size).toBe(0)
  })

  it('keeps the type of the subscription id on every frame (number and string)', async () => {
    const { hub } = makeHub()
    const numeric = await listen(hub, 42, { toolsListChanged: true })
    const textual = await listen(hub, '42', { toolsListChanged: true })
    hub.publish(note('notifications/tools/list_changed'))
    hub.endAll()
    for (const [sink, id] of [[numeric, 42], [textual, '42']] as const) {
      expect(sink.frames.map((frame) => (frame.message.params as { _meta: unknown } | undefined)?._meta ?? (frame.message.result as { _meta: unknown }))).toEqual([
        { [SUB]: id },
        { [SUB]: id },
        { resultType: 'complete', _meta: { [SUB]: id, 'io.modelcontextprotocol/serverInfo': SERVER_INFO } },
      ])
      expect(sink.frames[2]?.message.id).toBe(id)
    }
  })

  it('answers a listen without a valid filter with an in-band -32602', async () => {
    const { hub } = makeHub()
    for (const params of [{}, { notifications: { toolsListChanged: 'yes' } }, { notifications: { resourceSubscriptions: [1] } }]) {
      const sink = new FakeSink()
      await hub.open(7, params, sink, CHILD)
      expect(sink.frames).toHaveLength(1)
      expect(sink.frames[0]?.message).toMatchObject({ jsonrpc: '2.0', id: 7, error: { code: -32602 } })
      expect(sink.ended).toBe(true)
    }
    expect(hub.size).toBe(0)
  })

  it('ends a stream that can honor nothing right after its ack', async () => {
    const { hub } = makeHub()
    const sink = await listen(hub, 1, { promptsListChanged: true }, { capabilities: { tools: { listChanged: true } }, serverInfo: SERVER_INFO })
    expect(sink.frames.map((frame) => frame.message.method ?? 'result')).toEqual(['notifications/subscriptions/acknowledged', 'result'])
    expect(sink.frames[0]?.message.params).toEqual({ notifications: {}, _meta: { [SUB]: 1 } })
    expect(sink.ended).toBe(true)
    expect(hub.size).toBe(0)
  })
})

describe('ListenHub: fan-out', () => {
  it('sends a list_changed only to the streams that asked for it', async () => {
    const { hub } = makeHub()
    const tools = await listen(hub, 1, { toolsListChanged: true })
    const prompts = await listen(hub, 2, { promptsListChanged: true })
    expect(hub.publish(note('notifications/tools/list_changed'))).toBe(true)
    expect(hub.publish(note('notifications/prompts/list_changed', { _meta: { 'x.example/k': 1 } }))).toBe(true)
    expect(hub.publish(note('notifications/resources/list_changed'))).toBe(true)
    expect(tools.methods).toEqual(['notifications/subscriptions/acknowledged', 'notifications/tools/list_changed'])
    expect(prompts.methods).toEqual(['notifications/subscriptions/acknowledged', 'notifications/prompts/list_changed'])
    expect(prompts.frames[1]?.message.params).toEqual({ _meta: { 'x.example/k': 1, [SUB]: 2 } })
  })

  it('sends resources/updated only to the subscribers of exactly that URI', async () => {
    const { hub } = makeHub()
    const a = await listen(hub, 'a', { resourceSubscriptions: ['file:///a'] })
    const b = await listen(hub, 'b', { resourceSubscriptions: ['file:///b'] })
    const lists = await listen(hub, 'l', { resourcesListChanged: true })
    hub.publish(note('notifications/resources/updated', { uri: 'file:///a' }))
    hub.publish(note('notifications/resources/updated', { uri: 'file:///a/child' }))
    hub.publish(note('notifications/resources/updated', { uri: 'file:///' }))
    expect(a.frames.slice(1).map((frame) => frame.message)).toEqual([
      { jsonrpc: '2.0', method: 'notifications/resources/updated', params: { uri: 'file:///a', _meta: { [SUB]: 'a' } } },
    ])
    expect(b.frames).toHaveLength(1)
    expect(lists.frames).toHaveLength(1)
  })

  it('says which notifications are not listen notifications', async () => {
    const { hub } = makeHub()
    const sink = await listen(hub, 1, { toolsListChanged: true, promptsListChanged: true, resourcesListChanged: true })
    expect(hub.publish(note('notifications/message', { level: 'info', data: 'x' }))).toBe(false)
    expect(hub.publish(note('notifications/progress', { progressToken: 1, progress: 1 }))).toBe(false)
    expect(hub.publish(note('constructor'))).toBe(false)
    expect(sink.frames).toHaveLength(1)
  })

  it('stops writing to a stream once the client has closed it', async () => {
    const { hub } = makeHub()
    const sink = await listen(hub, 1, { toolsListChanged: true })
    sink.close()
    expect(hub.size).toBe(0)
    hub.publish(note('notifications/tools/list_changed'))
    expect(sink.frames).toHaveLength(1)
  })
})

describe('ListenHub: upstream subscriptions', () => {
  it('subscribes a URI once for two streams and unsubscribes only after both close', async () => {
    const { hub, child } = makeHub()
    const first = await listen(hub, 1, { resourceSubscriptions: ['file:///shared'] })
    const second = await listen(hub, 2, { resourceSubscriptions: ['file:///shared'] })
    expect(child.calls).toEqual(['subscribe file:///shared'])
    expect(second.frames[0]?.message.params).toMatchObject({ notifications: { resourceSubscriptions: ['file:///shared'] } })
    first.close()
    await settle()
    expect(child.calls).toEqual(['subscribe file:///shared'])
    second.close()
    await settle()
    expect(child.calls).toEqual(['subscribe file:///shared', 'unsubscribe file:///shared'])
  })

  it('runs a re-subscribe after a pending unsubscribe, so the URI ends subscribed', async () => {
    const { hub, child } = makeHub()
    child.holdNext = true
    const first = new FakeSink()
    const opening = hub.open(1, { notifications: { resourceSubscriptions: ['file:///x'] } }, first, CHILD)
    await settle()
    first.close() // leaves while its subscribe is still pending: the unsubscribe queues behind it
    const second = listen(hub, 2, { resourceSubscriptions: ['file:///x'] })
    child.held.get('file:///x')?.()
    await opening
    const sink = await second
    expect(child.calls).toEqual(['subscribe file:///x', 'unsubscribe file:///x', 'subscribe file:///x'])
    expect(child.subscribed.has('file:///x')).toBe(true)
    expect(first.frames).toEqual([])
    expect(sink.frames[0]?.message.params).toMatchObject({ notifications: { resourceSubscriptions: ['file:///x'] } })
  })

  it('subscribes each URI of one stream once, however often the filter lists it', async () => {
    const { hub, child } = makeHub()
    const sink = await listen(hub, 1, { resourceSubscriptions: ['file:///a', 'file:///a'] })
    expect(child.calls).toEqual(['subscribe file:///a'])
    sink.close()
    await settle()
    expect(child.calls).toEqual(['subscribe file:///a', 'unsubscribe file:///a'])
  })
})

describe('ListenHub: limits and the end', () => {
  it('refuses the stream past maxStreams with an in-band -32603', async () => {
    const { hub } = makeHub({ maxStreams: 2 })
    await listen(hub, 1, { toolsListChanged: true })
    await listen(hub, 2, { toolsListChanged: true })
    const refused = await listen(hub, 3, { toolsListChanged: true })
    expect(refused.frames).toEqual([{ kind: 'response', eventId: undefined, message: { jsonrpc: '2.0', id: 3, error: { code: -32603, message: 'Subscription limit reached' } } }])
    expect(refused.ended).toBe(true)
    expect(hub.size).toBe(2)
  })

  it('ends every stream gracefully on endAll, and drops the references without unsubscribing', async () => {
    const { hub, child } = makeHub()
    const sink = await listen(hub, 5, { toolsListChanged: true, resourceSubscriptions: ['file:///a'] })
    hub.endAll()
    expect(sink.frames[1]).toEqual({
      kind: 'response',
      eventId: undefined,
      message: { jsonrpc: '2.0', id: 5, result: { resultType: 'complete', _meta: { [SUB]: 5, 'io.modelcontextprotocol/serverInfo': SERVER_INFO } } },
    })
    expect(sink.ended).toBe(true)
    expect(hub.size).toBe(0)
    hub.publish(note('notifications/tools/list_changed'))
    await settle()
    expect(sink.frames).toHaveLength(2)
    expect(child.calls).toEqual(['subscribe file:///a'])
    // A new stream after a restart subscribes the URI again on the new child.
    await listen(hub, 6, { resourceSubscriptions: ['file:///a'] })
    expect(child.calls).toEqual(['subscribe file:///a', 'subscribe file:///a'])
  })

  it('ends a stream still waiting for its subscribes without any frame', async () => {
    const { hub, child } = makeHub()
    child.holdNext = true
    const sink = new FakeSink()
    const opening = hub.open(1, { notifications: { resourceSubscriptions: ['file:///x'] } }, sink, CHILD)
    await settle()
    hub.endAll()
    child.held.get('file:///x')?.()
    await opening
    expect(sink.frames).toEqual([])
    expect(sink.ended).toBe(true)
  })
})
