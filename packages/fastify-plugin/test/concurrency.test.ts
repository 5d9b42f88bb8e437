// Concurrent calls on one session and on several sessions: every answer reaches its own caller.
import { describe, expect, it } from 'vitest'
import { CreateMessageRequestSchema, type Progress } from '@modelcontextprotocol/sdk/types.js'
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { listen } from './helpers.js'
import { connectV1, defer, textOf, within } from './sdk-helpers.js'

describe('concurrency', { timeout: 10_000 }, () => {
  it('20 concurrent calls on one session all get their own answer', async () => {
    const { base } = await listen()
    const { client } = await connectV1(base)
    const texts = Array.from({ length: 20 }, (_, i) => `call-${i}-${'é'.repeat(i)}`)
    const results = await Promise.all(texts.map((text) => client.callTool({ name: 'echo', arguments: { text } })))
    expect(results.map(textOf)).toEqual(texts)
  })

  it('mixed slow and fast calls on one session complete out of order, each with its own answer', async () => {
    const { base } = await listen()
    const { client } = await connectV1(base)
    const calls = Array.from({ length: 12 }, (_, i) =>
      i % 3 === 0
        ? client.callTool({ name: 'slow', arguments: { ms: 20 * (4 - (i % 4)) } }).then((r) => [i, textOf(r)] as const)
        : client.callTool({ name: 'add', arguments: { a: i, b: 1000 } }).then((r) => [i, textOf(r)] as const),
    )
    for (const [i, text] of await Promise.all(calls)) {
      expect(text).toBe(i % 3 === 0 ? `done after ${20 * (4 - (i % 4))}ms` : String(i + 1000))
    }
  })

  it('concurrent progress calls on one session: each callback sees only its own steps', async () => {
    const { base } = await listen()
    const { client } = await connectV1(base)
    const seen: Progress[][] = [[], [], [], [], []]
    const results = await Promise.all(
      seen.map((steps, i) => client.callTool({ name: 'progress', arguments: { steps: i + 1, ms: 3 } }, undefined, { onprogress: (p) => steps.push(p) })),
    )
    expect(results.map(textOf)).toEqual(Array(5).fill('progress done'))
    seen.forEach((steps, i) => {
      expect(steps.map((s) => s.progress)).toEqual(Array.from({ length: i + 1 }, (_, k) => k + 1))
      for (const step of steps) expect(step.total).toBe(i + 1)
    })
  })

  it('4 sessions in parallel × 10 calls: no cross-talk between sessions', async () => {
    const { base } = await listen({ warmChildren: 2 })
    const connections = await Promise.all([0, 1, 2, 3].map((n) => connectV1(base, { name: `client-${n}`, version: `${n}.0.0` })))
    const sessionIds = new Set(connections.map((c) => c.transport.sessionId))
    expect(sessionIds.size).toBe(4)

    await Promise.all(
      connections.map(async ({ client }, n) => {
        const texts = Array.from({ length: 10 }, (_, i) => `s${n}-c${i}`)
        const [results, whoami] = await Promise.all([
          Promise.all(texts.map((text) => client.callTool({ name: 'echo', arguments: { text } }))),
          client.callTool({ name: 'whoami', arguments: {} }),
        ])
        expect(results.map(textOf)).toEqual(texts)
        // Each session has its own child, which saw its own client's initialize.
        expect(JSON.parse(textOf(whoami)).clientInfo).toEqual({ name: `client-${n}`, version: `${n}.0.0` })
      }),
    )
  })

  it('sampling on parallel sessions: each child asks its own client', async () => {
    const { base } = await listen()
    const connections = await Promise.all(
      [0, 1, 2].map((n) =>
        connectV1(base, {
          name: `sampler-${n}`,
          capabilities: { sampling: {} },
          setup: (c) => c.setRequestHandler(CreateMessageRequestSchema, () => ({ model: 'm', role: 'assistant', content: { type: 'text', text: `answer of ${n}` } })),
        }),
      ),
    )
    const results = await Promise.all(connections.flatMap(({ client }) => [0, 1].map(() => client.callTool({ name: 'sample', arguments: { prompt: 'p' } }))))
    expect(results.map(textOf)).toEqual(['answer of 0', 'answer of 0', 'answer of 1', 'answer of 1', 'answer of 2', 'answer of 2'])
  })

  it('Streamable HTTP and legacy SSE sessions side by side', async () => {
    const { base } = await listen()
    const { client: modern } = await connectV1(base, { name: 'modern' })
    const legacy = new Client({ name: 'legacy', version: '1' })
    defer(() => legacy.close())
    await within(legacy.connect(new SSEClientTransport(new URL(`${base}/sse`))), 5000, 'legacy connect')
    const [m, l] = await Promise.all([
      Promise.all(Array.from({ length: 5 }, (_, i) => modern.callTool({ name: 'echo', arguments: { text: `m${i}` } }))),
      Promise.all(Array.from({ length: 5 }, (_, i) => legacy.callTool({ name: 'echo', arguments: { text: `l${i}` } }))),
    ])
    expect(m.map(textOf)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4'])
    expect(l.map(textOf)).toEqual(['l0', 'l1', 'l2', 'l3', 'l4'])
    expect(JSON.parse(textOf(await legacy.callTool({ name: 'whoami', arguments: {} }))).clientInfo.name).toBe('legacy')
    expect(JSON.parse(textOf(await modern.callTool({ name: 'whoami', arguments: {} }))).clientInfo.name).toBe('modern')
  })
})
