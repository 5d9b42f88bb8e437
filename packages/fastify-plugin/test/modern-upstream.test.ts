import { describe, expect, it } from 'vitest'
import { listen } from './helpers.js'
import { exchange, modernCall, modernReport, modernRequest } from './modern-helpers.js'

describe('a 2026-07-28 stdio server behind the modern leg (upstreamProtocol modern)', () => {
  it("passes requests through with their _meta envelope and the answers untranslated; discover is the server's own", async () => {
    const { base } = await listen({ fixture: 'modern-server', upstreamProtocol: 'modern' })
    const discover = await exchange(base, modernRequest(1, 'server/discover'))
    expect(discover.status).toBe(200)
    // The child's own serverInfo, not one the proxy made up from an initialize it never sent.
    expect(discover.answer).toMatchObject({
      result: { supportedVersions: expect.arrayContaining(['2026-07-28']), _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'modern-server' } } },
    })

    // The SDK child rejects a request without its envelope: an answer proves the envelope went through.
    const echo = await exchange(base, modernCall(2, 'echo', { text: 'through' }))
    expect(echo.status).toBe(200)
    expect(echo.answer).toMatchObject({ id: 2, result: { resultType: 'complete', content: [{ type: 'text', text: 'through' }] } })
    expect(await modernReport(base)).toMatchObject({ state: 'up', era: 'modern' })
  })

  it("relays progress with the caller's own token, then the result, as SSE", async () => {
    const { base } = await listen({ fixture: 'modern-server', upstreamProtocol: 'modern' })
    const answer = await exchange(base, modernCall('p', 'progress', { steps: 3 }, { meta: { progressToken: 'mine' } }))
    expect(answer.kind).toBe('sse')
    expect(answer.notifications).toMatchObject([{ params: { progressToken: 'mine' } }, { params: { progressToken: 'mine' } }, { params: { progressToken: 'mine' } }])
    expect(answer.answer).toMatchObject({ id: 'p', result: { content: [{ text: 'progress done' }] } })
  })

  it('a method the server does not have is 404 (its -32601 before anything was written)', async () => {
    const { base } = await listen({ fixture: 'modern-server', upstreamProtocol: 'modern' })
    const answer = await exchange(base, modernRequest(3, 'no/such-method'))
    expect(answer.status).toBe(404)
    expect(answer.answer).toMatchObject({ id: 3, error: { code: -32601 } })
  })
})

describe('upstreamProtocol auto: the server is asked once which era it speaks', () => {
  it('a 2026-07-28 server is passed through', async () => {
    const { base } = await listen({ fixture: 'modern-server', upstreamProtocol: 'auto' })
    expect(await modernReport(base)).toMatchObject({ state: 'idle', era: 'auto' })
    const echo = await exchange(base, modernCall(1, 'echo', { text: 'auto' }))
    expect(echo.answer).toMatchObject({ result: { content: [{ text: 'auto' }] } })
    expect(await modernReport(base)).toMatchObject({ state: 'up', era: 'modern' })
  })

  it('a 2025 server is initialized and translated', async () => {
    const { base } = await listen({ fixture: 'echo-server', upstreamProtocol: 'auto' })
    const echo = await exchange(base, modernCall(1, 'echo', { text: 'legacy' }))
    expect(echo.answer).toMatchObject({
      result: { resultType: 'complete', content: [{ text: 'legacy' }], _meta: { 'io.modelcontextprotocol/serverInfo': { name: expect.any(String) } } },
    })
    expect(await modernReport(base)).toMatchObject({ state: 'up', era: 'legacy' })
  })
})
