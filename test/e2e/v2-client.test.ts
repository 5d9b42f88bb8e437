// End to end: the v2 client (@modelcontextprotocol/client) over its Streamable HTTP transport, through the
// built CLI, against the real @modelcontextprotocol/server-everything (stdio).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client, StreamableHTTPClientTransport, type CallToolResult, type CreateMessageRequest } from '@modelcontextprotocol/client'
import { proxyInFrontOfEverything } from './helpers.js'

const everything = proxyInFrontOfEverything()

function texts(result: CallToolResult): string {
  return result.content.flatMap((c) => (c.type === 'text' ? [c.text] : [])).join('\n')
}

describe('server-everything over Streamable HTTP (v2 client)', { timeout: 15_000 }, () => {
  let client: Client
  const samplingRequests: CreateMessageRequest['params'][] = []

  beforeAll(async () => {
    client = new Client({ name: 'e2e-v2', version: '2.0.0' }, { capabilities: { sampling: {} } })
    client.setRequestHandler('sampling/createMessage', (request) => {
      samplingRequests.push(request.params)
      return { model: 'e2e-v2-model', role: 'assistant', content: { type: 'text', text: 'sampled by the v2 client' } }
    })
    await client.connect(new StreamableHTTPClientTransport(everything().streamable))
  })

  afterAll(async () => {
    await client?.close()
  })

  it('initializes against the real server', () => {
    expect(client.getServerVersion()?.name).toBe('mcp-servers/everything')
    expect(client.getServerCapabilities()?.tools).toBeDefined()
  })

  it('lists tools', async () => {
    const { tools } = await client.listTools()
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['echo', 'get-sum', 'trigger-sampling-request']))
  })

  it('calls echo and get-sum', async () => {
    expect(texts(await client.callTool({ name: 'echo', arguments: { message: 'hi from v2' } }))).toBe('Echo: hi from v2')
    expect(texts(await client.callTool({ name: 'get-sum', arguments: { a: 19, b: 23 } }))).toContain('42')
  })

  it('round-trips a sampling request from the server to the client', async () => {
    const result = await client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'v2 prompt', maxTokens: 10 } })
    expect(samplingRequests.length).toBe(1)
    expect(JSON.stringify(samplingRequests[0])).toContain('v2 prompt')
    const text = texts(result)
    expect(text).toContain('e2e-v2-model')
    expect(text).toContain('sampled by the v2 client')
  })

  it('reads a resource and gets a prompt', async () => {
    const read = await client.readResource({ uri: 'demo://resource/dynamic/text/3' })
    expect(read.contents[0]?.uri).toBe('demo://resource/dynamic/text/3')
    const prompt = await client.getPrompt({ name: 'simple-prompt' })
    expect(prompt.messages.length).toBeGreaterThan(0)
  })
})
