// `--otel` / OTEL_EXPORTER_OTLP_ENDPOINT on the built CLI: spans reach a real OTLP/HTTP receiver (a tiny
// node:http server collecting POST /v1/traces, JSON: the exporter's encoding), the call's trace id reaches
// the child in `params._meta.traceparent` under the proxy's span, and a child's span is flushed on exit.
// The switch itself (flag, environment, off switches) is checked on parseArgs.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gunzipSync } from 'node:zlib'
import { afterEach, describe, expect, it } from 'vitest'
import { parseArgs, type RunConfig } from '../src/parse-args.js'
import { ECHO, exitOf, initialize, killAll, marker, messageOf, post, startCli, waitFor } from './helpers.js'

const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
const CALLER_SPAN = '00f067aa0ba902b7'

interface OtlpAttribute {
  key: string
  value: { stringValue?: string; intValue?: number | string; boolValue?: boolean }
}
interface OtlpSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  kind: number
  attributes: OtlpAttribute[]
}
interface OtlpExport {
  resourceSpans: Array<{ resource: { attributes: OtlpAttribute[] }; scopeSpans: Array<{ scope: { name: string }; spans: OtlpSpan[] }> }>
}

/** An OTLP/HTTP receiver on 127.0.0.1: every POST /v1/traces body, decoded. */
async function otlpReceiver(): Promise<{ url: string; exports: OtlpExport[]; contentTypes: string[] }> {
  const exports: OtlpExport[] = []
  const contentTypes: string[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces') {
        contentTypes.push(String(req.headers['content-type']))
        const raw = Buffer.concat(chunks)
        const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw
        exports.push(JSON.parse(body.toString('utf8')) as OtlpExport)
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, exports, contentTypes }
}

const servers: Server[] = []
afterEach(async () => {
  await killAll()
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))))
})

const spansOf = (exports: OtlpExport[]): OtlpSpan[] => exports.flatMap((e) => e.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)))
const attribute = (attributes: OtlpAttribute[], key: string): unknown => {
  const value = attributes.find((a) => a.key === key)?.value
  return value?.stringValue ?? value?.intValue ?? value?.boolValue
}

describe('tracing over OTLP/HTTP (the CLI)', () => {
  it('OTEL_EXPORTER_OTLP_ENDPOINT alone: the call\'s span reaches the receiver, and its trace reaches the child in _meta', async () => {
    const receiver = await otlpReceiver()
    const cli = await startCli(['--port', '0', '--log-format', 'json', '--drain-timeout', '0', '--', 'node', ECHO, marker()], {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '50' },
    })
    expect(cli.logs().find((line) => line.msg.startsWith('tracing:'))).toMatchObject({ endpoint: `${receiver.url}/v1/traces` })
    const url = `${cli.base}/mcp`
    const session = await initialize(url)
    const headers = { 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' }
    const traceparent = `00-${CALLER_TRACE}-${CALLER_SPAN}-01`
    const call = { jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'echo', arguments: { text: 'traced' }, _meta: { traceparent } } }
    expect(await messageOf(await post(url, call, headers))).toMatchObject({ id: 5, result: { content: [{ text: 'traced' }] } })

    // What the child received: the same trace, under a span of the proxy.
    const asked = { jsonrpc: '2.0', id: 6, method: 'tools/call', params: { name: 'received', arguments: { method: 'tools/call' } } }
    const received = (await messageOf(await post(url, asked, headers))) as { result: { content: Array<{ text: string }> } }
    const echo = (JSON.parse(received.result.content[0]!.text) as Array<{ name: string; _meta?: { traceparent?: string } }>).find((p) => p.name === 'echo')
    const [, childTrace, childParent] = echo?._meta?.traceparent?.split('-') ?? []
    expect(childTrace).toBe(CALLER_TRACE)
    expect(childParent).not.toBe(CALLER_SPAN)

    // The span the receiver got is that parent: same trace, child of the caller's span.
    await waitFor(() => spansOf(receiver.exports).some((s) => s.name === 'tools/call echo'), 5000, () => 'the tools/call span at the receiver')
    const span = spansOf(receiver.exports).find((s) => s.name === 'tools/call echo')!
    expect([span.traceId, span.spanId, span.parentSpanId]).toEqual([CALLER_TRACE, childParent, CALLER_SPAN])
    expect(span.kind).toBe(2) // SPAN_KIND_SERVER
    expect(attribute(span.attributes, 'mcp.method.name')).toBe('tools/call')
    expect(attribute(span.attributes, 'gen_ai.tool.name')).toBe('echo')
    expect(attribute(span.attributes, 'mcp.session.id')).toBe(session)
    expect(attribute(span.attributes, 'jsonrpc.request.id')).toBe('5')
    expect(new Set(receiver.contentTypes)).toEqual(new Set(['application/json']))
    const resource = receiver.exports[0]!.resourceSpans[0]!.resource.attributes
    expect(attribute(resource, 'service.name')).toBe('mcp-proxy')
    expect(receiver.exports[0]!.resourceSpans[0]!.scopeSpans[0]!.scope.name).toBe('@proxy/fastify-plugin')

    // On SIGTERM the child stops and its span (spawn → exit) is flushed before the proxy exits.
    cli.proc.kill('SIGTERM')
    expect(await exitOf(cli)).toBe(0)
    const child = spansOf(receiver.exports).find((s) => s.name === 'child session' && attribute(s.attributes, 'mcp_proxy.child.exit_reason') === 'stopped')
    expect(child, spansOf(receiver.exports).map((s) => s.name).join(', ')).toBeDefined()
  })

  it('--no-otel beside an OTLP endpoint: nothing is sent, and the caller\'s traceparent reaches the child as it came', async () => {
    const receiver = await otlpReceiver()
    const cli = await startCli(['--port', '0', '--log-format', 'json', '--drain-timeout', '0', '--no-otel', '--', 'node', ECHO, marker()], {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '50' },
    })
    const url = `${cli.base}/mcp`
    const session = await initialize(url)
    const headers = { 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' }
    const traceparent = `00-${CALLER_TRACE}-${CALLER_SPAN}-01`
    await messageOf(await post(url, { jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'echo', arguments: { text: 'x' }, _meta: { traceparent } } }, headers))
    const asked = { jsonrpc: '2.0', id: 6, method: 'tools/call', params: { name: 'received', arguments: { method: 'tools/call' } } }
    const received = (await messageOf(await post(url, asked, headers))) as { result: { content: Array<{ text: string }> } }
    const echo = (JSON.parse(received.result.content[0]!.text) as Array<{ name: string; _meta?: unknown }>).find((p) => p.name === 'echo')
    expect(echo?._meta).toEqual({ traceparent })
    cli.proc.kill('SIGTERM')
    expect(await exitOf(cli)).toBe(0)
    expect(receiver.exports).toEqual([])
    expect(cli.logs().some((line) => line.msg.startsWith('tracing:'))).toBe(false)
  })
})

describe('when tracing is on (parseArgs)', () => {
  const run = (argv: string[], env: NodeJS.ProcessEnv): RunConfig => {
    const parsed = parseArgs([...argv, '--', 'node', 'server.js'], env)
    if (parsed.action !== 'run') throw new Error(parsed.action)
    return parsed.config
  }

  it('off by default; on with --otel, MCP_PROXY_OTEL, or an OTLP endpoint in the environment; the plugin gets tracing: true', () => {
    expect(run([], {})).toMatchObject({ otel: false })
    expect(run([], {}).plugin).not.toHaveProperty('tracing')
    expect(run(['--otel'], {})).toMatchObject({ otel: true, plugin: { tracing: true }, resolved: { tracing: true } })
    expect(run([], { MCP_PROXY_OTEL: 'true' })).toMatchObject({ otel: true })
    expect(run([], { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toMatchObject({ otel: true, plugin: { tracing: true } })
    expect(run([], { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' })).toMatchObject({ otel: true })
  })

  it('--no-otel wins over the endpoint; OTEL_SDK_DISABLED=true wins over everything', () => {
    expect(run(['--no-otel'], { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toMatchObject({ otel: false })
    expect(run(['--otel'], { OTEL_SDK_DISABLED: 'true' })).toMatchObject({ otel: false })
    expect(run([], { OTEL_SDK_DISABLED: 'TRUE', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toMatchObject({ otel: false })
  })
})
