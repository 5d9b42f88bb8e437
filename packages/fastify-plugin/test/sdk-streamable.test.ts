// The official v1 SDK client over Streamable HTTP, through the proxy, against the echo fixture.
import { describe, expect, it } from 'vitest'
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
  type Progress,
} from '@modelcontextprotocol/sdk/types.js'
import { listen } from './helpers.js'
import { connectV1, eventually, textOf, within } from './sdk-helpers.js'

describe('v1 SDK client over Streamable HTTP', { timeout: 10_000 }, () => {
  it('lists and calls tools, reads resources, gets prompts and completions', async () => {
    const { base } = await listen()
    const { client } = await connectV1(base)

    expect(client.getServerVersion()).toEqual({ name: 'echo-fixture', version: '1.0.0' })
    expect(client.getServerCapabilities()?.tools).toEqual({ listChanged: true })
    expect(client.getInstructions()).toBe('Echo fixture for tests.')

    const { tools } = await client.listTools()
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['echo', 'add', 'slow', 'progress', 'sample', 'elicit', 'roots', 'log', 'whoami', 'notify']))

    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'ünïcödé ✓ "quoted" \n newline' } }))).toBe('ünïcödé ✓ "quoted" \n newline')
    expect(textOf(await client.callTool({ name: 'add', arguments: { a: 2, b: 40 } }))).toBe('42')
    const unknown = await client.callTool({ name: 'nope', arguments: {} })
    expect(unknown.isError).toBe(true)

    const { resources } = await client.listResources()
    expect(resources).toEqual([{ uri: 'test://static', name: 'static', mimeType: 'text/plain' }])
    const read = await client.readResource({ uri: 'test://static' })
    expect(read.contents).toEqual([{ uri: 'test://static', mimeType: 'text/plain', text: 'static resource' }])
    await expect(client.readResource({ uri: 'test://missing' })).rejects.toThrow(/Resource not found/)
    const templates = await client.listResourceTemplates()
    expect(templates.resourceTemplates[0]?.uriTemplate).toBe('test://items/{id}')
    await client.subscribeResource({ uri: 'test://static' })
    await client.unsubscribeResource({ uri: 'test://static' })

    const { prompts } = await client.listPrompts()
    expect(prompts.map((p) => p.name)).toEqual(['greet'])
    const prompt = await client.getPrompt({ name: 'greet', arguments: { name: 'Ada' } })
    expect(prompt.messages).toEqual([{ role: 'user', content: { type: 'text', text: 'Hello, Ada!' } }])

    const completion = await client.complete({ ref: { type: 'ref/prompt', name: 'greet' }, argument: { name: 'name', value: 'a' } })
    expect(completion.completion.values).toEqual(['alpha', 'beta'])

    await client.ping()
  })

  it('delivers progress notifications to the onprogress callback of the call', async () => {
    const { base } = await listen()
    const { client } = await connectV1(base)
    const steps: Progress[] = []
    const result = await client.callTool({ name: 'progress', arguments: { steps: 4, ms: 5 } }, undefined, { onprogress: (p) => steps.push(p) })
    expect(textOf(result)).toBe('progress done')
    expect(steps).toEqual([1, 2, 3, 4].map((step) => ({ progress: step, total: 4, message: `step ${step}` })))
  })

  it('round-trips sampling: the child asks the client, the tool answers with the sampled text', async () => {
    const { base } = await listen()
    const prompts: string[] = []
    const { client } = await connectV1(base, {
      capabilities: { sampling: {} },
      setup: (c) =>
        c.setRequestHandler(CreateMessageRequestSchema, (request) => {
          const content = request.params.messages[0]?.content
          const text = content && !Array.isArray(content) && content.type === 'text' ? content.text : '?'
          prompts.push(text)
          return { model: 'test-model', role: 'assistant', content: { type: 'text', text: `sampled: ${text}` } }
        }),
    })
    const result = await client.callTool({ name: 'sample', arguments: { prompt: 'write a haiku' } })
    expect(textOf(result)).toBe('sampled: write a haiku')
    expect(prompts).toEqual(['write a haiku'])
  })

  it('round-trips elicitation', async () => {
    const { base } = await listen()
    const messages: string[] = []
    const { client } = await connectV1(base, {
      capabilities: { elicitation: {} },
      setup: (c) =>
        c.setRequestHandler(ElicitRequestSchema, (request) => {
          messages.push(request.params.message)
          return { action: 'accept', content: { name: 'Ada' } }
        }),
    })
    const result = await client.callTool({ name: 'elicit', arguments: { message: 'who are you?' } })
    expect(JSON.parse(textOf(result))).toEqual({ action: 'accept', content: { name: 'Ada' } })
    expect(messages).toEqual(['who are you?'])
  })

  it('round-trips roots/list', async () => {
    const { base } = await listen()
    const roots = [{ uri: 'file:///tmp/project', name: 'project' }]
    const { client } = await connectV1(base, {
      capabilities: { roots: { listChanged: true } },
      setup: (c) => c.setRequestHandler(ListRootsRequestSchema, () => ({ roots })),
    })
    const result = await client.callTool({ name: 'roots', arguments: {} })
    expect(JSON.parse(textOf(result))).toEqual(roots)
    // A client notification passes through to the child (202) without disturbing the session.
    await client.sendRootsListChanged()
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'still here' } }))).toBe('still here')
  })

  it('delivers log messages and forwards logging/setLevel to the child', async () => {
    const { base } = await listen()
    const logs: Array<{ level: string; data: unknown }> = []
    const { client } = await connectV1(base, {
      setup: (c) => c.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push({ level: n.params.level, data: n.params.data })),
    })
    await client.setLoggingLevel('debug')
    const result = await client.callTool({ name: 'log', arguments: { level: 'warning', message: 'careful', count: 3 } })
    expect(textOf(result)).toBe('logged')
    // The notifications travel on the call's stream before its response: they are in by now.
    expect(logs).toEqual([1, 2, 3].map(() => ({ level: 'warning', data: 'careful' })))
    const whoami = JSON.parse(textOf(await client.callTool({ name: 'whoami', arguments: {} }))) as { logLevel?: string }
    expect(whoami.logLevel).toBe('debug')
  })

  it('the child sees the real client identity, capabilities and protocol version', async () => {
    const { base } = await listen()
    const capabilities = { sampling: {}, roots: { listChanged: true }, elicitation: { form: {} } }
    const { client, transport } = await connectV1(base, {
      name: 'real-client',
      version: '9.8.7',
      capabilities,
      setup: (c) => {
        c.setRequestHandler(CreateMessageRequestSchema, () => ({ model: 'm', role: 'assistant', content: { type: 'text', text: '' } }))
        c.setRequestHandler(ElicitRequestSchema, () => ({ action: 'decline' }))
        c.setRequestHandler(ListRootsRequestSchema, () => ({ roots: [] }))
      },
    })
    const whoami = JSON.parse(textOf(await client.callTool({ name: 'whoami', arguments: {} }))) as Record<string, unknown>
    expect(whoami.clientInfo).toEqual({ name: 'real-client', version: '9.8.7' })
    expect(whoami.capabilities).toMatchObject({ sampling: {}, roots: { listChanged: true } })
    expect(whoami.capabilities).toHaveProperty('elicitation')
    expect(whoami.protocolVersion).toBe('2025-11-25')
    expect(transport.protocolVersion).toBe('2025-11-25')
  })

  it('cancels a call when the client aborts it, and the session keeps working', async () => {
    const { base } = await listen()
    const { client } = await connectV1(base)
    const controller = new AbortController()
    const call = client.callTool({ name: 'slow', arguments: { ms: 5000 } }, undefined, { signal: controller.signal })
    setTimeout(() => controller.abort('user gave up'), 100)
    await expect(within(call, 3000, 'the aborted call to reject')).rejects.toThrow()
    // The proxy maps notifications/cancelled to the child; the session and its child are still fine.
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'after cancel' } }))).toBe('after cancel')
    const [a, b] = await Promise.all([
      client.callTool({ name: 'slow', arguments: { ms: 20 } }),
      client.callTool({ name: 'echo', arguments: { text: 'parallel' } }),
    ])
    expect(textOf(a)).toBe('done after 20ms')
    expect(textOf(b)).toBe('parallel')
  })

  it('delivers each unrelated notification exactly once (one stream per message)', async () => {
    const { base } = await listen()
    let listChanged = 0
    const updated: string[] = []
    const logs: unknown[] = []
    const { client, getOpened } = await connectV1(base, {
      setup: (c) => {
        c.setNotificationHandler(ToolListChangedNotificationSchema, () => void listChanged++)
        c.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updated.push(n.params.uri))
        c.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(n.params.data))
      },
    })
    await within(getOpened, 3000, 'the standalone GET stream')
    expect(textOf(await client.callTool({ name: 'notify', arguments: {} }))).toBe('notified')
    expect(listChanged).toBe(1)
    expect(updated).toEqual(['test://static'])

    // A fence through the GET stream: with two calls in flight, the log message goes to the standalone
    // stream; once it is in, any duplicate of the notifications sent there earlier would be in too.
    await Promise.all([
      client.callTool({ name: 'slow', arguments: { ms: 300 } }),
      client.callTool({ name: 'log', arguments: { message: 'fence' } }),
    ])
    await eventually(() => (logs.includes('fence') ? true : undefined), 'the fence log message')
    expect(logs).toEqual(['fence'])
    expect(listChanged).toBe(1)
    expect(updated).toEqual(['test://static'])
  })

  it('works with jsonResponse: true for plain calls', async () => {
    const { base } = await listen({ jsonResponse: true })
    const seen: string[] = []
    const { client } = await connectV1(base, {
      fetch: async (url, init, next) => {
        const response = await next(url, init)
        if (init?.method === 'POST' && response.status === 200) seen.push(response.headers.get('content-type') ?? '')
        return response
      },
    })
    const { tools } = await client.listTools()
    expect(tools.length).toBeGreaterThan(5)
    const results = await Promise.all(['a', 'b', 'c'].map((text) => client.callTool({ name: 'echo', arguments: { text } })))
    expect(results.map(textOf)).toEqual(['a', 'b', 'c'])
    expect((await client.readResource({ uri: 'test://static' })).contents[0]).toMatchObject({ text: 'static resource' })
    expect(seen.length).toBeGreaterThan(0)
    for (const type of seen) expect(type).toMatch(/^application\/json/)
  })

  it('jsonResponse: true still serves sampling through the GET stream', async () => {
    const { base } = await listen({ jsonResponse: true })
    const { client, getOpened } = await connectV1(base, {
      capabilities: { sampling: {} },
      setup: (c) => c.setRequestHandler(CreateMessageRequestSchema, () => ({ model: 'm', role: 'assistant', content: { type: 'text', text: 'via GET' } })),
    })
    await within(getOpened, 3000, 'the standalone GET stream')
    expect(textOf(await client.callTool({ name: 'sample', arguments: { prompt: 'p' } }))).toBe('via GET')
  })

  for (const version of ['2025-03-26', '2025-06-18', '2025-11-25']) {
    it(`a client at protocol ${version} works end to end`, async () => {
      const { base } = await listen()
      const headers: Array<string | null> = []
      const { client, transport } = await connectV1(base, {
        protocolVersion: version,
        capabilities: { sampling: {} },
        setup: (c) => c.setRequestHandler(CreateMessageRequestSchema, () => ({ model: 'm', role: 'assistant', content: { type: 'text', text: `at ${version}` } })),
        fetch: async (url, init, next) => {
          if (init?.method === 'POST') headers.push(new Headers(init.headers).get('mcp-protocol-version'))
          return next(url, init)
        },
      })
      expect(transport.protocolVersion).toBe(version)
      const whoami = JSON.parse(textOf(await client.callTool({ name: 'whoami', arguments: {} }))) as { protocolVersion: string }
      expect(whoami.protocolVersion).toBe(version)
      expect(textOf(await client.callTool({ name: 'echo', arguments: { text: version } }))).toBe(version)
      expect(textOf(await client.callTool({ name: 'sample', arguments: { prompt: 'x' } }))).toBe(`at ${version}`)
      // After initialize every POST carries the negotiated version, and the proxy accepts it.
      expect(headers[0]).toBeNull()
      expect(headers.slice(1).every((h) => h === version)).toBe(true)
    })
  }

  it('terminateSession ends the session: the next request is refused with 404', async () => {
    const { base } = await listen()
    const { client, transport } = await connectV1(base)
    const sessionId = transport.sessionId
    expect(sessionId).toBeTruthy()
    await transport.terminateSession()
    const response = await fetch(`${base}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': sessionId! },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    })
    expect(response.status).toBe(404)
    await response.body?.cancel()
    await client.close()
  })
})
