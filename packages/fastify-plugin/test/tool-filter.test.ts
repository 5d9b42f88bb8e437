// allowedTools / deniedTools through the real plugin, in front of the everything fixture: a hidden tool is
// absent from tools/list and its call is answered -32602 "Unknown tool" without reaching the server, on a
// 2025 session, in stateless mode, and on the 2026-07-28 leg.
import { describe, expect, it } from 'vitest'
import { buildApp, listen } from './helpers.js'
import { answersOf, initSession, post, rpcRequest } from './http-helpers.js'
import { modernCall, modernRequest, postModern, readAnswer } from './modern-helpers.js'

const FILTER = { fixture: 'everything-legacy', allowedTools: ['test_*'], deniedTools: ['test_image_*', 'test_audio_content'] }
const callOf = (id: number, name: string): Record<string, unknown> => rpcRequest(id, 'tools/call', { name, arguments: {} })

function toolNames(answer: Record<string, unknown> | undefined): string[] {
  return ((answer?.result as { tools?: Array<{ name: string }> } | undefined)?.tools ?? []).map((tool) => tool.name)
}

function expectHidden(names: string[]): void {
  expect(names).toContain('test_simple_text')
  expect(names).not.toContain('test_image_content')
  expect(names).not.toContain('test_audio_content')
  expect(names.every((name) => name.startsWith('test_'))).toBe(true)
}

describe('tool filter (allowedTools, deniedTools)', () => {
  it('a 2025 session: tools/list leaves hidden tools out; calling one is -32602 Unknown tool; the others work', async () => {
    const app = await buildApp(FILTER)
    const { sessionId } = await initSession(app)
    const headers = { 'mcp-session-id': sessionId }
    expectHidden(toolNames(answersOf(await post(app, rpcRequest(2, 'tools/list'), headers))[0]))
    const refused = answersOf(await post(app, callOf(3, 'test_image_content'), headers))[0]
    expect(refused).toMatchObject({ id: 3, error: { code: -32602, message: 'Unknown tool: test_image_content' } })
    const served = answersOf(await post(app, callOf(4, 'test_simple_text'), headers))[0]
    expect(served).toMatchObject({ id: 4, result: { content: [{ type: 'text' }] } })
  })

  it('stateless mode: the same', async () => {
    const app = await buildApp({ ...FILTER, stateless: true })
    expectHidden(toolNames(answersOf(await post(app, rpcRequest(1, 'tools/list')))[0]))
    expect(answersOf(await post(app, callOf(2, 'test_audio_content')))[0]).toMatchObject({ id: 2, error: { code: -32602 } })
  })

  it('the 2026-07-28 leg: the same', async () => {
    const { base } = await listen(FILTER)
    const list = await readAnswer(await postModern(base, modernRequest(1, 'tools/list')))
    expectHidden(toolNames(list.messages.find((m) => m.id === 1)))
    const refused = await readAnswer(await postModern(base, modernCall(2, 'test_image_content')))
    expect(refused.messages.find((m) => m.id === 2)).toMatchObject({ error: { code: -32602, message: 'Unknown tool: test_image_content' } })
    const served = await readAnswer(await postModern(base, modernCall(3, 'test_simple_text')))
    expect(served.messages.find((m) => m.id === 3)).toMatchObject({ result: { content: [{ type: 'text' }] } })
  })
})
