// A stand-in OpenTelemetry collector for the tracing variant (`ours-stream-metrics-otel`): the proxy's
// OTLP/HTTP exporter sends its spans here (OTEL_EXPORTER_OTLP_ENDPOINT). It answers every POST with
// 200 at once — an empty body for protobuf (an empty ExportTraceServiceResponse), `{}` for JSON — and
// only counts what it received, so the figures show what exporting costs the proxy, not a collector.
// A separate process: its CPU is neither the proxy's nor the client's (the harness leaves it out of
// both and out of the outside load).
//   POST <any path>  -> 200 (counted per path, with its bytes)
//   GET  /stats      -> {"requests":N,"bytes":N,"paths":{"/v1/traces":N}}
//   GET  /ping       -> 200
//
// Usage: node bench/otlp-sink.mjs --port <P>
import { createServer } from 'node:http'
import { parseArgs } from 'node:util'

const { values } = parseArgs({ options: { port: { type: 'string' } } })
const stats = { requests: 0, bytes: 0, paths: {} }

createServer((req, res) => {
  if (req.method === 'POST') {
    req.on('data', (chunk) => (stats.bytes += chunk.length))
    req.on('end', () => {
      stats.requests++
      stats.paths[req.url] = (stats.paths[req.url] ?? 0) + 1
      const json = (req.headers['content-type'] ?? '').includes('json')
      res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' })
      res.end(json ? '{}' : '')
    })
    return
  }
  if (req.url === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify(stats))
    return
  }
  res.writeHead(req.url === '/ping' ? 200 : 404)
  res.end()
}).listen(Number(values.port), '127.0.0.1')
