// The "childless" limit: a node:http server that answers MCP itself, with no
// child process and no proxying. It speaks just enough Streamable HTTP for the
// official SDK client and the light generator:
//   POST /mcp  initialize            -> 200 JSON + Mcp-Session-Id
//   POST /mcp  notification/response -> 202
//   POST /mcp  tools/call echo|payload, ping, tools/list -> 200 JSON
//   POST /mcp  the same with the 2026-07-28 envelope (params._meta protocolVersion): no
//              session; headers must match the body; 200 JSON with resultType "complete"
//              and serverInfo in _meta, as the SDK's modern handler answers
//   GET  /mcp  -> 405 (no standalone SSE stream), DELETE /mcp -> 200 (ends the session)
//   GET  /ping -> 200
// Whatever a proxy does on top of this is its cost.
//
// Usage: node bench/childless-server.mjs --port <P>
import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import { parseArgs } from 'node:util'

const { values } = parseArgs({ options: { port: { type: 'string' } } })
const sessions = new Set()
const MODERN_VERSION = '2026-07-28'
const SERVER_INFO = { name: 'childless', version: '1.0.0' }

/** The JSON-RPC result (or error) for one request. */
function answer(msg) {
  const { method, params } = msg
  if (method === 'initialize') {
    return {
      result: {
        protocolVersion: params.protocolVersion,
        capabilities: { tools: {} },
        serverInfo: SERVER_INFO,
      },
    }
  }
  if (method === 'tools/call' && params?.name === 'echo') {
    return { result: { content: [{ type: 'text', text: String(params.arguments?.text) }] } }
  }
  if (method === 'tools/call' && params?.name === 'payload') {
    const bytes = Number(params.arguments?.bytes)
    return { result: { content: [{ type: 'text', text: 'x'.repeat(bytes) }], structuredContent: { length: bytes } } }
  }
  if (method === 'tools/list') return { result: { tools: [] } }
  if (method === 'ping') return { result: {} }
  return { error: { code: -32601, message: `Method not found: ${method}` } }
}

function send(res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers })
  res.end(body === undefined ? undefined : JSON.stringify(body))
}

/** A 2026-07-28 request: no session; the routing headers must agree with the body. */
function onModern(req, res, msg, version) {
  const refuse = (code, message) => send(res, 400, { jsonrpc: '2.0', id: msg.id, error: { code, message } })
  if (version !== MODERN_VERSION) return refuse(-32022, `Unsupported protocol version: ${version}`)
  const h = req.headers
  if (h['mcp-protocol-version'] !== version || h['mcp-method'] !== msg.method || (msg.method === 'tools/call' && h['mcp-name'] !== msg.params.name)) {
    return refuse(-32020, 'Headers do not match the body')
  }
  const { result, error } = answer(msg)
  if (error) return send(res, error.code === -32601 ? 404 : 200, { jsonrpc: '2.0', id: msg.id, error })
  send(res, 200, { jsonrpc: '2.0', id: msg.id, result: { ...result, resultType: 'complete', _meta: { 'io.modelcontextprotocol/serverInfo': SERVER_INFO } } })
}

function onPost(req, res, raw) {
  let msg
  try {
    msg = JSON.parse(raw)
  } catch {
    return send(res, 400, { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } })
  }
  if (msg.method === undefined || msg.id === undefined) return send(res, 202) // notification or response
  const modernVersion = msg.params?._meta?.['io.modelcontextprotocol/protocolVersion']
  if (modernVersion !== undefined) return onModern(req, res, msg, modernVersion)
  const headers = {}
  if (msg.method === 'initialize') {
    headers['mcp-session-id'] = randomUUID()
    sessions.add(headers['mcp-session-id'])
  } else if (!sessions.has(req.headers['mcp-session-id'])) {
    return send(res, 404, { jsonrpc: '2.0', id: msg.id, error: { code: -32001, message: 'Session not found' } })
  }
  send(res, 200, { jsonrpc: '2.0', id: msg.id, ...answer(msg) }, headers)
}

const server = createServer((req, res) => {
  if (req.url === '/ping') return send(res, 200, 'pong')
  if (req.url !== '/mcp') return send(res, 404, { error: 'not found' })
  if (req.method === 'GET') return send(res, 405, undefined, { allow: 'POST, DELETE' })
  if (req.method === 'DELETE') {
    sessions.delete(req.headers['mcp-session-id'])
    return send(res, 200)
  }
  if (req.method !== 'POST') return send(res, 405, undefined, { allow: 'POST, DELETE' })
  const chunks = []
  req.on('data', (chunk) => chunks.push(chunk))
  req.on('end', () => onPost(req, res, Buffer.concat(chunks).toString('utf8')))
})
server.keepAliveTimeout = 60_000
server.listen(Number(values.port), '127.0.0.1')
process.on('SIGTERM', () => process.exit(0))
