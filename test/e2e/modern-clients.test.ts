// End to end: real clients negotiate MCP 2026-07-28 ("modern") through the built CLI, next to a 2025 client on
// the same /mcp endpoint at the same time.
// - the v2 client (@modelcontextprotocol/client 2.4.0) with `versionNegotiation: { mode: 'auto' }`: it probes
//   `server/discover` and, on a result, stays modern (no initialize, no session);
// - the Vercel AI SDK's client (@ai-sdk/mcp 2.0.99, `http` transport): it probes `server/discover` by default
//   (`protocolVersionDiscovery`, default true) and keeps 2026-07-28 when the probe answers; it has no progress
//   API (its callTool sends no progressToken and it reports any server notification as an error), so its
//   progress tool runs without a token;
// - the v1 client (@modelcontextprotocol/sdk 1.32.2) sends `initialize` and gets a 2025-11-25 session with its
//   own child.
// Each client's HTTP exchanges are recorded through its transport's `fetch` option (the wire evidence), and the
// proxy's /ready tells from the outside which requests opened sessions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client, StreamableHTTPClientTransport, type CallToolResult } from '@modelcontextprotocol/client'
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { Progress } from '@modelcontextprotocol/sdk/types.js'
import { createMCPClient, type MCPClient } from '@ai-sdk/mcp'
import { EVERYTHING_LEGACY, proxyForFile, proxyInFrontOfEverything, recorder, waitFor, within, type Proxy, type Recorder } from './helpers.js'

const MODERN = '2026-07-28'
const LEGACY = '2025-11-25'

const legacyFixture = proxyForFile(EVERYTHING_LEGACY)
const everything = proxyInFrontOfEverything()

/** The text of every text content item of a tool result (any client's). */
function texts(result: unknown): string {
  return (result as CallToolResult).content.flatMap((c) => (c.type === 'text' ? [c.text] : [])).join('\n')
}

/** What /ready reports (the part these tests read). */
interface Readiness {
  sessions: number
  modern?: { state: string; era: string }
}

async function readiness(proxy: Proxy): Promise<Readiness> {
  const response = await within(fetch(`${proxy.base}/ready`), 5000, 'GET /ready')
  return (await response.json()) as Readiness
}

/** The error reports of an AI SDK client, one line each. */
function describeError(error: unknown): string {
  return error instanceof Error ? `${error.message}${error.cause instanceof Error ? ` (cause: ${error.cause.message})` : ''}` : String(error)
}

/** A v2 client with `versionNegotiation: { mode: 'auto' }` (not connected yet). */
function autoClient(): Client {
  return new Client({ name: 'e2e-v2-auto', version: '2.4.0' }, { versionNegotiation: { mode: 'auto' } })
}

/** Connect a v2 client to the proxy's /mcp through `wire`. */
function connectV2(client: Client, proxy: Proxy, wire: Recorder): Promise<void> {
  return client.connect(new StreamableHTTPClientTransport(proxy.streamable, { fetch: wire.fetch }))
}

/** An AI SDK client (`http` transport, defaults: it probes server/discover), connected through `wire`. */
async function aiClient(proxy: Proxy, wire: Recorder, reported: string[]): Promise<MCPClient> {
  return within(
    createMCPClient({
      transport: { type: 'http', url: proxy.streamable.href, fetch: wire.fetch },
      clientName: 'e2e-ai-sdk',
      onUncaughtError: (error) => reported.push(describeError(error)),
    }),
    10_000,
    'createMCPClient',
  )
}

/** The wire of a modern client: discover first, then only 2026-07-28 POSTs, never initialize, GET or a session. */
function expectModernWire(wire: Recorder): void {
  const first = wire.exchanges[0]
  expect(first, wire.describe()).toMatchObject({ verb: 'POST', method: 'server/discover', claim: MODERN, status: 200 })
  expect(first?.contentType, wire.describe()).toMatch(/^application\/json/)
  for (const exchange of wire.exchanges) {
    expect(exchange.verb, wire.describe()).toBe('POST')
    expect(exchange.method, wire.describe()).not.toBe('initialize')
    expect(exchange.claim, wire.describe()).toBe(MODERN)
    expect(exchange.headers['mcp-protocol-version'], wire.describe()).toBe(MODERN)
    expect(exchange.headers['mcp-method'], wire.describe()).toBe(exchange.method)
    expect(exchange.headers['mcp-session-id'], wire.describe()).toBeUndefined()
    expect(exchange.sessionId, wire.describe()).toBeUndefined()
    expect(exchange.status, wire.describe()).toBe(200)
  }
}

/** The `progress` values, strictly increasing. */
function expectIncreasing(events: Progress[]): void {
  const values = events.map((e) => e.progress)
  expect(values.length).toBeGreaterThanOrEqual(3)
  for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThan(values[i - 1]!)
}

describe('2026-07-28 and 2025-11-25 clients on one proxy (fixtures/everything-legacy.mjs)', { timeout: 20_000 }, () => {
  const v2Wire = recorder()
  const v1Wire = recorder()
  const aiWire = recorder()
  const aiReported: string[] = []
  let v2: Client | undefined
  let v1: V1Client | undefined
  let v1Transport: V1Transport | undefined
  let ai: MCPClient | undefined

  beforeAll(async () => {
    // the v2 and the v1 client connect at the same time
    v2 = autoClient()
    v1 = new V1Client({ name: 'e2e-v1', version: '1.32.2' })
    v1Transport = new V1Transport(legacyFixture().streamable, { fetch: v1Wire.fetch })
    await within(Promise.all([connectV2(v2, legacyFixture(), v2Wire), v1.connect(v1Transport)]), 10_000, 'the v2 and the v1 client to connect')
    ai = await aiClient(legacyFixture(), aiWire, aiReported)
  })

  afterAll(async () => {
    await Promise.all([v2 && within(v2.close(), 5000, 'v2 close()'), v1 && within(v1.close(), 5000, 'v1 close()'), ai && within(ai.close(), 5000, 'AI SDK close()')])
  })

  describe('v2 client, versionNegotiation auto', () => {
    it('negotiates 2026-07-28 through server/discover, without initialize or a session', () => {
      expect(v2!.getNegotiatedProtocolVersion(), v2Wire.describe()).toBe(MODERN)
      expect(v2!.getProtocolEra()).toBe('modern')
      expect(v2!.getServerVersion()?.name).toBe('everything-legacy')
      expect(v2!.getDiscoverResult()?.supportedVersions).toEqual([MODERN])
      expectModernWire(v2Wire)
    })

    it('lists tools and calls test_simple_text and test_custom_headers (its region echoed, mirrored in Mcp-Param-Region)', async () => {
      const { tools } = await v2!.listTools()
      expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['test_simple_text', 'test_tool_with_progress', 'test_custom_headers']))
      expect(texts(await v2!.callTool({ name: 'test_simple_text', arguments: {} }))).toBe('This is a simple text response for testing.')
      expect(texts(await v2!.callTool({ name: 'test_custom_headers', arguments: { region: 'eu-west-1' } }))).toBe('Region: eu-west-1')
      const call = v2Wire.exchanges.find((e) => e.method === 'tools/call' && e.headers['mcp-name'] === 'test_custom_headers')
      expect(call?.headers['mcp-param-region'], v2Wire.describe()).toBe('eu-west-1')
      expectModernWire(v2Wire)
    })

    it('sees the progress of test_tool_with_progress (increasing; the answer switched to SSE)', async () => {
      const events: Progress[] = []
      const result = await v2!.callTool({ name: 'test_tool_with_progress', arguments: {} }, { onprogress: (progress) => events.push(progress) })
      expect(texts(result)).toMatch(/^Progress test completed \(token: /)
      expect(texts(result)).not.toContain('token: none')
      expectIncreasing(events)
      expect(events.map((e) => e.total)).toEqual(events.map(() => 100))
      const call = v2Wire.exchanges.find((e) => e.method === 'tools/call' && e.headers['mcp-name'] === 'test_tool_with_progress')
      expect(call?.contentType, v2Wire.describe()).toMatch(/^text\/event-stream/)
      expectModernWire(v2Wire)
    })

    it('lists resources and reads a static one and a templated one', async () => {
      const { resources } = await v2!.listResources()
      expect(resources.map((r) => r.uri)).toEqual(expect.arrayContaining(['test://static-text', 'test://static-binary']))
      const { resourceTemplates } = await v2!.listResourceTemplates()
      expect(resourceTemplates.map((t) => t.uriTemplate)).toEqual(['test://template/{id}/data'])
      const text = await v2!.readResource({ uri: 'test://static-text' })
      expect(text.contents[0]).toMatchObject({ uri: 'test://static-text', mimeType: 'text/plain' })
      const templated = await v2!.readResource({ uri: 'test://template/42/data' })
      expect(templated.contents[0]).toMatchObject({ uri: 'test://template/42/data', mimeType: 'application/json' })
      expect(JSON.parse((templated.contents[0] as { text: string }).text)).toMatchObject({ id: '42', templateTest: true })
      expectModernWire(v2Wire)
    })

    it('lists prompts and gets one with arguments', async () => {
      const { prompts } = await v2!.listPrompts()
      expect(prompts.map((p) => p.name)).toEqual(expect.arrayContaining(['test_simple_prompt', 'test_prompt_with_arguments']))
      const prompt = await v2!.getPrompt({ name: 'test_prompt_with_arguments', arguments: { arg1: 'first', arg2: 'second' } })
      expect(prompt.messages).toEqual([{ role: 'user', content: { type: 'text', text: "Prompt with arguments: arg1='first', arg2='second'" } }])
      expectModernWire(v2Wire)
    })
  })

  describe('v1 client at the same time', () => {
    it('stays on 2025-11-25, in a session of its own', () => {
      expect(v1Transport!.protocolVersion, v1Wire.describe()).toBe(LEGACY)
      expect(v1Transport!.sessionId, v1Wire.describe()).toEqual(expect.any(String))
      expect(v1!.getServerVersion()?.name).toBe('everything-legacy')
      expect(v1Wire.exchanges[0], v1Wire.describe()).toMatchObject({ verb: 'POST', method: 'initialize', status: 200, sessionId: v1Transport!.sessionId })
      expect(v1Wire.exchanges.filter((e) => e.claim !== undefined || e.method === 'server/discover'), v1Wire.describe()).toEqual([])
    })

    it('calls tools while the v2 client calls tools, each with its own progress', async () => {
      const v1Progress: Progress[] = []
      const v2Progress: Progress[] = []
      const [v1Slow, v2Slow, v1Simple, v2Region] = await within(
        Promise.all([
          v1!.callTool({ name: 'test_tool_with_progress', arguments: {} }, undefined, { onprogress: (p) => v1Progress.push(p) }),
          v2!.callTool({ name: 'test_tool_with_progress', arguments: {} }, { onprogress: (p) => v2Progress.push(p) }),
          v1!.callTool({ name: 'test_simple_text', arguments: {} }),
          v2!.callTool({ name: 'test_custom_headers', arguments: { region: 'us-east-2' } }),
        ]),
        10_000,
        'four concurrent tool calls',
      )
      expect(texts(v1Slow)).toMatch(/^Progress test completed \(token: /)
      expect(texts(v2Slow)).toMatch(/^Progress test completed \(token: /)
      expect(texts(v1Simple)).toBe('This is a simple text response for testing.')
      expect(texts(v2Region)).toBe('Region: us-east-2')
      expectIncreasing(v1Progress)
      expectIncreasing(v2Progress)
      expect(v1Wire.exchanges.filter((e) => e.verb === 'POST').every((e) => e.status === 200 || e.status === 202), v1Wire.describe()).toBe(true)
      expectModernWire(v2Wire)
    })
  })

  describe('AI SDK client', () => {
    it('probes server/discover and keeps 2026-07-28 (no initialize, no GET stream, no session)', () => {
      expect(ai!.initializeResult.protocolVersion, aiWire.describe()).toBe(MODERN)
      expect(ai!.serverInfo.name).toBe('everything-legacy')
      expect(ai!.initializeResult.capabilities.tools).toBeDefined()
      expectModernWire(aiWire)
    })

    it('executes tools (test_simple_text; test_custom_headers with Mcp-Param-Region; test_tool_with_progress, which it cannot ask progress of)', async () => {
      const tools = await within(ai!.tools(), 10_000, 'tools()')
      expect(Object.keys(tools)).toEqual(expect.arrayContaining(['test_simple_text', 'test_custom_headers', 'test_tool_with_progress']))
      const options = { toolCallId: 'e2e-call', messages: [], context: {}, abortSignal: AbortSignal.timeout(10_000) }
      expect(texts(await tools.test_simple_text!.execute({}, options))).toBe('This is a simple text response for testing.')
      expect(texts(await tools.test_custom_headers!.execute({ region: 'ap-south-1' }, options))).toBe('Region: ap-south-1')
      const call = aiWire.exchanges.find((e) => e.method === 'tools/call' && e.headers['mcp-name'] === 'test_custom_headers')
      expect(call?.headers['mcp-param-region'], aiWire.describe()).toBe('ap-south-1')
      expect(texts(await tools.test_tool_with_progress!.execute({}, options))).toBe('Progress test completed (token: none).')
      expectModernWire(aiWire)
    })

    it('lists and reads resources, lists prompts and gets one', async () => {
      const { resources } = await ai!.listResources()
      expect(resources.map((r) => r.uri)).toEqual(expect.arrayContaining(['test://static-text']))
      const read = await ai!.readResource({ uri: 'test://static-text' })
      expect(read.contents[0]).toMatchObject({ uri: 'test://static-text', mimeType: 'text/plain' })
      const { prompts } = await ai!.listPrompts()
      expect(prompts.map((p) => p.name)).toEqual(expect.arrayContaining(['test_simple_prompt']))
      const prompt = await ai!.getPrompt({ name: 'test_prompt_with_arguments', arguments: { arg1: 'x', arg2: 'y' } })
      expect(prompt.messages[0]?.content).toEqual({ type: 'text', text: "Prompt with arguments: arg1='x', arg2='y'" })
      expectModernWire(aiWire)
    })

    it('reports no error (onUncaughtError)', () => {
      expect(aiReported, aiWire.describe()).toEqual([])
    })
  })

  describe('from the proxy side', () => {
    it('/ready: the only session is the v1 client\'s; the shared modern child is up and fronts a 2025 server', async () => {
      const ready = await readiness(legacyFixture())
      expect(ready.sessions).toBe(1)
      expect(ready.modern).toMatchObject({ state: 'up', era: 'legacy' })
    })

    it('/ready: no session left once the v1 client ended its own, while the modern clients keep working', async () => {
      await within(v1Transport!.terminateSession(), 5000, 'DELETE of the v1 session')
      await waitFor(async () => (await readiness(legacyFixture())).sessions === 0, 5000, () => 'the v1 session to close')
      expect(texts(await v2!.callTool({ name: 'test_simple_text', arguments: {} }))).toBe('This is a simple text response for testing.')
      const tools = await within(ai!.tools(), 10_000, 'tools()')
      const options = { toolCallId: 'e2e-call-2', messages: [], context: {}, abortSignal: AbortSignal.timeout(10_000) }
      expect(texts(await tools.test_simple_text!.execute({}, options))).toBe('This is a simple text response for testing.')
      expect((await readiness(legacyFixture())).sessions).toBe(0)
      expectModernWire(v2Wire)
      expectModernWire(aiWire)
    })
  })
})

describe('2026-07-28 clients in front of the real server-everything', { timeout: 20_000 }, () => {
  const v2Wire = recorder()
  const aiWire = recorder()
  const aiReported: string[] = []
  let v2: Client | undefined
  let ai: MCPClient | undefined

  beforeAll(async () => {
    v2 = autoClient()
    await within(connectV2(v2, everything(), v2Wire), 10_000, 'the v2 client to connect')
    ai = await aiClient(everything(), aiWire, aiReported)
  })

  afterAll(async () => {
    await Promise.all([v2 && within(v2.close(), 5000, 'v2 close()'), ai && within(ai.close(), 5000, 'AI SDK close()')])
  })

  it('both negotiate 2026-07-28', () => {
    expect(v2!.getNegotiatedProtocolVersion(), v2Wire.describe()).toBe(MODERN)
    expect(v2!.getServerVersion()?.name).toBe('mcp-servers/everything')
    expect(ai!.initializeResult.protocolVersion, aiWire.describe()).toBe(MODERN)
    expect(ai!.serverInfo.name).toBe('mcp-servers/everything')
    expectModernWire(v2Wire)
    expectModernWire(aiWire)
  })

  it('v2: echo, get-sum, a long-running operation with progress, a resource and a prompt', async () => {
    expect(texts(await v2!.callTool({ name: 'echo', arguments: { message: 'hi from 2026' } }))).toBe('Echo: hi from 2026')
    expect(texts(await v2!.callTool({ name: 'get-sum', arguments: { a: 19, b: 23 } }))).toContain('42')
    const events: Progress[] = []
    const long = await v2!.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 0.3, steps: 3 } }, { onprogress: (p) => events.push(p) })
    expect(texts(long)).toContain('Long running operation completed')
    expectIncreasing(events)
    const read = await v2!.readResource({ uri: 'demo://resource/dynamic/text/3' })
    expect(read.contents[0]?.uri).toBe('demo://resource/dynamic/text/3')
    const prompt = await v2!.getPrompt({ name: 'simple-prompt' })
    expect(prompt.messages.length).toBeGreaterThan(0)
    expectModernWire(v2Wire)
  })

  it('AI SDK: echo and get-sum, a resource and a prompt; no error reported (no server notification reaches it)', async () => {
    const tools = await within(ai!.tools(), 10_000, 'tools()')
    const options = { toolCallId: 'e2e-call', messages: [], context: {}, abortSignal: AbortSignal.timeout(10_000) }
    expect(texts(await tools.echo!.execute({ message: 'hi from the AI SDK' }, options))).toBe('Echo: hi from the AI SDK')
    expect(texts(await tools['get-sum']!.execute({ a: 20, b: 22 }, options))).toContain('42')
    const read = await ai!.readResource({ uri: 'demo://resource/dynamic/text/3' })
    expect(read.contents[0]?.uri).toBe('demo://resource/dynamic/text/3')
    const prompt = await ai!.getPrompt({ name: 'simple-prompt' })
    expect(prompt.messages.length).toBeGreaterThan(0)
    expectModernWire(aiWire)
    expect(aiReported, aiWire.describe()).toEqual([])
  })

  it('/ready: no session was opened', async () => {
    const ready = await readiness(everything())
    expect(ready.sessions).toBe(0)
    expect(ready.modern).toMatchObject({ state: 'up', era: 'legacy' })
  })
})
