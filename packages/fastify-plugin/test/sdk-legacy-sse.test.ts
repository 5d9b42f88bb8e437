// The official v1 SDK client over the legacy HTTP+SSE transport (2024-11-05), through the proxy.
import { describe, expect, it } from 'vitest'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js'
import { CreateMessageRequestSchema, LoggingMessageNotificationSchema, type ClientCapabilities, type Progress } from '@modelcontextprotocol/sdk/types.js'
import { listen } from './helpers.js'
import { defer, eventually, messageOf, SseReader, textOf, within } from './sdk-helpers.js'

interface LegacyConnection {
  client: Client
  transport: SSEClientTransport
  /** URLs the transport POSTed to (the endpoint the server named). */
  posted: string[]
}

async function connectLegacy(base: string, capabilities?: ClientCapabilities, setup?: (client: Client) => void): Promise<LegacyConnection> {
  const posted: string[] = []
  const transport = new SSEClientTransport(new URL(`${base}/sse`), {
    fetch: async (url, init) => {
      if (init?.method === 'POST') posted.push(String(url))
      return fetch(url, init)
    },
  })
  const client = new Client({ name: 'legacy-client', version: '0.0.1' }, capabilities ? { capabilities } : {})
  setup?.(client)
  defer(() => client.close())
  await within(client.connect(transport), 5000, 'connect over /sse')
  return { client, transport, posted }
}

describe('v1 SDK client over legacy HTTP+SSE', { timeout: 10_000 }, () => {
  it('lists and calls tools; the endpoint is /messages?sessionId=… on the same origin', async () => {
    const { base } = await listen()
    const { client, posted } = await connectLegacy(base)
    const { tools } = await client.listTools()
    expect(tools.map((t) => t.name)).toContain('echo')
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'over sse' } }))).toBe('over sse')
    const results = await Promise.all(['x', 'y', 'z'].map((text) => client.callTool({ name: 'echo', arguments: { text } })))
    expect(results.map(textOf)).toEqual(['x', 'y', 'z'])
    expect(posted.length).toBeGreaterThan(0)
    for (const url of posted) expect(url).toMatch(new RegExp(`^${base}/messages\\?sessionId=[\\x21-\\x7E]+$`))
  })

  it('round-trips sampling', async () => {
    const { base } = await listen()
    const { client } = await connectLegacy(base, { sampling: {} }, (c) =>
      c.setRequestHandler(CreateMessageRequestSchema, (request) => {
        const content = request.params.messages[0]?.content
        const text = content && !Array.isArray(content) && content.type === 'text' ? content.text : '?'
        return { model: 'm', role: 'assistant', content: { type: 'text', text: `legacy sampled ${text}` } }
      }),
    )
    expect(textOf(await client.callTool({ name: 'sample', arguments: { prompt: 'hi' } }))).toBe('legacy sampled hi')
  })

  it('delivers progress to the call', async () => {
    const { base } = await listen()
    const { client } = await connectLegacy(base)
    const steps: Progress[] = []
    const result = await client.callTool({ name: 'progress', arguments: { steps: 3, ms: 40 } }, undefined, { onprogress: (p) => steps.push(p) })
    expect(textOf(result)).toBe('progress done')
    // The v1 SDK runs notification handlers a microtask late but responses at once, and `eventsource`
    // dispatches all events of one chunk synchronously: the last step, written in the same tick as the
    // response, may be dropped by the client. The wire order is checked at the raw level below.
    expect(steps.slice(0, 2)).toEqual([1, 2].map((progress) => ({ progress, total: 3, message: `step ${progress}` })))
    expect([2, 3]).toContain(steps.length)
  })

  it('progress notifications precede the response on the one SSE stream (raw HTTP)', async () => {
    const { base } = await listen()
    const controller = new AbortController()
    defer(() => controller.abort())
    const sse = new SseReader(await fetch(`${base}/sse`, { headers: { accept: 'text/event-stream' }, signal: controller.signal }), controller)
    const endpoint = await sse.next(3000, 'the endpoint event')
    expect(endpoint?.event).toBe('endpoint')
    const post = async (body: unknown): Promise<number> => {
      const response = await fetch(new URL(endpoint!.data, base), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      await response.body?.cancel()
      return response.status
    }
    expect(await post({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2024-11-05', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } })).toBe(202)
    expect(messageOf((await sse.next(3000, 'the initialize answer'))!).id).toBe(0)
    expect(await post({ jsonrpc: '2.0', method: 'notifications/initialized' })).toBe(202)
    expect(await post({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'progress', arguments: { steps: 3, ms: 1 }, _meta: { progressToken: 'p' } } })).toBe(202)
    const { match, before } = await sse.responseTo(1, 3000)
    expect(before.map((e) => messageOf(e).params)).toEqual([1, 2, 3].map((progress) => ({ progressToken: 'p', progress, total: 3, message: `step ${progress}` })))
    expect(textOf(messageOf(match).result)).toBe('progress done')
    // The legacy transport has no event ids.
    expect(sse.text).not.toMatch(/^id:/m)
  })

  it('delivers log messages and forwards logging/setLevel', async () => {
    const { base } = await listen()
    const logs: unknown[] = []
    const { client } = await connectLegacy(base, undefined, (c) => c.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(n.params.data)))
    await client.setLoggingLevel('error')
    await client.callTool({ name: 'log', arguments: { message: 'one', count: 2 } })
    // One stream carries everything in order: the notifications came before the response.
    expect(logs).toEqual(['one', 'one'])
    const whoami = JSON.parse(textOf(await client.callTool({ name: 'whoami', arguments: {} }))) as Record<string, unknown>
    expect(whoami.logLevel).toBe('error')
    expect(whoami.clientInfo).toEqual({ name: 'legacy-client', version: '0.0.1' })
  })

  it('closing the client ends the session: its /messages URL answers 404', async () => {
    const { base } = await listen()
    const { client, posted } = await connectLegacy(base)
    await client.callTool({ name: 'echo', arguments: { text: 'x' } })
    const endpoint = posted[0]
    expect(endpoint).toBeDefined()
    await client.close()
    const status = await eventually(async () => {
      const response = await fetch(endpoint!, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 99, method: 'ping' }),
      })
      await response.body?.cancel()
      return response.status === 202 ? undefined : response.status
    }, 'the session to end')
    expect(status).toBe(404)
  })

  it('two legacy sessions are independent', async () => {
    const { base } = await listen()
    const [a, b] = await Promise.all([connectLegacy(base), connectLegacy(base)])
    expect(a.posted[0]).not.toBe(b.posted[0])
    const [ra, rb] = await Promise.all([
      a.client.callTool({ name: 'echo', arguments: { text: 'for a' } }),
      b.client.callTool({ name: 'echo', arguments: { text: 'for b' } }),
    ])
    expect(textOf(ra)).toBe('for a')
    expect(textOf(rb)).toBe('for b')
  })
})
