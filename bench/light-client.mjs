// The light load generator: hand-written MCP clients with as little work per
// request as possible, so the system under test (not the client) is the
// bottleneck. One request = one JSON.stringify, one HTTP round trip on a
// keep-alive socket, one JSON.parse. Sessions are fully initialized
// (initialize + notifications/initialized) before any load.
//
// Three transports and the 2026-07-28 wire, one session interface:
//   { initMs, call(name, args) -> Promise<result>, close() -> Promise }
//   streamable HTTP  POST /mcp; the answer may be application/json or text/event-stream
//   legacy HTTP+SSE  GET /sse stream + POST /messages?sessionId=…; answers arrive on the stream
//   stdio            newline-delimited JSON-RPC over a child's stdin/stdout (the direct limit)
//   modern           POST /mcp with the 2026-07-28 envelope (params._meta + MCP-Protocol-Version,
//                    Mcp-Method, Mcp-Name headers): no initialize, no session; "open" sends nothing
import { Agent, request } from 'node:http'
import { spawnTracked, stopTree } from './processes.mjs'
import { SseParser, sseMessages } from './sse.mjs'

const PROTOCOL_VERSION = '2025-11-25'
export const MODERN_PROTOCOL_VERSION = '2026-07-28'
/** A request not answered in this time fails (the closed loop also has its own drain bound). */
const REQUEST_TIMEOUT_MS = 10_000
const CLIENT_INFO = { name: 'bench-light', version: '1.0.0' }
/** What every 2026-07-28 request carries in params._meta; the client offers no capabilities. */
const MODERN_META = {
  'io.modelcontextprotocol/protocolVersion': MODERN_PROTOCOL_VERSION,
  'io.modelcontextprotocol/clientInfo': CLIENT_INFO,
  'io.modelcontextprotocol/clientCapabilities': {},
}

/**
 * What a client connects to; a stdio target records the pids of the servers
 * its sessions spawn in `pids`, so they can be measured.
 * @typedef {{ kind: 'stream' | 'sse', url: string } | { kind: 'stdio', command: string, args: string[], cwd: string, pids: Set<number> }} Target
 */

/**
 * A factory of light sessions for one target; `dispose()` drops its pooled sockets.
 * `modern`: speak 2026-07-28 to a streamable HTTP target instead of opening 2025 sessions.
 */
export function lightConnector(target, { modern = false } = {}) {
  if (modern && target.kind !== 'stream') throw new Error(`the 2026-07-28 wire needs a streamable HTTP target, not ${target.kind}`)
  const agent = new Agent({ keepAlive: true })
  const open = modern
    ? () => openModern(new URL(target.url), agent)
    : {
        stream: () => openStreamable(new URL(target.url), agent),
        sse: () => openLegacySse(new URL(target.url), agent),
        stdio: () => openStdio(target),
      }[target.kind]
  return { open, dispose: () => agent.destroy() }
}

/** Reject if `promise` has not settled within REQUEST_TIMEOUT_MS. */
function withTimeout(promise, what) {
  let timer
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out`)), REQUEST_TIMEOUT_MS)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

function rpcError(msg) {
  return new Error(`JSON-RPC error ${msg.error.code}: ${msg.error.message}`)
}

/** One HTTP request; resolves with status, headers and the whole body as text. */
function httpRequest(url, agent, method, headers, body) {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, method, agent, headers, timeout: REQUEST_TIMEOUT_MS },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk) => (text += chunk))
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }))
        res.on('error', reject)
      },
    )
    req.on('timeout', () => req.destroy(new Error(`${method} ${url.pathname} timed out`)))
    req.on('error', reject)
    req.end(body)
  })
}

/** The JSON-RPC messages in a Streamable HTTP answer, JSON or SSE. */
function parseAnswer(res) {
  if (!res.text) return []
  if ((res.headers['content-type'] ?? '').startsWith('text/event-stream')) return sseMessages(res.text)
  const body = JSON.parse(res.text)
  return Array.isArray(body) ? body : [body]
}

async function openStreamable(url, agent) {
  const started = performance.now()
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }
  let nextId = 1

  const post = (body) => httpRequest(url, agent, 'POST', { ...headers, 'content-length': Buffer.byteLength(body) }, body)
  const rpc = async (method, params) => {
    const id = nextId++
    const res = await post(JSON.stringify({ jsonrpc: '2.0', id, method, params }))
    if (res.status !== 200) throw new Error(`${method}: HTTP ${res.status} ${res.text.slice(0, 200)}`)
    const msg = parseAnswer(res).find((m) => m.id === id)
    if (!msg) throw new Error(`${method}: no response with id ${id} in the answer`)
    if (msg.error) throw rpcError(msg)
    return { msg, res }
  }

  const { msg, res } = await rpc('initialize', { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: CLIENT_INFO })
  const initMs = performance.now() - started
  const sessionId = res.headers['mcp-session-id'] // absent in stateless mode
  if (sessionId) headers['mcp-session-id'] = sessionId
  headers['mcp-protocol-version'] = msg.result.protocolVersion
  const note = await post(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }))
  if (note.status !== 202 && note.status !== 200) throw new Error(`notifications/initialized: HTTP ${note.status}`)

  return {
    initMs,
    call: async (name, args) => (await rpc('tools/call', { name, arguments: args })).msg.result,
    async close() {
      if (!sessionId) return
      // Only the session headers: a bodyless DELETE must not claim a JSON body.
      const res = await httpRequest(url, agent, 'DELETE', { 'mcp-session-id': sessionId, 'mcp-protocol-version': headers['mcp-protocol-version'] })
      if (res.status >= 300 && res.status !== 405) throw new Error(`DELETE: HTTP ${res.status} ${res.text.slice(0, 200)}`)
    },
  }
}

/**
 * The 2026-07-28 wire: every call is a self-contained POST (envelope in _meta, routing headers),
 * answered by a result whose resultType must be "complete". Nothing to open or close.
 */
async function openModern(url, agent) {
  let nextId = 1
  const call = async (name, args) => {
    const id = nextId++
    const body = JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args, _meta: MODERN_META } })
    const res = await httpRequest(
      url,
      agent,
      'POST',
      {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': MODERN_PROTOCOL_VERSION,
        'mcp-method': 'tools/call',
        'mcp-name': name,
        'content-length': Buffer.byteLength(body),
      },
      body,
    )
    if (res.status !== 200) throw new Error(`tools/call: HTTP ${res.status} ${res.text.slice(0, 200)}`)
    const msg = parseAnswer(res).find((m) => m.id === id)
    if (!msg) throw new Error(`tools/call: no response with id ${id} in the answer`)
    if (msg.error) throw rpcError(msg)
    if (msg.result?.resultType !== 'complete') throw new Error(`tools/call: resultType ${JSON.stringify(msg.result?.resultType)}, expected "complete"`)
    return msg.result
  }
  return { initMs: 0, call, close: async () => {} }
}

async function openLegacySse(url, agent) {
  const started = performance.now()
  const pending = new Map() // id -> { resolve, reject }
  let nextId = 1
  let closedError = null
  let endpoint

  const failAll = (err) => {
    closedError ??= err
    for (const { reject } of pending.values()) reject(closedError)
    pending.clear()
  }
  const onMessage = (data) => {
    const msg = JSON.parse(data)
    const waiter = pending.get(msg.id)
    if (msg.method !== undefined || !waiter) return // notifications and server requests are ignored
    pending.delete(msg.id)
    if (msg.error) waiter.reject(rpcError(msg))
    else waiter.resolve(msg.result)
  }

  // The long-lived GET gets its own socket (agent: false), outside the keep-alive pool.
  const stream = request({ host: url.hostname, port: url.port, path: url.pathname, headers: { accept: 'text/event-stream' }, agent: false })
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no endpoint event from /sse')), REQUEST_TIMEOUT_MS)
    stream.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
      failAll(err)
    })
    stream.on('response', (res) => {
      if (res.statusCode !== 200) {
        clearTimeout(timer)
        reject(new Error(`GET /sse: HTTP ${res.statusCode}`))
        res.resume()
        return
      }
      const parser = new SseParser(({ event, data }) => {
        if (event === 'endpoint') {
          endpoint = new URL(data, url)
          clearTimeout(timer)
          resolve()
        } else if (event === 'message' && data) {
          onMessage(data)
        }
      })
      res.setEncoding('utf8')
      res.on('data', (chunk) => parser.push(chunk))
      res.on('end', () => failAll(new Error('SSE stream ended')))
      res.on('error', (err) => failAll(err))
    })
    stream.end()
  })

  const post = async (message) => {
    const body = JSON.stringify(message)
    const res = await httpRequest(endpoint, agent, 'POST', { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, body)
    if (res.status !== 202 && res.status !== 200) throw new Error(`POST ${endpoint.pathname}: HTTP ${res.status} ${res.text.slice(0, 200)}`)
  }
  const rpc = (method, params) => {
    if (closedError) return Promise.reject(closedError)
    const id = nextId++
    const answer = new Promise((resolve, reject) => pending.set(id, { resolve, reject }))
    return post({ jsonrpc: '2.0', id, method, params }).then(
      () => answer,
      (err) => {
        pending.delete(id)
        throw err
      },
    )
  }

  const close = async () => {
    failAll(new Error('session closed'))
    stream.destroy()
  }
  try {
    await withTimeout(rpc('initialize', { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: CLIENT_INFO }), 'initialize')
  } catch (err) {
    await close()
    throw err
  }
  const initMs = performance.now() - started
  await post({ jsonrpc: '2.0', method: 'notifications/initialized' })
  return { initMs, call: (name, args) => rpc('tools/call', { name, arguments: args }), close }
}

async function openStdio(target) {
  const started = performance.now()
  const child = spawnTracked(target.command, target.args, { cwd: target.cwd, talk: true })
  target.pids.add(child.pid)
  const pending = new Map()
  let nextId = 1
  let closedError = null

  const failAll = (err) => {
    closedError ??= err
    for (const { reject } of pending.values()) reject(closedError)
    pending.clear()
  }
  const onLine = (line) => {
    const msg = JSON.parse(line)
    const waiter = pending.get(msg.id)
    if (msg.method !== undefined || !waiter) return
    pending.delete(msg.id)
    if (msg.error) waiter.reject(rpcError(msg))
    else waiter.resolve(msg.result)
  }
  // Split stdout on '\n' without re-scanning: only the unterminated tail is kept.
  let parts = []
  child.stdout.on('data', (chunk) => {
    let start = 0
    let nl
    while ((nl = chunk.indexOf(10, start)) !== -1) {
      parts.push(chunk.subarray(start, nl))
      const line = (parts.length === 1 ? parts[0] : Buffer.concat(parts)).toString('utf8')
      parts = []
      start = nl + 1
      if (line.trim()) onLine(line)
    }
    if (start < chunk.length) parts.push(chunk.subarray(start))
  })
  void child.exited.then(() => failAll(new Error(`server exited: ${child.output()}`)))
  child.stdin.on('error', (err) => failAll(err))

  const write = (message) => child.stdin.write(JSON.stringify(message) + '\n')
  const rpc = (method, params) => {
    if (closedError) return Promise.reject(closedError)
    const id = nextId++
    const answer = new Promise((resolve, reject) => pending.set(id, { resolve, reject }))
    write({ jsonrpc: '2.0', id, method, params })
    return answer
  }

  const close = async () => {
    failAll(new Error('session closed'))
    child.stdin.end()
    await stopTree(child.pid, 1000)
    target.pids.delete(child.pid)
  }
  try {
    await withTimeout(rpc('initialize', { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: CLIENT_INFO }), 'initialize')
  } catch (err) {
    await close()
    throw err
  }
  const initMs = performance.now() - started
  write({ jsonrpc: '2.0', method: 'notifications/initialized' })
  return { initMs, call: (name, args) => rpc('tools/call', { name, arguments: args }), close }
}
