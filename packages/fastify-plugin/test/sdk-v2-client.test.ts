// The v2 client (`@modelcontextprotocol/client`) over its Streamable HTTP transport, through the proxy.
import { describe, expect, it } from 'vitest'
import { Client, SSEClientTransport, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { listen } from './helpers.js'
import { defer, textOf, within } from './sdk-helpers.js'

interface V2Connection {
  client: Client
  transport: StreamableHTTPClientTransport
  posts: Array<{ body: string; protocolHeader: string | null }>
}

async function connectV2(base: string, setup?: (client: Client) => void, capabilities?: Record<string, unknown>): Promise<V2Connection> {
  const posts: V2Connection['posts'] = []
  const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
    fetch: async (url, init) => {
      if (init?.method === 'POST') posts.push({ body: String(init.body), protocolHeader: new Headers(init.headers).get('mcp-protocol-version') })
      return fetch(url, init)
    },
  })
  const client = new Client({ name: 'v2-client', version: '2.4.0' }, capabilities ? { capabilities } : {})
  setup?.(client)
  defer(() => client.close())
  await within(client.connect(transport), 5000, 'v2 connect')
  return { client, transport, posts }
}

describe('v2 client (@modelcontextprotocol/client) over Streamable HTTP', { timeout: 10_000 }, () => {
  it('initializes, lists and calls tools', async () => {
    const { base } = await listen()
    const { client, transport, posts } = await connectV2(base)
    expect(client.getServerVersion()).toMatchObject({ name: 'echo-fixture', version: '1.0.0' })
    expect(transport.sessionId).toBeTruthy()

    const { tools } = await client.listTools()
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['echo', 'whoami', 'sample']))
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'from v2' } }))).toBe('from v2')
    const results = await Promise.all([1, 2, 3, 4, 5].map((n) => client.callTool({ name: 'add', arguments: { a: n, b: n } })))
    expect(results.map(textOf)).toEqual(['2', '4', '6', '8', '10'])

    const whoami = JSON.parse(textOf(await client.callTool({ name: 'whoami', arguments: {} }))) as { clientInfo: unknown; protocolVersion: string }
    expect(whoami.clientInfo).toEqual({ name: 'v2-client', version: '2.4.0' })
    // The legacy handshake (no version-negotiation probe): the child saw the version the client claimed.
    const initialize = JSON.parse(posts[0]!.body) as { method: string; params: { protocolVersion: string } }
    expect(initialize.method).toBe('initialize')
    expect(posts[0]!.protocolHeader).toBeNull()
    expect(whoami.protocolVersion).toBe(initialize.params.protocolVersion)
    expect(transport.protocolVersion).toBe(whoami.protocolVersion)
    expect(posts.at(-1)?.protocolHeader).toBe(whoami.protocolVersion)

    const prompt = await client.getPrompt({ name: 'greet', arguments: { name: 'v2' } })
    expect(prompt.messages[0]?.content).toEqual({ type: 'text', text: 'Hello, v2!' })
    const read = await client.readResource({ uri: 'test://static' })
    expect(read.contents[0]).toMatchObject({ uri: 'test://static', text: 'static resource' })
  })

  it('round-trips sampling through a request handler', async () => {
    const { base } = await listen()
    const { client } = await connectV2(
      base,
      (c) =>
        c.setRequestHandler('sampling/createMessage', (request) => {
          const content = request.params.messages[0]?.content
          const text = content && !Array.isArray(content) && content.type === 'text' ? content.text : '?'
          return { model: 'v2-model', role: 'assistant', content: { type: 'text', text: `v2 sampled ${text}` } }
        }),
      { sampling: {} },
    )
    expect(textOf(await client.callTool({ name: 'sample', arguments: { prompt: 'tea' } }))).toBe('v2 sampled tea')
  })

  it('round-trips elicitation through a request handler', async () => {
    const { base } = await listen()
    const { client } = await connectV2(base, (c) => c.setRequestHandler('elicitation/create', () => ({ action: 'accept', content: { name: 'Grace' } })), {
      elicitation: { form: {} },
    })
    expect(JSON.parse(textOf(await client.callTool({ name: 'elicit', arguments: { message: 'name?' } })))).toEqual({ action: 'accept', content: { name: 'Grace' } })
  })

  it('terminates its session with DELETE', async () => {
    const { base } = await listen()
    const { transport } = await connectV2(base)
    const sessionId = transport.sessionId!
    await transport.terminateSession()
    const response = await fetch(`${base}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': sessionId },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    })
    expect(response.status).toBe(404)
    await response.body?.cancel()
  })

  it('the v2 SSEClientTransport works against the legacy endpoint', async () => {
    const { base } = await listen()
    const transport = new SSEClientTransport(new URL(`${base}/sse`))
    const client = new Client({ name: 'v2-legacy', version: '1' })
    defer(() => client.close())
    await within(client.connect(transport), 5000, 'v2 legacy connect')
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'v2 over sse' } }))).toBe('v2 over sse')
  })
})
