// End to end: the v2 client (@modelcontextprotocol/client 2.4.0, versionNegotiation auto) drives MRTR through
// the built CLI by itself. In front of fixtures/everything-legacy.mjs (a 2025-11-25 server that asks the old way,
// mid-call), the proxy answers `input_required`; the client's auto-fulfilment dispatches each embedded request
// to the handler registered for it (elicitation, sampling, roots) and retries with `inputResponses` and the
// byte-exact `requestState`, until the call completes. `callTool` and `getPrompt` just return the final result;
// the wire (every HTTP exchange, and the `resultType` of each JSON answer) shows the rounds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client, StreamableHTTPClientTransport, type CallToolResult } from '@modelcontextprotocol/client'
import { EVERYTHING_LEGACY, proxyForFile, recorder, within, type Recorder } from './helpers.js'

const MODERN = '2026-07-28'
const proxy = proxyForFile(EVERYTHING_LEGACY)

/** A recorder that also keeps, per JSON answer, its `result.resultType` (or `error` for an error). */
function mrtrRecorder(): Recorder & { resultTypes: string[] } {
  const wire = recorder()
  const resultTypes: string[] = []
  const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const response = await wire.fetch(input, init)
    if (response.headers.get('content-type')?.startsWith('application/json')) {
      const body = (await response.clone().json()) as { result?: { resultType?: string }; error?: unknown }
      resultTypes.push(body.error !== undefined ? 'error' : (body.result?.resultType ?? '?'))
    }
    return response
  }
  return { ...wire, fetch, resultTypes }
}

function texts(result: unknown): string {
  return (result as CallToolResult).content.flatMap((c) => (c.type === 'text' ? [c.text] : [])).join('\n')
}

describe('v2 client auto-fulfilment through the proxy (fixtures/everything-legacy.mjs)', { timeout: 20_000 }, () => {
  const wire = mrtrRecorder()
  /** What the client's handlers were asked, in order. */
  const asked: string[] = []
  let client: Client | undefined

  beforeAll(async () => {
    client = new Client(
      { name: 'e2e-v2-mrtr', version: '2.4.0' },
      { versionNegotiation: { mode: 'auto' }, capabilities: { elicitation: { form: {} }, sampling: {}, roots: {} } },
    )
    let names = 0
    client.setRequestHandler('elicitation/create', async (request) => {
      asked.push(`elicitation: ${request.params.message}`)
      const property = Object.keys((request.params as { requestedSchema?: { properties?: object } }).requestedSchema?.properties ?? {})[0] ?? 'name'
      return { action: 'accept', content: { [property]: property === 'color' ? 'blue' : `Ada ${++names}` } }
    })
    client.setRequestHandler('sampling/createMessage', async (request) => {
      asked.push('sampling')
      expect(request.params.messages.length).toBeGreaterThan(0)
      return { role: 'assistant', content: { type: 'text', text: 'Paris' }, model: 'e2e-model' }
    })
    client.setRequestHandler('roots/list', async () => {
      asked.push('roots')
      return { roots: [{ uri: 'file:///e2e', name: 'e2e' }] }
    })
    await within(client.connect(new StreamableHTTPClientTransport(proxy().streamable, { fetch: wire.fetch })), 10_000, 'the v2 client to connect')
  })

  afterAll(async () => {
    if (client) await within(client.close(), 5000, 'v2 close()')
  })

  /** The exchanges of tools/call `name` (each a POST of the 2026 era, never a session). */
  function callsOf(name: string) {
    return wire.exchanges.filter((e) => e.method === 'tools/call' && e.headers['mcp-name'] === name)
  }

  it('negotiates 2026-07-28 (server/discover, no initialize, no session)', () => {
    expect(client!.getNegotiatedProtocolVersion(), wire.describe()).toBe(MODERN)
    expect(wire.exchanges.some((e) => e.method === 'initialize' || e.sessionId !== undefined), wire.describe()).toBe(false)
  })

  it('one elicitation: one input_required round, answered by the handler, then the result', async () => {
    const before = wire.resultTypes.length
    const result = await within(client!.callTool({ name: 'test_input_required_result_elicitation', arguments: {} }), 10_000, 'the call')
    expect(texts(result)).toMatch(/^Hello, Ada \d+!$/)
    expect(callsOf('test_input_required_result_elicitation'), wire.describe()).toHaveLength(2)
    expect(wire.resultTypes.slice(before)).toEqual(['input_required', 'complete'])
  })

  it('two rounds in sequence (multi_round), and three requests at once (multiple_inputs) in one round', async () => {
    const before = wire.resultTypes.length
    const twoRounds = await within(client!.callTool({ name: 'test_input_required_result_multi_round', arguments: {} }), 10_000, 'the multi-round call')
    expect(texts(twoRounds)).toMatch(/^Ada \d+ likes blue$/)
    expect(wire.resultTypes.slice(before)).toEqual(['input_required', 'input_required', 'complete'])

    const start = asked.length
    const three = await within(client!.callTool({ name: 'test_input_required_result_multiple_inputs', arguments: {} }), 10_000, 'the multiple-inputs call')
    expect(texts(three)).toMatch(/^name=Ada \d+; greeting=Paris; roots=file:\/\/\/e2e$/)
    expect(asked.slice(start).sort()).toEqual(['elicitation: What is your name?', 'roots', 'sampling'])
    expect(callsOf('test_input_required_result_multiple_inputs'), wire.describe()).toHaveLength(2)
  })

  it('prompts/get asks too', async () => {
    const prompt = await within(client!.getPrompt({ name: 'test_input_required_result_prompt', arguments: {} }), 10_000, 'the prompt')
    expect(prompt.messages[0]?.content).toMatchObject({ type: 'text', text: expect.stringMatching(/^Use this context: /) })
  })
})
