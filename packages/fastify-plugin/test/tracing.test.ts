// Option `tracing`: an `mcp.server` span per request sent to the MCP server (collected here by the SDK's
// in-memory exporter), its parent taken from `params._meta.traceparent` or the HTTP `traceparent` header,
// and its own context handed to the child in `params._meta` — read back from the echo fixture with its
// `received` tool, which reports the params of every request of a method that reached it.
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-node'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { Tap } from '@proxy/core'
import { buildApp, listen } from './helpers.js'
import { answersOf, echoCall, fetchWithin, initializeRequest, initSession, LATEST, openStream, post, rpcNotification, rpcRequest } from './http-helpers.js'
import { exchange, fixtureCall, modernCall, textOfAnswer } from './modern-helpers.js'

const exporter = new InMemorySpanExporter()
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })

beforeAll(() => {
  // What a host does: an SDK with the W3C propagator and the AsyncLocalStorage context manager.
  provider.register()
})
// Reset before each test, not after: the apps of the last test close (and their children's spans end) after it.
beforeEach(() => exporter.reset())
afterEach(() => {
  vi.restoreAllMocks()
})
afterAll(async () => {
  await provider.shutdown()
  trace.disable()
  propagation.disable()
  context.disable()
})

// A caller's trace: trace id and the caller's span id, as a W3C traceparent.
const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
const CALLER_SPAN = '00f067aa0ba902b7'
const CALLER_TRACEPARENT = `00-${CALLER_TRACE}-${CALLER_SPAN}-01`
const HEADER_TRACE = '0af7651916cd43dd8448eb211c80319c'
const HEADER_SPAN = 'b7ad6b7169203331'
const HEADER_TRACEPARENT = `00-${HEADER_TRACE}-${HEADER_SPAN}-01`

const spans = (): ReadableSpan[] => exporter.getFinishedSpans()
const spanNamed = (name: string): ReadableSpan => {
  const found = spans().filter((span) => span.name === name)
  expect(found.map((span) => span.name), `spans: ${spans().map((s) => s.name).join(', ')}`).toEqual([name])
  return found[0]!
}

/** The params of the `method` requests the echo child received, read back through its `received` tool. */
async function receivedBySession(app: Awaited<ReturnType<typeof buildApp>>, sessionId: string, method: string): Promise<Array<Record<string, unknown>>> {
  const res = await post(app, rpcRequest(900, 'tools/call', { name: 'received', arguments: { method } }), { 'mcp-session-id': sessionId })
  const answer = answersOf(res).find((m) => m.id === 900) as { result: { content: Array<{ text: string }> } }
  return JSON.parse(answer.result.content[0]!.text) as Array<Record<string, unknown>>
}

const metaOf = (params: Record<string, unknown> | undefined): Record<string, unknown> => (params?._meta ?? {}) as Record<string, unknown>

describe('tracing (plugin option `tracing: true`, an SDK registered by the host)', () => {
  it('a session call: one mcp.server span named "tools/call echo" with the convention attributes, child of the caller\'s _meta.traceparent', async () => {
    const app = await buildApp({ tracing: true })
    const { sessionId } = await initSession(app)
    const call = echoCall(7, 'traced')
    ;(call.params as Record<string, unknown>)._meta = { traceparent: CALLER_TRACEPARENT, tracestate: 'vendor=1', progressToken: 'p1' }
    const res = await post(app, call, { 'mcp-session-id': sessionId, 'mcp-protocol-version': LATEST })
    expect(answersOf(res).at(-1)).toMatchObject({ id: 7, result: { content: [{ text: 'traced' }] } })

    const span = spanNamed('tools/call echo')
    expect(span.kind).toBe(SpanKind.SERVER)
    expect(span.attributes).toMatchObject({
      'mcp.method.name': 'tools/call',
      'jsonrpc.request.id': '7',
      'mcp.session.id': sessionId,
      'mcp.protocol.version': LATEST,
      'gen_ai.tool.name': 'echo',
      'gen_ai.operation.name': 'execute_tool',
      'network.transport': 'tcp',
      'network.protocol.name': 'http',
      'network.protocol.version': '1.1',
      'mcp_proxy.outcome': 'ok',
    })
    expect(span.attributes).not.toHaveProperty('error.type')
    expect(span.status.code).toBe(SpanStatusCode.UNSET)
    expect(span.spanContext().traceId).toBe(CALLER_TRACE)
    expect(span.parentSpanContext?.spanId).toBe(CALLER_SPAN)
    expect(span.spanContext().traceState?.serialize()).toBe('vendor=1')
    // The session's initialize went to the child too: it has its span (no tool, a root: no trace context given).
    expect(spanNamed('initialize').attributes).toMatchObject({ 'mcp.method.name': 'initialize', 'mcp.session.id': sessionId, 'jsonrpc.request.id': '1' })

    // The child got the same trace, with the proxy's span as parent; the rest of _meta passes.
    const echo = (await receivedBySession(app, sessionId, 'tools/call')).find((params) => params.name === 'echo')
    expect(metaOf(echo)).toEqual({
      traceparent: `00-${CALLER_TRACE}-${span.spanContext().spanId}-01`,
      tracestate: 'vendor=1',
      progressToken: 'p1',
    })
  })

  it('no _meta trace context: the parent is the HTTP request\'s traceparent header, and the child continues that trace', async () => {
    const app = await buildApp({ tracing: true })
    const { sessionId } = await initSession(app)
    await post(app, echoCall(8, 'header'), { 'mcp-session-id': sessionId, traceparent: HEADER_TRACEPARENT })
    const span = spanNamed('tools/call echo')
    expect(span.spanContext().traceId).toBe(HEADER_TRACE)
    expect(span.parentSpanContext?.spanId).toBe(HEADER_SPAN)
    expect(span.links).toEqual([])
    const echo = (await receivedBySession(app, sessionId, 'tools/call')).find((params) => params.name === 'echo')
    expect(metaOf(echo).traceparent).toBe(`00-${HEADER_TRACE}-${span.spanContext().spanId}-01`)
  })

  it('both: _meta wins as the parent, and the HTTP request\'s context becomes a link', async () => {
    const app = await buildApp({ tracing: true })
    const { sessionId } = await initSession(app)
    const call = echoCall(9, 'both')
    ;(call.params as Record<string, unknown>)._meta = { traceparent: CALLER_TRACEPARENT }
    await post(app, call, { 'mcp-session-id': sessionId, traceparent: HEADER_TRACEPARENT })
    const span = spanNamed('tools/call echo')
    expect(span.spanContext().traceId).toBe(CALLER_TRACE)
    expect(span.parentSpanContext?.spanId).toBe(CALLER_SPAN)
    expect(span.links.map((link) => [link.context.traceId, link.context.spanId])).toEqual([[HEADER_TRACE, HEADER_SPAN]])
  })

  it('no trace context at all: the span is a root, and the child still gets the proxy\'s context', async () => {
    const app = await buildApp({ tracing: true })
    const { sessionId } = await initSession(app)
    await post(app, echoCall(10, 'root'), { 'mcp-session-id': sessionId })
    const span = spanNamed('tools/call echo')
    expect(span.parentSpanContext).toBeUndefined()
    const echo = (await receivedBySession(app, sessionId, 'tools/call')).find((params) => params.name === 'echo')
    expect(metaOf(echo).traceparent).toBe(`00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`)
  })

  it('errors: -32601 is the caller\'s mistake (status code recorded, not an error); a timeout is an ERROR with error.type "timeout"', async () => {
    const app = await buildApp({ tracing: true, requestTimeout: 200 })
    const { sessionId } = await initSession(app)
    await post(app, rpcRequest(11, 'no/such-method'), { 'mcp-session-id': sessionId })
    const refused = spanNamed('no/such-method')
    expect(refused.attributes).toMatchObject({ 'rpc.response.status_code': '-32601', 'mcp_proxy.outcome': 'error' })
    expect(refused.attributes).not.toHaveProperty('error.type')
    expect(refused.status.code).toBe(SpanStatusCode.UNSET)

    const res = await post(app, rpcRequest(12, 'tools/call', { name: 'slow', arguments: { ms: 5000 } }), { 'mcp-session-id': sessionId })
    expect(answersOf(res).at(-1)).toMatchObject({ id: 12, error: { code: -32001 } })
    const slow = spanNamed('tools/call slow')
    expect(slow.attributes).toMatchObject({ 'error.type': 'timeout', 'rpc.response.status_code': '-32001', 'mcp_proxy.outcome': 'timeout' })
    expect(slow.status.code).toBe(SpanStatusCode.ERROR)
  })

  it('stateless: spans without a session id; the initialize the proxy answers itself and its own handshake get none', async () => {
    const app = await buildApp({ tracing: true, stateless: true })
    const init = await post(app, rpcRequest(1, 'initialize', { protocolVersion: LATEST, capabilities: {}, clientInfo: { name: 't', version: '1' } }))
    expect(answersOf(init).at(-1)).toMatchObject({ id: 1, result: { protocolVersion: LATEST } })
    const call = echoCall(2, 'stateless')
    ;(call.params as Record<string, unknown>)._meta = { traceparent: CALLER_TRACEPARENT }
    await post(app, call, { 'mcp-protocol-version': LATEST })
    const span = spanNamed('tools/call echo')
    expect(span.spanContext().traceId).toBe(CALLER_TRACE)
    expect(span.attributes).not.toHaveProperty('mcp.session.id')
    expect(span.attributes).toMatchObject({ 'jsonrpc.request.id': '2', 'mcp.protocol.version': LATEST })
    expect(spans().map((s) => s.name)).toEqual(['tools/call echo'])
  })

  it('MCP 2026-07-28: the envelope is stripped, traceparent reaches the child under the proxy\'s span, no session id', async () => {
    const { base } = await listen({ tracing: true, modernInteractive: 'off' })
    const call = modernCall(21, 'echo', { text: 'modern' }, { meta: { traceparent: CALLER_TRACEPARENT } })
    expect(textOfAnswer(await exchange(base, call))).toBe('modern')
    const span = spanNamed('tools/call echo')
    expect(span.spanContext().traceId).toBe(CALLER_TRACE)
    expect(span.parentSpanContext?.spanId).toBe(CALLER_SPAN)
    expect(span.attributes).toMatchObject({ 'mcp.method.name': 'tools/call', 'mcp.protocol.version': '2026-07-28', 'gen_ai.tool.name': 'echo', 'jsonrpc.request.id': '21' })
    expect(span.attributes).not.toHaveProperty('mcp.session.id')

    const received = JSON.parse(textOfAnswer(await exchange(base, fixtureCall(22, 'received', { method: 'tools/call' })))!) as Array<Record<string, unknown>>
    const echo = received.find((params) => params.name === 'echo')
    expect(metaOf(echo)).toEqual({ traceparent: `00-${CALLER_TRACE}-${span.spanContext().spanId}-01` })
  })

  it('legacy HTTP+SSE: a POST to /messages is traced from its traceparent header too', async () => {
    const { base } = await listen({ tracing: true })
    const stream = await openStream(`${base}/sse`, { headers: { accept: 'text/event-stream' } })
    const first = await stream.reader.next('the endpoint event')
    const endpoint = new URL(first!.data, `${base}/sse`).href
    const send = (message: unknown, headers: Record<string, string> = {}) =>
      fetchWithin(endpoint, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(message) })
    await send(initializeRequest(1, '2024-11-05'))
    await stream.reader.until((e) => e.event === 'message' && e.data.includes('"id":1'), 'the initialize answer')
    await send(rpcNotification('notifications/initialized'))
    expect((await send(echoCall(2, 'sse'), { traceparent: HEADER_TRACEPARENT })).response.status).toBe(202)
    await stream.reader.until((e) => e.event === 'message' && e.data.includes('"id":2'), 'the echo answer')
    const span = spanNamed('tools/call echo')
    expect(span.spanContext().traceId).toBe(HEADER_TRACE)
    expect(span.parentSpanContext?.spanId).toBe(HEADER_SPAN)
    expect(span.attributes).toMatchObject({ 'mcp.protocol.version': '2024-11-05', 'jsonrpc.request.id': '2' })
  })

  it('each child process is a span from spawn to exit, ended with why it exited', async () => {
    const app = await buildApp({ tracing: true, warmChildren: 0 })
    await initSession(app)
    await app.close()
    const child = spanNamed('child session')
    expect(child.kind).toBe(SpanKind.INTERNAL)
    expect(child.parentSpanContext).toBeUndefined()
    expect(child.attributes).toMatchObject({ 'mcp_proxy.child.role': 'session', 'process.pid': expect.any(Number), 'mcp_proxy.child.exit_reason': 'stopped' })
    expect(child.status.code).toBe(SpanStatusCode.UNSET)
  })
})

describe('tracing off (the default)', () => {
  it('installs no decorator and no listener: the tap stays inactive, requests pass untouched, nothing is traced', async () => {
    const decorate = vi.spyOn(Tap.prototype, 'decorate')
    const subscribe = vi.spyOn(Tap.prototype, 'subscribe')
    const active = vi.spyOn(Tap.prototype, 'active', 'get')
    const decorating = vi.spyOn(Tap.prototype, 'decorating', 'get')
    const app = await buildApp()
    const { sessionId } = await initSession(app)
    const call = echoCall(7, 'untraced')
    ;(call.params as Record<string, unknown>)._meta = { traceparent: CALLER_TRACEPARENT }
    await post(app, call, { 'mcp-session-id': sessionId, traceparent: HEADER_TRACEPARENT })
    const echo = (await receivedBySession(app, sessionId, 'tools/call')).find((params) => params.name === 'echo')
    // The caller's own context passes as it came (an SDK is registered: the plugin alone decides).
    expect(metaOf(echo)).toEqual({ traceparent: CALLER_TRACEPARENT })
    expect(decorate).not.toHaveBeenCalled()
    expect(subscribe).not.toHaveBeenCalled()
    // Read on every message, false every time.
    expect(decorating.mock.results.length).toBeGreaterThan(0)
    expect(new Set(decorating.mock.results.map((r) => r.value))).toEqual(new Set([false]))
    expect(new Set(active.mock.results.map((r) => r.value))).toEqual(new Set([false]))
    expect(spans()).toEqual([])
  })

  it('tracing on installs one decorator and one listener, and removes them when the plugin closes', async () => {
    const decorate = vi.spyOn(Tap.prototype, 'decorate')
    const app = await buildApp({ tracing: true })
    expect(decorate).toHaveBeenCalledTimes(1)
    const tap = decorate.mock.contexts[0] as Tap
    expect([tap.decorating, tap.active]).toEqual([true, true])
    await app.close()
    expect([tap.decorating, tap.active]).toEqual([false, false])
  })
})
