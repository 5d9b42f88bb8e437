// The realistic client: the official TypeScript SDK (v1) `Client`, one per
// session, over its own transport (Streamable HTTP, legacy SSE or stdio).
// Same session interface as the light client:
//   { initMs, call(name, args) -> Promise<result>, close() -> Promise }
// initMs here is the whole `connect()`: initialize answered AND the
// notifications/initialized POST accepted (the SDK gives no finer hook).
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { trackPid, untrackPid } from './processes.mjs'

const REQUEST_TIMEOUT_MS = 10_000

/**
 * The only change to the stock client: POSTs go out without the transport-wide
 * AbortSignal. On Node 20, fetch (undici) adds one 'abort' listener per request
 * to that long-lived signal and removes it only when the request is garbage
 * collected; the list grows to thousands (MaxListenersExceededWarning) and each
 * add walks it, so the client slowed down with every request already made,
 * penalising exactly the systems that answer fastest. GETs (the one
 * long-lived stream per session) keep the signal, so close() still ends them.
 */
const fetchWithoutPostSignal = (url, init) => fetch(url, init?.method === 'POST' ? { ...init, signal: undefined } : init)

/** @param {import('./light-client.mjs').Target} target */
function createTransport(target) {
  if (target.kind === 'stream') return new StreamableHTTPClientTransport(new URL(target.url), { fetch: fetchWithoutPostSignal })
  if (target.kind === 'sse') return new SSEClientTransport(new URL(target.url), { fetch: fetchWithoutPostSignal })
  return new StdioClientTransport({ command: target.command, args: target.args, cwd: target.cwd, stderr: 'ignore' })
}

/** A factory of SDK sessions for one target (the SDK pools its own sockets: `dispose` has nothing to do). */
export function sdkConnector(target) {
  async function open() {
    const started = performance.now()
    const transport = createTransport(target)
    const client = new Client({ name: 'bench-sdk', version: '1.0.0' }, { capabilities: {} })
    let pid = null // the stdio child's; read once, the transport forgets it on close
    const close = async () => {
      try {
        if (target.kind === 'stream' && transport.sessionId) await transport.terminateSession() // DELETE; throws unless 2xx/405
      } finally {
        await client.close().catch(() => {})
        if (pid) {
          untrackPid(pid)
          target.pids.delete(pid)
        }
      }
    }
    try {
      await client.connect(transport, { timeout: REQUEST_TIMEOUT_MS })
    } catch (err) {
      await close().catch(() => {})
      throw err
    }
    if (target.kind === 'stdio') {
      pid = transport.pid
      trackPid(pid)
      target.pids.add(pid)
    }
    return {
      initMs: performance.now() - started,
      call: (name, args) => client.callTool({ name, arguments: args }, undefined, { timeout: REQUEST_TIMEOUT_MS }),
      close,
    }
  }
  return { open, dispose: () => {} }
}
