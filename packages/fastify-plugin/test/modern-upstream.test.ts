import { describe, expect, it } from 'vitest'
import { listen } from './helpers.js'

const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 'upstream-test', version: '1.0.0' },
  'io.modelcontextprotocol/clientCapabilities': {},
}

/** A JSON value read back from the wire, looked into by path in assertions. */
interface Wire {
  [key: string]: Wire
}

interface Answer {
  status: number
  messages: Wire[]
}

/** POST one 2026-07-28 request (envelope and headers as the spec wants) and read its JSON or SSE answer. */
async function modern(base: string, id: number, method: string, params: Record<string, unknown> = {}): Promise<Answer> {
  const name = method === 'tools/call' || method === 'prompts/get' ? params.name : method === 'resources/read' ? params.uri : undefined
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': '2026-07-28',
    'mcp-method': method,
    ...(typeof name === 'string' ? { 'mcp-name': name } : {}),
  }
  const body = { jsonrpc: '2.0', id, method, params: { ...params, _meta: { ...ENVELOPE, ...(params._meta as object) } } }
  const response = await fetch(`${base}/mcp`, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(15_000) })
  const text = await response.text()
  const messages = String(response.headers.get('content-type')).startsWith('text/event-stream')
    ? text.split('\n').filter((line) => line.startsWith('data: ')).map((line) => JSON.parse(line.slice(6)) as Wire)
    : [JSON.parse(text) as Wire]
  return { status: response.status, messages }
}

async function ready(base: string): Promise<Wire> {
  return (await (await fetch(`${base}/ready`)).json()) as Wire
}

describe('a 2026-07-28 stdio server behind the modern leg (upstreamProtocol modern)', () => {
  it('passes requests through with their _meta envelope and the answers untranslated; discover is the server\'s own', async () => {
    const { base } = await listen({ fixture: 'modern-server', upstreamProtocol: 'modern' })
    const discover = await modern(base, 1, 'server/discover')
    expect(discover.status).toBe(200)
    // The child's own serverInfo, not one the proxy made up from an initialize it never sent.
    expect(discover.messages[0]).toMatchObject({
      result: { supportedVersions: expect.arrayContaining(['2026-07-28']), _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'modern-server' } } },
    })

    // The SDK child rejects a request without its envelope: an answer proves the envelope went through.
    const echo = await modern(base, 2, 'tools/call', { name: 'echo', arguments: { text: 'through' } })
    expect(echo.status).toBe(200)
    expect(echo.messages[0]).toMatchObject({ id: 2, result: { resultType: 'complete', content: [{ type: 'text', text: 'through' }] } })
    expect((await ready(base)).modern).toMatchObject({ state: 'up', era: 'modern' })
  })

  it('relays progress with the caller\'s own token, then the result, as SSE', async () => {
    const { base } = await listen({ fixture: 'modern-server', upstreamProtocol: 'modern' })
    const answer = await modern(base, 'p' as unknown as number, 'tools/call', { name: 'progress', arguments: { steps: 3 }, _meta: { progressToken: 'mine' } })
    const progress = answer.messages.filter((m) => String(m.method) === 'notifications/progress')
    expect(progress).toMatchObject([{ params: { progressToken: 'mine' } }, { params: { progressToken: 'mine' } }, { params: { progressToken: 'mine' } }])
    expect(answer.messages.at(-1)).toMatchObject({ id: 'p', result: { content: [{ text: 'progress done' }] } })
  })

  it('a method the server does not have is 404 (its -32601 before anything was written)', async () => {
    const { base } = await listen({ fixture: 'modern-server', upstreamProtocol: 'modern' })
    const answer = await modern(base, 3, 'no/such-method')
    expect(answer.status).toBe(404)
    expect(answer.messages[0]).toMatchObject({ id: 3, error: { code: -32601 } })
  })
})

describe('upstreamProtocol auto: the server is asked once which era it speaks', () => {
  it('a 2026-07-28 server is passed through', async () => {
    const { base } = await listen({ fixture: 'modern-server', upstreamProtocol: 'auto' })
    expect((await ready(base)).modern).toMatchObject({ state: 'idle', era: 'auto' })
    const echo = await modern(base, 1, 'tools/call', { name: 'echo', arguments: { text: 'auto' } })
    expect(echo.messages[0]).toMatchObject({ result: { content: [{ text: 'auto' }] } })
    expect((await ready(base)).modern).toMatchObject({ state: 'up', era: 'modern' })
  })

  it('a 2025 server is initialized and translated', async () => {
    const { base } = await listen({ fixture: 'echo-server', upstreamProtocol: 'auto' })
    const echo = await modern(base, 1, 'tools/call', { name: 'echo', arguments: { text: 'legacy' } })
    expect(echo.messages[0]).toMatchObject({
      result: { resultType: 'complete', content: [{ text: 'legacy' }], _meta: { 'io.modelcontextprotocol/serverInfo': { name: expect.any(String) } } },
    })
    expect((await ready(base)).modern).toMatchObject({ state: 'up', era: 'legacy' })
  })
})
