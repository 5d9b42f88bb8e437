// The built CLI's life: shutdown on SIGTERM with work in flight, a second signal, the end of its stdin,
// the API key kept from the child, and the warning for a non-loopback bind without a key.
import { randomUUID } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { callTool, ECHO, environOf, exitOf, IGNORE_SIGTERM, initialize, killAll, marker, post, processesWith, startCli, waitFor } from './helpers.js'

afterEach(killAll)

describe('signals', () => {
  it('SIGTERM with an open GET stream and a call in flight: drained until the drain timeout, then exit 0, no child left', async () => {
    const tag = marker()
    const cli = await startCli(['--port', '0', '--log-format', 'json', '--verbose', '--drain-timeout', '300', '--', 'node', ECHO, tag])
    const url = `${cli.base}/mcp`
    const session = await initialize(url)
    const headers = { 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' }

    // The standalone GET stream, held open.
    const stream = await fetch(url, { headers: { accept: 'text/event-stream', ...headers } })
    expect(stream.status).toBe(200)
    const streamEnded = stream.body!.pipeTo(new WritableStream()).then(
      () => 'ended',
      () => 'errored',
    )
    // A call that would take a minute; it is on its way to the child once the proxy has logged it.
    const before = cli.logs().filter((l) => l.msg === 'client messages' && l.requests === 1).length
    const slow = post(url, { jsonrpc: '2.0', id: 'slow-1', method: 'tools/call', params: { name: 'slow', arguments: { ms: 60_000 } } }, headers).then(
      (res) => res.text(),
      () => 'aborted',
    )
    await waitFor(() => cli.logs().filter((l) => l.msg === 'client messages' && l.requests === 1).length > before, 5000, () => 'the slow call to reach the proxy')
    expect(processesWith(ECHO, tag).length).toBeGreaterThan(0)

    cli.proc.kill('SIGTERM')
    expect(await exitOf(cli)).toBe(0)
    // The session and both requests were still open: the drain ended on its timeout, then the usual shutdown.
    expect(cli.logs().find((l) => /^drain timeout/.test(l.msg))).toMatchObject({ outcome: 'timeout', sessionsLeft: 1, requestsLeft: 2 })
    await waitFor(() => processesWith(ECHO, tag).length === 0, 3000, () => `no child left (still: ${processesWith(ECHO, tag).join(', ')})`)
    // Both the stream and the slow call were ended, not left hanging.
    expect(await streamEnded).toMatch(/ended|errored/)
    await slow
  })

  it('a second SIGTERM while closing exits at once, and the children that ignore SIGTERM are killed anyway', async () => {
    const tag = marker()
    const cli = await startCli(['--port', '0', '--log-format', 'json', '--stop-grace', '5000', '--drain-timeout', '0', '--', 'node', IGNORE_SIGTERM, tag])
    await initialize(`${cli.base}/mcp`)
    await waitFor(() => processesWith(IGNORE_SIGTERM, tag).length >= 2, 5000, () => 'the session child and the warm child')

    cli.proc.kill('SIGTERM')
    await waitFor(() => cli.logs().some((l) => /shutting down/i.test(l.msg)), 5000, () => 'the "shutting down" line')
    // The first shutdown now waits out the children's stop grace (5 s per step); a second signal cuts it short.
    cli.proc.kill('SIGTERM')
    const code = await exitOf(cli, 4000)
    expect(code).toBe(143) // 128 + SIGTERM
    await waitFor(() => processesWith(IGNORE_SIGTERM, tag).length === 0, 3000, () => `children killed (still: ${processesWith(IGNORE_SIGTERM, tag).join(', ')})`)
  })

  it('--exit-on-stdin-close: closing the proxy stdin shuts it down with exit 0', async () => {
    const tag = marker()
    const cli = await startCli(['--port', '0', '--log-format', 'json', '--exit-on-stdin-close', '--', 'node', ECHO, tag], { stdinPipe: true })
    await initialize(`${cli.base}/mcp`)
    cli.proc.stdin!.end()
    expect(await exitOf(cli)).toBe(0)
    await waitFor(() => processesWith(ECHO, tag).length === 0, 3000, () => 'no child left')
  })

  it('without --exit-on-stdin-close the end of stdin is ignored', async () => {
    const cli = await startCli(['--port', '0', '--log-format', 'json', '--', 'node', ECHO, marker()], { stdinPipe: true })
    cli.proc.stdin!.end()
    // Still serving after stdin ended: a full round trip goes through.
    const session = await initialize(`${cli.base}/mcp`)
    expect(await callTool(`${cli.base}/mcp`, session, 'echo', { text: 'still here' })).toBe('still here')
    expect(cli.proc.exitCode).toBeNull()
  })
})

describe('the API key never reaches the child', () => {
  it('given as MCP_PROXY_API_KEY: not in the child environment, under any name', async () => {
    const tag = marker()
    const key = `key-${randomUUID()}`
    const cli = await startCli(['--port', '0', '--log-format', 'json', '--', 'node', ECHO, tag], {
      env: { MCP_PROXY_API_KEY: key, COPY_OF_THE_KEY: key, MCP_PROXY_UNRELATED: 'x', VISIBLE_TO_CHILD: 'yes' },
    })
    const headers = { 'x-api-key': key }
    const session = await initialize(`${cli.base}/mcp`, headers)
    expect(await callTool(`${cli.base}/mcp`, session, 'env', { name: 'MCP_PROXY_API_KEY' }, headers)).toBe('<unset>')
    expect(await callTool(`${cli.base}/mcp`, session, 'env', { name: 'COPY_OF_THE_KEY' }, headers)).toBe('<unset>')
    expect(await callTool(`${cli.base}/mcp`, session, 'env', { name: 'MCP_PROXY_UNRELATED' }, headers)).toBe('<unset>')
    expect(await callTool(`${cli.base}/mcp`, session, 'env', { name: 'VISIBLE_TO_CHILD' }, headers)).toBe('yes')

    const children = processesWith(ECHO, tag)
    expect(children.length).toBeGreaterThan(0)
    for (const pid of children) {
      const env = environOf(pid)
      expect(Object.values(env).filter((v) => v.includes(key))).toEqual([])
      expect(Object.keys(env).filter((k) => k.startsWith('MCP_PROXY_'))).toEqual([])
    }
  })

  it('given as --api-key: not in the child environment either', async () => {
    const tag = marker()
    const key = `key-${randomUUID()}`
    const cli = await startCli(['--port', '0', '--log-format', 'json', '--api-key', key, '--', 'node', ECHO, tag])
    await initialize(`${cli.base}/mcp`, { authorization: `Bearer ${key}` })
    const children = processesWith(ECHO, tag)
    expect(children.length).toBeGreaterThan(0)
    for (const pid of children) expect(Object.values(environOf(pid)).filter((v) => v.includes(key))).toEqual([])
  })
})

describe('non-loopback bind', () => {
  // Bound to every interface for a moment; the test only talks to 127.0.0.1.
  it('--host 0.0.0.0 without an API key logs a warning', async () => {
    const cli = await startCli(['--host', '0.0.0.0', '--port', '0', '--log-format', 'json', '--', 'node', ECHO, marker()])
    await waitFor(() => cli.logs().some((l) => l.level === 40 && /api.key/i.test(l.msg)), 5000, () => `the warning; stderr:\n${cli.stderr()}`)
    expect((await fetch(`http://127.0.0.1:${cli.port}/ping`)).status).toBe(200)
  })

  it('--host 0.0.0.0 with an API key: no such warning', async () => {
    const cli = await startCli(['--host', '0.0.0.0', '--port', '0', '--log-format', 'json', '--api-key', 'k', '--', 'node', ECHO, marker()])
    expect((await fetch(`http://127.0.0.1:${cli.port}/ping`)).status).toBe(200)
    expect(cli.logs().filter((l) => l.level === 40 && /api.key/i.test(l.msg))).toEqual([])
  })
})
