// Shared-child mode (childMode: 'shared') and stateless mode on the same machinery, driven by the v1 SDK
// client over real HTTP against real fixture children.
import { describe, expect, it } from 'vitest'
import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { CreateMessageRequestSchema, ElicitRequestSchema, LoggingMessageNotificationSchema, ResourceUpdatedNotificationSchema, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js'
import { DrainSwitch } from '../src/index.js'
import { listen } from './helpers.js'
import { connectV1, eventually, sleep, textOf, within } from './sdk-helpers.js'

type Health = { mode: string; sessions: number; children: { mode: string; child: { state: string; pid: number }; children: Array<{ pid: number; held: boolean; sharers: number }>; maxChildren: number; queued: number; asks: string } }

async function health(base: string): Promise<Health> {
  return (await (await fetch(`${base}/ready`)).json()) as Health
}

/** A v1 client that declares elicitation and answers each one with `answer(message)`, recording what it was asked. */
async function eliciting(base: string, answer: (message: string) => Promise<string> | string): Promise<{ client: Client; asked: string[] }> {
  const asked: string[] = []
  const { client } = await connectV1(base, {
    capabilities: { elicitation: {} },
    setup: (c) =>
      c.setRequestHandler(ElicitRequestSchema, async (request) => {
        const message = (request.params as { message: string }).message
        asked.push(message)
        return { action: 'accept', content: { name: await answer(message) } }
      }),
  })
  return { client, asked }
}

async function callText(client: Client, name: string, args: Record<string, unknown> = {}): Promise<string> {
  return textOf(await client.callTool({ name, arguments: args }))
}

describe('shared mode: sessions on shared children', () => {
  it('20 sessions with concurrent eliciting calls: each elicitation reaches its own session, never another', async () => {
    const { base } = await listen({ childMode: 'shared', sharedChildren: 4 })
    const clients = await Promise.all(Array.from({ length: 20 }, (_, n) => eliciting(base, async (message) => `${message}-answered-by-${n}`)))
    const results = await within(
      Promise.all(clients.map(({ client }, n) => callText(client, 'elicit', { message: `question-${n}` }))),
      20_000,
      '20 eliciting calls',
    )
    results.forEach((text, n) => expect(JSON.parse(text)).toEqual({ action: 'accept', content: { name: `question-${n}-answered-by-${n}` } }))
    clients.forEach(({ asked }, n) => expect(asked).toEqual([`question-${n}`]))
    // The pool bound held: never more than 4 children for the 20 sessions.
    const report = await health(base)
    expect(report.mode).toBe('shared')
    expect(report.sessions).toBe(20)
    expect(report.children.children.length).toBeLessThanOrEqual(4)
  })

  it('the proxy answers initialize: every session sees the one handshake, the child saw the proxy, and no process is spawned per session', async () => {
    const { base } = await listen({ childMode: 'shared' })
    const a = await connectV1(base, { name: 'client-a' })
    const b = await connectV1(base, { name: 'client-b' })
    expect(a.client.getServerVersion()).toEqual(b.client.getServerVersion())
    const whoA = JSON.parse(await callText(a.client, 'whoami')) as { clientInfo: { name: string }; pid: number }
    const whoB = JSON.parse(await callText(b.client, 'whoami')) as { clientInfo: { name: string }; pid: number }
    expect(whoA.clientInfo.name).toBe('mcp-proxy')
    expect(whoA.pid).toBe(whoB.pid)
    expect((await health(base)).children.children).toHaveLength(1)
  })

  it('the pool bound: with 2 children, 6 eliciting calls at once run 2 at a time and all finish', async () => {
    const { base } = await listen({ childMode: 'shared', sharedChildren: 2 })
    const gates: Array<() => void> = []
    const clients = await Promise.all(
      Array.from({ length: 6 }, (_, n) => eliciting(base, () => new Promise<string>((resolve) => gates.push(() => resolve(`answer-${n}`))))),
    )
    const calls = clients.map(({ client }, n) => callText(client, 'elicit', { message: `q${n}` }))
    await eventually(() => (gates.length === 2 ? true : undefined), 'two calls asking')
    const report = await health(base)
    expect(report.children.children).toHaveLength(2)
    expect(report.children.children.every((c) => c.held)).toBe(true)
    expect(report.children.queued).toBe(4)
    // Only the two holders were asked; the rest wait for a child.
    expect(clients.filter(({ asked }) => asked.length > 0)).toHaveLength(2)
    const released = new Set<number>()
    const releaseAll = async (): Promise<void> => {
      while (released.size < 6) {
        for (let i = 0; i < gates.length; i++) {
          if (released.has(i)) continue
          released.add(i)
          gates[i]!()
        }
        await sleep(20)
      }
    }
    const [texts] = await within(Promise.all([Promise.all(calls), releaseAll()]), 10_000, 'the queued calls')
    texts.forEach((text, n) => expect(JSON.parse(text).content.name).toBe(`answer-${n}`))
  })

  it('a client without sampling or elicitation runs its calls beside others, and its server asks are refused', async () => {
    const { base } = await listen({ childMode: 'shared', sharedChildren: 1 })
    const { client } = await connectV1(base)
    const [slow, sampled] = await Promise.all([callText(client, 'slow', { ms: 300 }), callText(client, 'sample', { prompt: 'anyone?' })])
    expect(slow).toBe('done after 300ms')
    expect(sampled).toMatch(/^sampling error: .*cannot reach a client/)
  })

  it('a child crash: the calls in flight on it fail, and every session keeps working on the restarted child', async () => {
    const { base } = await listen({ childMode: 'shared', sharedChildren: 1 })
    const a = await connectV1(base, { name: 'a' })
    const b = await connectV1(base, { name: 'b' })
    const firstPid = (await health(base)).children.child.pid
    const slow = a.client.callTool({ name: 'slow', arguments: { ms: 5000 } }).then(
      () => 'answered',
      (error: Error) => error.message,
    )
    // The slow call is on the child (client a declared nothing, so it shares it) before b crashes it.
    await eventually(async () => ((await health(base)).children.children[0]?.sharers === 1 ? true : undefined), 'the slow call on the child')
    await expect(b.client.callTool({ name: 'crash', arguments: {} })).rejects.toThrow(/exited/)
    expect(await slow).toMatch(/exited/)
    await eventually(async () => ((await health(base)).children.child.state === 'up' ? true : undefined), 'the restart', 5000)
    expect((await health(base)).children.child.pid).not.toBe(firstPid)
    expect(await callText(a.client, 'echo', { text: 'a again' })).toBe('a again')
    expect(await callText(b.client, 'echo', { text: 'b again' })).toBe('b again')
  })

  it('log levels are kept per session: each gets only what its own level admits', async () => {
    const { base } = await listen({ childMode: 'shared' })
    const logs = { quiet: [] as string[], verbose: [] as string[], unset: [] as string[] }
    const connect = async (who: keyof typeof logs) =>
      (
        await connectV1(base, {
          name: who,
          setup: (c) => c.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs[who].push(`${n.params.level}:${String(n.params.data)}`)),
        })
      ).client
    const quiet = await connect('quiet')
    const verbose = await connect('verbose')
    const unset = await connect('unset')
    await quiet.setLoggingLevel('error')
    await verbose.setLoggingLevel('debug')
    await callText(unset, 'log', { level: 'info', message: 'i' })
    await callText(unset, 'log', { level: 'error', message: 'e' })
    await eventually(() => (logs.verbose.length === 2 && logs.unset.length === 2 && logs.quiet.length === 1 ? true : undefined), 'the logs')
    expect(logs.quiet).toEqual(['error:e'])
    expect(logs.verbose).toEqual(['info:i', 'error:e'])
    expect(logs.unset).toEqual(['info:i', 'error:e'])
    // The child logs at the most verbose level any session asked for.
    const who = JSON.parse(await callText(unset, 'whoami')) as { logLevel: string }
    expect(who.logLevel).toBe('debug')
  })

  it('subscriptions are kept per session: an update reaches only the sessions subscribed to it; list changes reach all', async () => {
    const { base } = await listen({ childMode: 'shared' })
    const seen = { subscribed: [] as string[], other: [] as string[] }
    const connect = async (who: keyof typeof seen) =>
      (
        await connectV1(base, {
          name: who,
          setup: (c) => {
            c.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void seen[who].push(`updated:${n.params.uri}`))
            c.setNotificationHandler(ToolListChangedNotificationSchema, () => void seen[who].push('tools changed'))
          },
        })
      ).client
    const subscribed = await connect('subscribed')
    const other = await connect('other')
    await subscribed.subscribeResource({ uri: 'test://static' })
    await callText(other, 'notify')
    await eventually(() => (seen.subscribed.length === 2 && seen.other.length === 1 ? true : undefined), 'the notifications')
    expect(seen.subscribed.sort()).toEqual(['tools changed', 'updated:test://static'])
    expect(seen.other).toEqual(['tools changed'])
    // A refused subscription is the child's refusal, and subscribes nobody.
    await expect(other.subscribeResource({ uri: 'test://refused/x' })).rejects.toThrow(/Not subscribable/)
    await subscribed.unsubscribeResource({ uri: 'test://static' })
    await callText(other, 'notify')
    await eventually(() => (seen.subscribed.length === 3 ? true : undefined), 'the second list change')
    expect(seen.subscribed.filter((s) => s.startsWith('updated'))).toHaveLength(1)
  })

  it('a cancelled call frees its child for the next call of another session', async () => {
    const { base } = await listen({ childMode: 'shared', sharedChildren: 1 })
    const a = await eliciting(base, () => 'a')
    const b = await eliciting(base, (message) => `b saw ${message}`)
    const controller = new AbortController()
    const held = a.client.callTool({ name: 'slow', arguments: { ms: 20_000 } }, undefined, { signal: controller.signal }).catch((error: Error) => error.name)
    await sleep(100)
    controller.abort()
    await held
    const text = await within(callText(b.client, 'elicit', { message: 'after the cancel' }), 5000, 'the call after the cancel')
    expect(JSON.parse(text).content.name).toBe('b saw after the cancel')
    expect(a.asked).toEqual([])
  })

  it('refuses childMode shared with stateless, and with claims in the child environment', async () => {
    await expect(listen({ childMode: 'shared', stateless: true })).rejects.toThrow(/stateless/)
    await expect(listen({ childMode: 'shared', apiKey: 'k'.repeat(32), childEnvFromClaims: { MCP_USER: 'sub' } })).rejects.toThrow(/childMode shared/)
  })
})

describe('stateless mode on the shared children', () => {
  it('sampling after a cancelled call reaches the caller (no guess at "the one call in flight")', async () => {
    const { base } = await listen({ stateless: true })
    const { client } = await connectV1(base, {
      capabilities: { sampling: {} },
      setup: (c) => c.setRequestHandler(CreateMessageRequestSchema, () => ({ model: 'm', role: 'assistant', content: { type: 'text', text: 'sampled after the cancel' } })),
    })
    const controller = new AbortController()
    const cancelled = client.callTool({ name: 'slow', arguments: { ms: 20_000 } }, undefined, { signal: controller.signal }).catch((error: Error) => error.name)
    await sleep(100)
    controller.abort()
    await cancelled
    expect(await within(callText(client, 'sample', { prompt: 'hello?' }), 5000, 'the sampling call')).toBe('sampled after the cancel')
  })

  it('two streaming calls that sample at once each get their own answer', async () => {
    const { base } = await listen({ stateless: true })
    const connect = async (n: number) =>
      (
        await connectV1(base, {
          capabilities: { sampling: {} },
          setup: (c) => c.setRequestHandler(CreateMessageRequestSchema, () => ({ model: 'm', role: 'assistant', content: { type: 'text', text: `client ${n}` } })),
        })
      ).client
    const [one, two] = await Promise.all([connect(1), connect(2)])
    expect(await Promise.all([callText(one, 'sample', { prompt: 'x' }), callText(two, 'sample', { prompt: 'y' })])).toEqual(['client 1', 'client 2'])
  })
})

describe('sharedAsks refuse: for servers that never ask, no call waits for a child of its own', () => {
  it('shared mode: eliciting clients\' slow calls all run at once on one child; an elicitation gets an error', async () => {
    const { base } = await listen({ childMode: 'shared', sharedChildren: 1, sharedAsks: 'refuse' })
    const clients = await Promise.all([0, 1, 2].map(() => eliciting(base, () => 'never asked')))
    const slow = clients.map(({ client }) => callText(client, 'slow', { ms: 500 }))
    await eventually(async () => ((await health(base)).children.children[0]?.sharers === 3 ? true : undefined), 'three calls sharing the child')
    const report = await health(base)
    expect(report.children.queued).toBe(0)
    expect(report.children.asks).toBe('refuse')
    expect(report.children.children[0]!.held).toBe(false)
    expect(await callText(clients[0]!.client, 'elicit', { message: 'anyone?' })).toMatch(/^elicitation error: .*refuses/)
    expect(await within(Promise.all(slow), 10_000, 'the slow calls')).toEqual(['done after 500ms', 'done after 500ms', 'done after 500ms'])
    expect(clients.flatMap(({ asked }) => asked)).toEqual([])
  })

  it('stateless: concurrent streaming calls share one child instead of queueing behind --shared-children', async () => {
    const { base } = await listen({ stateless: true, sharedChildren: 1, sharedAsks: 'refuse' })
    const { client } = await connectV1(base, { capabilities: { sampling: {} } })
    const slow = [0, 1, 2, 3].map(() => callText(client, 'slow', { ms: 500 }))
    // Stateless /ready reports the shared children at its top level.
    const ready = async () => (await health(base)) as unknown as Health['children']
    await eventually(async () => ((await ready()).children[0]?.sharers === 4 ? true : undefined), 'four calls sharing the child')
    expect((await ready()).queued).toBe(0)
    expect(await callText(client, 'sample', { prompt: 'anyone?' })).toMatch(/^sampling error: .*refuses/)
    expect(await within(Promise.all(slow), 10_000, 'the slow calls')).toHaveLength(4)
  })

  it('refuses a value other than route or refuse', async () => {
    await expect(listen({ childMode: 'shared', sharedAsks: 'maybe' as 'route' })).rejects.toThrow(/sharedAsks/)
  })
})

describe('shared mode: drain', () => {
  it('a drain keeps the shared children: the open session is served until it ends, a new one is refused', async () => {
    const drain = new DrainSwitch()
    const { base } = await listen({ childMode: 'shared', drain, drainTimeout: 60_000 })
    const { client } = await connectV1(base)
    expect(drain.start('test')).toBe(true)
    expect(await callText(client, 'echo', { text: 'served while draining' })).toBe('served while draining')
    expect((await health(base)).children.child.state).toBe('up')
    await expect(connectV1(base)).rejects.toThrow(/503|draining/i)
  })
})
