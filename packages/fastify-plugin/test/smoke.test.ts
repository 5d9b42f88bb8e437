import { describe, expect, it } from 'vitest'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js'
import { listen } from './helpers.js'

describe('smoke', () => {
  for (const stateless of [false, true]) {
    it(`streamable http round trip (stateless=${stateless})`, async () => {
      const { base } = await listen({ stateless })
      const client = new Client({ name: 't', version: '1' })
      await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)))
      const tools = await client.listTools()
      expect(tools.tools.map((t) => t.name)).toContain('echo')
      const res = await client.callTool({ name: 'echo', arguments: { text: 'héllo' } })
      expect(res.content).toEqual([{ type: 'text', text: 'héllo' }])
      await client.close()
    })
  }
  it('legacy sse round trip', async () => {
    const { base } = await listen()
    const client = new Client({ name: 't', version: '1' })
    await client.connect(new SSEClientTransport(new URL(`${base}/sse`)))
    const res = await client.callTool({ name: 'echo', arguments: { text: 'x' } })
    expect(res.content).toEqual([{ type: 'text', text: 'x' }])
    await client.close()
  })
})
