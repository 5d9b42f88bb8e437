// End to end: the built CLI in front of the real @modelcontextprotocol/server-everything (stdio), driven by
// the v1 SDK client over Streamable HTTP and over legacy HTTP+SSE, plus a raw-fetch resumed stream.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js'
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  LoggingMessageNotificationSchema,
  type CallToolResult,
  type LoggingMessageNotification,
  type Progress,
} from '@modelcontextprotocol/sdk/types.js'
import { MCP_HEADERS, eventReader, messageOf, waitFor, proxyInFrontOfEverything } from './helpers.js'

const everything = proxyInFrontOfEverything()

/** The text of every text content item of a tool result. */
function texts(result: unknown): string {
  return (result as CallToolResult).content
    .flatMap((c) => (c.type === 'text' ? [c.text] : []))
    .join('\n')
}

interface Session {
  client: Client
  samplingRequests: unknown[]
  logMessages: LoggingMessageNotification['params'][]
}

/** A v1 client with sampling and elicitation capabilities, connected through `transport`. */
async function connect(transport: Transport): Promise<Session> {
  const client = new Client({ name: 'e2e-v1', version: '1.0.0' }, { capabilities: { sampling: {}, elicitation: { form: {} } } })
  const samplingRequests: unknown[] = []
  const logMessages: LoggingMessageNotification['params'][] = []
  client.setRequestHandler(CreateMessageRequestSchema, (request) => {
    samplingRequests.push(request.params)
    return { model: 'e2e-model', role: 'assistant', content: { type: 'text', text: 'sampled by the e2e client' }, stopReason: 'endTurn' }
  })
  client.setRequestHandler(ElicitRequestSchema, () => ({ action: 'accept', content: { name: 'Ada Lovelace', check: true } }))
  client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
    logMessages.push(notification.params)
  })
  await client.connect(transport)
  return { client, samplingRequests, logMessages }
}

for (const kind of ['streamable', 'sse'] as const) {
  describe(`server-everything over ${kind === 'streamable' ? 'Streamable HTTP' : 'HTTP+SSE'} (v1 client)`, { timeout: 15_000 }, () => {
    let session: Session
    let client: Client

    beforeAll(async () => {
      const transport = kind === 'streamable' ? new StreamableHTTPClientTransport(everything().streamable) : new SSEClientTransport(everything().sse)
      session = await connect(transport)
      client = session.client
    })

    afterAll(async () => {
      await client?.close()
    })

    it('initializes with the real server identity and capabilities', () => {
      expect(client.getServerVersion()?.name).toBe('mcp-servers/everything')
      const caps = client.getServerCapabilities()
      expect(caps?.tools).toBeDefined()
      expect(caps?.resources).toBeDefined()
      expect(caps?.prompts).toBeDefined()
      expect(caps?.logging).toBeDefined()
    })

    it('lists tools, including the ones registered for a sampling/elicitation-capable client', async () => {
      const { tools } = await client.listTools()
      const names = tools.map((t) => t.name)
      expect(names).toEqual(expect.arrayContaining(['echo', 'get-sum', 'trigger-long-running-operation', 'trigger-sampling-request', 'trigger-elicitation-request']))
    })

    it('calls echo and get-sum', async () => {
      const echo = await client.callTool({ name: 'echo', arguments: { message: `hello over ${kind}` } })
      expect(texts(echo)).toBe(`Echo: hello over ${kind}`)
      const sum = await client.callTool({ name: 'get-sum', arguments: { a: 2, b: 40 } })
      expect(texts(sum)).toContain('42')
    })

    it('reports a tool error as an error result', async () => {
      const result = (await client.callTool({ name: 'get-sum', arguments: { a: 'x', b: 1 } })) as CallToolResult
      expect(result.isError).toBe(true)
    })

    it('lists and reads resources (static and from a template)', async () => {
      const { resources } = await client.listResources()
      expect(resources.length).toBeGreaterThan(0)
      const first = resources[0]!
      const read = await client.readResource({ uri: first.uri })
      expect(read.contents[0]?.uri).toBe(first.uri)
      const { resourceTemplates } = await client.listResourceTemplates()
      expect(resourceTemplates.map((t) => t.uriTemplate)).toContain('demo://resource/dynamic/text/{resourceId}')
      const dynamic = await client.readResource({ uri: 'demo://resource/dynamic/text/7' })
      const content = dynamic.contents[0]
      expect(content && 'text' in content ? content.text : '').toMatch(/7/)
    })

    it('lists and gets prompts', async () => {
      const { prompts } = await client.listPrompts()
      expect(prompts.map((p) => p.name)).toEqual(expect.arrayContaining(['simple-prompt', 'args-prompt']))
      const simple = await client.getPrompt({ name: 'simple-prompt' })
      expect(simple.messages.length).toBeGreaterThan(0)
      const withArgs = await client.getPrompt({ name: 'args-prompt', arguments: { city: 'Lyon', state: 'Rhône' } })
      expect(JSON.stringify(withArgs.messages)).toContain('Lyon')
    })

    it('round-trips a sampling request from the server to the client', async () => {
      const before = session.samplingRequests.length
      const result = await client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'what is 6 x 7?', maxTokens: 20 } })
      expect(session.samplingRequests.length).toBe(before + 1)
      expect(JSON.stringify(session.samplingRequests.at(-1))).toContain('what is 6 x 7?')
      const text = texts(result)
      expect(text).toContain('e2e-model')
      expect(text).toContain('sampled by the e2e client')
    })

    it('round-trips an elicitation request from the server to the client', async () => {
      const result = await client.callTool({ name: 'trigger-elicitation-request', arguments: {} })
      const text = texts(result)
      expect(text).toContain('Name: Ada Lovelace')
      expect(text).toContain('"action": "accept"')
    })

    it('relays progress notifications of a long-running operation', async () => {
      const progress: Progress[] = []
      const result = await client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 0.6, steps: 3 } }, undefined, {
        onprogress: (p) => progress.push(p),
      })
      expect(texts(result)).toContain('Long running operation completed')
      const seen = progress.map((p) => [p.progress, p.total])
      if (kind === 'streamable') {
        expect(seen).toEqual([
          [1, 3],
          [2, 3],
          [3, 3],
        ])
      } else {
        // The v1 SSEClientTransport dispatches the events of one TCP chunk synchronously, and the SDK's
        // Protocol handles notifications a microtask later but responses at once: when the last progress
        // and the result arrive together, the result removes the progress handler first and the client
        // drops the last progress (a client-side race; the raw-wire test below shows the proxy sends it
        // before the result). So only the first two are certain here.
        expect(seen.slice(0, 2)).toEqual([
          [1, 3],
          [2, 3],
        ])
        expect(seen.length).toBeLessThanOrEqual(3)
      }
    })

    it('relays logging notifications at the level the client chose', async () => {
      await client.setLoggingLevel('debug')
      const started = await client.callTool({ name: 'toggle-simulated-logging', arguments: {} })
      try {
        expect(texts(started)).toContain('Started simulated')
        // the server sends one message at once, then one every 5 s
        await waitFor(() => session.logMessages.length > 0, 8000, () => 'a notifications/message')
        expect(session.logMessages[0]?.level).toBeTypeOf('string')
        expect(String(session.logMessages[0]?.data)).toMatch(/message/i)
      } finally {
        const stopped = await client.callTool({ name: 'toggle-simulated-logging', arguments: {} })
        expect(texts(stopped)).toContain('Stopped simulated')
      }
    })
  })
}

describe('resumed Streamable HTTP stream (raw fetch, protocol 2025-11-25)', { timeout: 15_000 }, () => {
  it('replays the result of a tools/call on GET with Last-Event-ID after the POST stream was cut', async () => {
    const url = everything().streamable
    const version = '2025-11-25'
    const init = await fetch(url, {
      method: 'POST',
      headers: MCP_HEADERS,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'e2e-raw', version: '1.0.0' } },
      }),
    })
    expect(init.status).toBe(200)
    const sessionId = init.headers.get('mcp-session-id')
    expect(sessionId).toBeTruthy()
    const initReader = eventReader(init)
    const initEvents = await initReader.until((e) => messageOf(e)?.id === 1)
    await initReader.close()
    expect(messageOf(initEvents.at(-1)!)?.result).toMatchObject({ protocolVersion: version })
    const headers = { ...MCP_HEADERS, 'mcp-session-id': sessionId!, 'mcp-protocol-version': version }
    const note = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) })
    expect(note.status).toBe(202)
    await note.body?.cancel()

    try {
      // a slow tool: ~1.2 s, so the POST stream can be cut before the result exists
      const abort = new AbortController()
      const call = await fetch(url, {
        method: 'POST',
        headers,
        signal: abort.signal,
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 2,
          method: 'tools/call',
          params: { name: 'trigger-long-running-operation', arguments: { duration: 1.2, steps: 2 } },
        }),
      })
      expect(call.status).toBe(200)
      expect(call.headers.get('content-type')).toMatch(/^text\/event-stream/)
      const callReader = eventReader(call)
      const [priming] = await callReader.until(() => true)
      abort.abort()
      await callReader.close()
      expect(priming?.data).toBe('')
      expect(priming?.id).toBeTruthy()

      const resumed = new AbortController()
      const get = await fetch(url, {
        method: 'GET',
        headers: { accept: 'text/event-stream', 'mcp-session-id': sessionId!, 'mcp-protocol-version': version, 'last-event-id': priming!.id! },
        signal: resumed.signal,
      })
      expect(get.status).toBe(200)
      const getReader = eventReader(get)
      const events = await getReader.until((e) => messageOf(e)?.id === 2, 8000)
      resumed.abort()
      await getReader.close()
      const result = messageOf(events.at(-1)!)
      expect(result?.error).toBeUndefined()
      expect(JSON.stringify(result?.result)).toContain('Long running operation completed')
      // every replayed event carries an id, so the client could resume again
      for (const event of events) expect(event.id).toBeTruthy()
    } finally {
      const del = await fetch(url, { method: 'DELETE', headers: { 'mcp-session-id': sessionId!, 'mcp-protocol-version': version } })
      await del.body?.cancel()
    }
  })
})

describe('legacy HTTP+SSE wire order (raw fetch)', { timeout: 15_000 }, () => {
  it('sends every progress notification of a request before its result, all on the /sse stream', async () => {
    const abort = new AbortController()
    const res = await fetch(everything().sse, { headers: { accept: 'text/event-stream' }, signal: abort.signal })
    expect(res.status).toBe(200)
    const stream = eventReader(res)
    try {
      const [endpoint] = await stream.until((e) => e.event === 'endpoint')
      const messages = new URL(endpoint!.data, everything().sse)
      const post = async (body: unknown): Promise<number> => {
        const r = await fetch(messages, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
        await r.body?.cancel()
        return r.status
      }
      expect(
        await post({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'e2e-raw-sse', version: '1.0.0' } },
        }),
      ).toBe(202)
      await stream.until((e) => messageOf(e)?.id === 1)
      expect(await post({ jsonrpc: '2.0', method: 'notifications/initialized' })).toBe(202)
      expect(
        await post({
          jsonrpc: '2.0',
          id: 2,
          method: 'tools/call',
          params: { name: 'trigger-long-running-operation', arguments: { duration: 0.3, steps: 3 }, _meta: { progressToken: 'p-7' } },
        }),
      ).toBe(202)
      const events = await stream.until((e) => messageOf(e)?.id === 2)
      const progress = events
        .map((e) => messageOf(e))
        .filter((m) => m?.method === 'notifications/progress')
        .map((m) => m?.params as { progress: number; total: number; progressToken: unknown })
      expect(progress).toEqual([
        { progress: 1, total: 3, progressToken: 'p-7' },
        { progress: 2, total: 3, progressToken: 'p-7' },
        { progress: 3, total: 3, progressToken: 'p-7' },
      ])
      expect(JSON.stringify(messageOf(events.at(-1)!)?.result)).toContain('Long running operation completed')
    } finally {
      abort.abort()
      await stream.close()
    }
  })
})
