// The plugin's drain (option `drain`, `drainTimeout`; `POST /drain` is tested with the built CLI): what it
// refuses, what it keeps serving, what it waits for, and how it is counted.
import Fastify from 'fastify'
import type { TapEvent } from '@proxy/core'
import { describe, expect, it } from 'vitest'
import mcpProxy, { DrainSwitch } from '../src/index.js'
import { buildApp, fixture, listen } from './helpers.js'
import { echoCall, initializeRequest, initSession, post, rpcRequest } from './http-helpers.js'
import { exchange, listenRequest, modernRequest, openListen, resultOf } from './modern-helpers.js'
import { rawSocket } from './failure-helpers.js'

const KEY = 'drain-test-key'
const AUTH = { 'x-api-key': KEY }

/** `name{labels} value` of a metrics text, labels in the order prom-client writes them. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

describe('drain (plugin)', () => {
  it('refuses new sessions (503, Retry-After, MCP_PROXY_DRAINING), serves the open one, ends idle once it is closed; counted in the metrics', async () => {
    const drain = new DrainSwitch()
    const app = await buildApp({ drain, metrics: true, apiKey: KEY, instanceId: 'lib-1', drainTimeout: 60_000 })
    const metrics = async (): Promise<string> => (await app.inject({ method: 'GET', url: '/metrics', headers: AUTH })).body
    expect(sample(await metrics(), 'mcp_proxy_draining')).toBe(0)
    expect(sample(await metrics(), 'mcp_proxy_drains_total{outcome="idle"}')).toBe(0)

    const { sessionId } = await initSession(app, { headers: AUTH })
    const headers = { ...AUTH, 'mcp-session-id': sessionId }
    expect(drain.start('test')).toBe(true)
    expect(drain.start('again')).toBe(false)
    expect(drain.state).toBe('draining')

    const ready = await app.inject({ method: 'GET', url: '/ready' })
    expect(ready.statusCode).toBe(503)
    expect(ready.json()).toMatchObject({ status: 'draining', instance: 'lib-1', sessions: 1 })

    const late = await post(app, initializeRequest(9), AUTH)
    expect(late.statusCode).toBe(503)
    expect(late.headers['retry-after']).toBe('1')
    expect(late.json()).toMatchObject({ id: 9, error: { data: { reason: 'MCP_PROXY_DRAINING' } } })
    const lateSse = await app.inject({ method: 'GET', url: '/sse', headers: { ...AUTH, accept: 'text/event-stream' } })
    expect(lateSse.statusCode).toBe(503)

    const call = await post(app, echoCall(2, 'served while draining'), headers)
    expect(call.statusCode).toBe(200)
    expect(call.body).toContain('served while draining')

    const text = await metrics()
    expect(sample(text, 'mcp_proxy_draining')).toBe(1)
    expect(sample(text, 'mcp_proxy_refusals_total{reason="MCP_PROXY_DRAINING",status="503"}')).toBe(2)

    expect((await app.inject({ method: 'DELETE', url: '/mcp', headers })).statusCode).toBe(200)
    const result = await drain.finished
    expect(result).toMatchObject({ reason: 'test', outcome: 'idle', sessionsLeft: 0, requestsLeft: 0 })
    expect(drain.state).toBe('drained')
    expect(sample(await metrics(), 'mcp_proxy_drains_total{outcome="idle"}')).toBe(1)
    // Drained, not closed: the host decides when to close; until then it stays out of rotation.
    expect((await app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(503)
  })

  it('2026-07-28 traffic is served while draining; an open listen stream holds the drain until the timeout', async () => {
    const drain = new DrainSwitch()
    const { base } = await listen({ drain, drainTimeout: 300 })
    const stream = await openListen(base, 'listen-1', { toolsListChanged: true })
    drain.start('test')
    const answer = await exchange(base, modernRequest('discover', 'server/discover'))
    expect(answer.status).toBe(200)
    expect(resultOf(answer)).toHaveProperty('capabilities')
    const result = await drain.finished
    expect(result).toMatchObject({ outcome: 'timeout', sessionsLeft: 0, requestsLeft: 1 })
    stream.controller.abort()
  })

  it('stateless: no sessions to refuse, initialize still answered; a call in flight is waited for', async () => {
    const drain = new DrainSwitch()
    let reachedChild!: () => void
    const sent = new Promise<void>((resolve) => (reachedChild = resolve))
    // Where the drain stood when the child answered (the HTTP answer is written after): it must still be waiting.
    let stateAtAnswer: string | undefined
    const tap = (event: TapEvent): void => {
      if (event.type === 'to-child' && 'method' in event.message && event.message.method === 'tools/call') reachedChild()
      if (event.type === 'request-done' && event.method === 'tools/call') stateAtAnswer = drain.state
    }
    const { base } = await listen({ drain, stateless: true, drainTimeout: 20_000, tap })
    const slow = fetch(`${base}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18' },
      body: JSON.stringify(rpcRequest('slow', 'tools/call', { name: 'slow', arguments: { ms: 500 } })),
    }).then(async (res) => ({ status: res.status, text: await res.text() }))
    await sent
    drain.start('test')
    const init = await fetch(`${base}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify(initializeRequest(1)),
    })
    expect(init.status).toBe(200)
    await init.text()
    expect(await slow).toMatchObject({ status: 200 })
    expect(await drain.finished).toMatchObject({ outcome: 'idle', requestsLeft: 0 })
    expect(stateAtAnswer).toBe('draining')
  })

  it('a request pipelined behind a stream on a socket that dies is not waited for', async () => {
    const drain = new DrainSwitch()
    const { app, base } = await listen({ drain, drainTimeout: 60_000 })
    const port = Number(new URL(base).port)
    const socket = await rawSocket(port)
    socket.on('error', () => {})
    const head = (body: string): string =>
      `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n` +
      `Mcp-Protocol-Version: 2026-07-28\r\nMcp-Method: subscriptions/listen\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
    // A listen stream (it never ends by itself), and a second request queued behind it on the same socket.
    const listenBody = JSON.stringify(listenRequest('l1', { toolsListChanged: true }))
    const opened = new Promise<void>((resolve) => socket.once('data', () => resolve()))
    socket.write(head(listenBody) + head(JSON.stringify(listenRequest('l2', { toolsListChanged: true }))))
    await opened
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
    socket.destroy()
    await closed
    drain.start('test')
    expect(await drain.finished).toMatchObject({ outcome: 'idle', requestsLeft: 0 })
    await app.close()
  })

  it('a drain started before the plugin is ready takes effect when it is; one switch serves one registration', async () => {
    const drain = new DrainSwitch()
    drain.start('early')
    const app = await buildApp({ drain })
    expect((await app.inject({ method: 'GET', url: '/ready' })).json()).toMatchObject({ status: 'draining' })
    expect(await drain.finished).toMatchObject({ reason: 'early', outcome: 'idle' })

    const other = Fastify({ logger: false })
    await expect(other.register(mcpProxy, { command: process.execPath, args: [fixture('echo-server')], drain }).ready()).rejects.toThrow(/one plugin instance/)
    await other.close()
  })
})
