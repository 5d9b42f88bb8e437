import { describe, expect, it } from 'vitest'
import type { TapEvent } from '@proxy/core'
import { buildApp } from './helpers.js'
import { answersOf, echoCall, initSession, post, rpcRequest } from './http-helpers.js'

/** A plugin whose tap listener records every event. */
async function tapped(options: Parameters<typeof buildApp>[0] = {}) {
  const events: TapEvent[] = []
  const app = await buildApp({ ...options, tap: (event) => events.push(event) })
  const ofType = <T extends TapEvent['type']>(type: T) => events.filter((e): e is Extract<TapEvent, { type: T }> => e.type === type)
  return { app, events, ofType }
}

describe('the message tap (plugin option `tap`)', () => {
  it('sees a session open, its child spawn, every message both ways, and each finished request with its method, target and outcome', async () => {
    const { app, ofType } = await tapped()
    const { sessionId } = await initSession(app)
    const call = await post(app, echoCall(7, 'tapped'), { 'mcp-session-id': sessionId })
    expect(answersOf(call).at(-1)).toMatchObject({ id: 7 })
    expect(ofType('session-opened')).toMatchObject([{ session: sessionId, transport: 'streamable' }])
    expect(ofType('child-spawned').length).toBeGreaterThanOrEqual(1)
    expect(ofType('to-child').map((e) => ('method' in e.message ? e.message.method : 'answer'))).toEqual(
      expect.arrayContaining(['initialize', 'notifications/initialized', 'tools/call']),
    )
    expect(ofType('from-child').some((e) => 'id' in e.message && e.message.id !== undefined)).toBe(true)
    const done = ofType('request-done').find((e) => e.method === 'tools/call')
    expect(done).toMatchObject({ target: 'echo', id: 7, outcome: 'ok', errorCode: undefined, scope: { era: 'legacy', session: sessionId } })
    expect(done!.durationMs).toBeGreaterThanOrEqual(0)
  })

  it('reports a refusal once its answer is sent, by its stable reason and status', async () => {
    const { app, ofType } = await tapped()
    const res = await post(app, rpcRequest(1, 'tools/list'), { 'mcp-session-id': 'nope' })
    expect(res.statusCode).toBe(404)
    expect(ofType('refused')).toEqual([{ type: 'refused', reason: 'MCP_PROXY_UNKNOWN_SESSION', status: 404 }])
  })

  it('a failed request is reported with its error code; a listener that throws breaks nothing', async () => {
    let thrown = 0
    const events: TapEvent[] = []
    const app = await buildApp({
      tap: (event) => {
        events.push(event)
        thrown++
        throw new Error('a buggy listener')
      },
    })
    const { sessionId } = await initSession(app)
    const res = await post(app, rpcRequest(3, 'no/such-method'), { 'mcp-session-id': sessionId })
    expect(answersOf(res).at(-1)).toMatchObject({ id: 3, error: { code: -32601 } })
    expect(events.find((e) => e.type === 'request-done' && e.method === 'no/such-method')).toMatchObject({ outcome: 'error', errorCode: -32601 })
    expect(thrown).toBeGreaterThan(0)
  })

  it('an async listener that rejects, or throws a value the log cannot show, breaks nothing; each listener is reported once', async () => {
    const reports: unknown[] = []
    const app = await buildApp({
      tap: async (event) => {
        if (event.type === 'request-done') throw new Error('an async listener bug')
      },
    })
    const { sessionId } = await initSession(app)
    for (const id of [1, 2, 3]) expect(answersOf(await post(app, echoCall(id, 'still served'), { 'mcp-session-id': sessionId })).at(-1)).toMatchObject({ id })
    // The core Tap: a rejection and an unreportable throw are both contained, and reported once.
    const { Tap } = await import('@proxy/core')
    const tap = new Tap()
    tap.onListenerError = (error) => {
      reports.push(error)
      throw new Error('the reporter itself fails')
    }
    tap.subscribe(() => {
      throw { get message(): string { throw new Error('unserializable') } }
    })
    const rejecting = tap.subscribe(async () => Promise.reject(new Error('later')))
    for (let i = 0; i < 3; i++) tap.emit({ type: 'stream-opened', kind: 'get' })
    await new Promise((resolve) => setImmediate(resolve))
    expect(reports).toHaveLength(2)
    rejecting()
  })

  it('refuses a tap that is not a function', async () => {
    await expect(buildApp({ tap: 'yes' as unknown as () => void })).rejects.toThrow(/tap must be a function/)
  })
})
