// The built CLI during shutdown: while the children are being stopped, every request (/ping and /ready
// included) is answered by the plugin with a JSON-RPC 503, Retry-After and Connection: close, not with
// Fastify's own non-JSON-RPC body.
import { request } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { exitOf, IGNORE_SIGTERM, initialize, killAll, marker, processesWith, startCli, waitFor } from './helpers.js'

afterEach(killAll)

/** One request on a fresh connection: status, headers and body. */
function ask(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      let text = ''
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

describe('shutdown answers', () => {
  it('SIGTERM while a child ignores it: /ping, /ready, POST and GET /mcp get 503 with a JSON-RPC error body', async () => {
    const tag = marker()
    const cli = await startCli(['--port', '0', '--log-format', 'json', '--stop-grace', '1500', '--drain-timeout', '0', '--', 'node', IGNORE_SIGTERM, tag])
    const session = await initialize(`${cli.base}/mcp`)
    await waitFor(() => processesWith(IGNORE_SIGTERM, tag).length >= 2, 5000, () => 'the session child and the warm child')

    cli.proc.kill('SIGTERM')
    await waitFor(() => cli.logs().some((l) => /shutting down/i.test(l.msg)), 5000, () => 'the "shutting down" line')
    const json = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }
    const answers = [
      await ask(cli.port, 'GET', '/ping'),
      await ask(cli.port, 'GET', '/ready'),
      await ask(cli.port, 'POST', '/mcp', { ...json, 'mcp-session-id': session }, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' })),
      await ask(cli.port, 'GET', '/mcp', { accept: 'text/event-stream', 'mcp-session-id': session }),
    ]
    for (const answer of answers) {
      expect(answer.status, answer.body).toBe(503)
      expect(answer.headers['retry-after']).toBeDefined()
      expect(answer.headers.connection).toBe('close')
      const body = JSON.parse(answer.body) as { jsonrpc: string; id: unknown; error: { code: number; message: string } }
      expect(body).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32000 } })
      expect(body.error.message).toMatch(/shutting down/)
    }
    expect(await exitOf(cli, 15_000)).toBe(0)
  })
})
