// End to end: `mcp-proxy --child-mode shared` (the BUILT CLI) serving every 2025-era session, Streamable HTTP
// and legacy SSE, from a few pre-initialized shared children, driven by the official SDK clients (v1 and v2)
// over real HTTP on 127.0.0.1 against real child processes: the echo fixture and the real
// @modelcontextprotocol/server-everything. Covers: concurrent elicitations each reaching only their own
// session (/ready and /proc show no process per session), sampling through server-everything, a v2 client,
// a child crash, SIGTERM (exit 0, no child left), `--shared-asks refuse` and the refusal of `--child-mode shared --stateless`.
// The plugin-level behaviour (queue, log levels, subscriptions, cancellation) is tested in
// packages/fastify-plugin/test/shared-mode.test.ts; these tests go through the CLI and real processes.
// Every proxy is stopped, every wait is bounded, and every fixture process carries a marker so that /proc
// shows whether one is left.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js'
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js'
import { StreamableHTTPClientTransport as V1StreamableTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { CreateMessageRequestSchema, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js'
import { Client as V2Client, StreamableHTTPClientTransport as V2StreamableTransport, type CallToolResult } from '@modelcontextprotocol/client'
import { CLI, ECHO_SERVER, EVERYTHING, killAll, marker, processesWith, runNode, startProxy, waitFor, within, type Proxy } from './helpers.js'

const SHARED_CHILDREN = 2

/** What /ready reports in shared mode (the part these tests read). */
interface SharedReadiness {
  mode: string
  sessions: number
  children: {
    mode: string
    child: { state: string; pid?: number; recentExits?: number }
    children: Array<{ state: string; pid?: number; held: boolean; sharers: number }>
    maxChildren: number
    queued: number
  }
}

async function readiness(proxy: Proxy): Promise<{ status: number; body: SharedReadiness }> {
  const response = await within(fetch(`${proxy.base}/ready`), 5000, 'GET /ready')
  return { status: response.status, body: (await within(response.json(), 5000, 'the /ready body')) as SharedReadiness }
}

/** The text of every text content item of a tool result (any client's). */
function texts(result: unknown): string {
  return (result as CallToolResult).content.flatMap((c) => (c.type === 'text' ? [c.text] : [])).join('\n')
}

/** Close a client, bounded, ignoring errors (its server may be gone already). */
async function closeQuietly(client: { close: () => Promise<void> } | undefined): Promise<void> {
  if (client) await within(client.close(), 5000, 'client close()').catch(() => undefined)
}

type Transport = 'streamable' | 'sse'

/** A v1 client that declares elicitation and answers each question with `<question>-answered-by-<name>`, recording what it was asked. */
async function elicitingV1(proxy: Proxy, name: string, transport: Transport): Promise<{ client: V1Client; name: string; asked: string[] }> {
  const asked: string[] = []
  const client = new V1Client({ name, version: '1.0.0' }, { capabilities: { elicitation: {} } })
  client.setRequestHandler(ElicitRequestSchema, async (request) => {
    const message = request.params.message
    asked.push(message)
    // a little later, so that the calls overlap on the proxy
    await new Promise((r) => setTimeout(r, 50))
    return { action: 'accept', content: { name: `${message}-answered-by-${name}` } }
  })
  const t = transport === 'sse' ? new SSEClientTransport(proxy.sse) : new V1StreamableTransport(proxy.streamable)
  await within(client.connect(t), 10_000, `${name} to connect over ${transport}`)
  return { client, name, asked }
}

/** A v1 client over Streamable HTTP that declares nothing. */
async function plainV1(proxy: Proxy, name: string): Promise<V1Client> {
  const client = new V1Client({ name, version: '1.0.0' })
  await within(client.connect(new V1StreamableTransport(proxy.streamable)), 10_000, `${name} to connect`)
  return client
}

/** `startProxy` for one describe, stopped in afterAll with the checks that it exits 0 and leaves no marked child. */
function sharedProxy(server: () => { command: string[]; marks: string[] }, flags: string[]): { proxy: () => Proxy; marks: () => string[] } {
  let proxy: Proxy | undefined
  let marks: string[] = []
  beforeAll(async () => {
    const s = server()
    marks = s.marks
    proxy = await startProxy(s.command, s.marks, flags)
  })
  afterAll(async () => {
    if (!proxy) return
    const { code, leftovers } = await proxy.stop()
    expect(code, proxy.stderr()).toBe(0)
    expect(leftovers).toEqual([])
  })
  return {
    proxy: () => {
      if (!proxy) throw new Error('the proxy is not running')
      return proxy
    },
    marks: () => marks,
  }
}

// =====================================================================================================

describe(`--child-mode shared --shared-children ${SHARED_CHILDREN} in front of the echo fixture`, { timeout: 30_000 }, () => {
  const mark = marker()
  const { proxy } = sharedProxy(() => ({ command: [process.execPath, ECHO_SERVER, mark], marks: [ECHO_SERVER, mark] }), ['--child-mode', 'shared', '--shared-children', String(SHARED_CHILDREN)])
  const clients: Array<{ close: () => Promise<void> }> = []
  afterAll(async () => {
    await Promise.all(clients.map((c) => closeQuietly(c)))
  })

  it('the ready line says shared; one child before any session', async () => {
    const ready = proxy()
      .logs()
      .find((l) => l.msg.startsWith('MCP proxy ready:'))
    expect(ready?.mode, proxy().stderr()).toBe('shared')
    const { status, body } = await readiness(proxy())
    expect(status).toBe(200)
    expect(body.mode).toBe('shared')
    expect(body.sessions).toBe(0)
    expect(body.children.maxChildren).toBe(SHARED_CHILDREN)
    expect(body.children.children.length).toBe(1)
    expect(processesWith(ECHO_SERVER, mark)).toHaveLength(1)
  })

  it('3 Streamable HTTP clients and 1 legacy SSE client elicit at once: each gets its own answer, each was asked only its own question', async () => {
    const sessions = await Promise.all([
      elicitingV1(proxy(), 'stream-a', 'streamable'),
      elicitingV1(proxy(), 'stream-b', 'streamable'),
      elicitingV1(proxy(), 'stream-c', 'streamable'),
      elicitingV1(proxy(), 'legacy-sse', 'sse'),
    ])
    clients.push(...sessions.map((s) => s.client))
    const results = await within(
      Promise.all(sessions.map(({ client, name }) => client.callTool({ name: 'elicit', arguments: { message: `question-of-${name}` } }))),
      20_000,
      'the 4 eliciting calls',
    )
    results.forEach((result, n) => {
      const name = sessions[n]!.name
      expect(JSON.parse(texts(result)), `${name}: ${texts(result)}`).toEqual({ action: 'accept', content: { name: `question-of-${name}-answered-by-${name}` } })
    })
    for (const { name, asked } of sessions) expect(asked, name).toEqual([`question-of-${name}`])
    // every session saw the one handshake the proxy answers from its first child
    const versions = sessions.map(({ client }) => JSON.stringify(client.getServerVersion()))
    expect(new Set(versions).size).toBe(1)
    // the child saw the proxy, never a client
    const who = JSON.parse(texts(await sessions[0]!.client.callTool({ name: 'whoami', arguments: {} }))) as { clientInfo: { name: string }; pid: number }
    expect(who.clientInfo.name).toBe('mcp-proxy')
    expect(processesWith(ECHO_SERVER, mark)).toContain(who.pid)
  })

  it(`/ready: mode shared, 4 sessions, at most ${SHARED_CHILDREN} children; /proc: at most ${SHARED_CHILDREN} fixture processes`, async () => {
    const { status, body } = await readiness(proxy())
    expect(status).toBe(200)
    expect(body.mode).toBe('shared')
    expect(body.sessions).toBe(4)
    expect(body.children.mode).toBe('shared')
    expect(body.children.maxChildren).toBe(SHARED_CHILDREN)
    expect(body.children.children.length).toBeGreaterThanOrEqual(1)
    expect(body.children.children.length).toBeLessThanOrEqual(SHARED_CHILDREN)
    expect(body.children.queued).toBe(0)
    const pids = processesWith(ECHO_SERVER, mark)
    expect(pids.length).toBeGreaterThanOrEqual(1)
    expect(pids.length, `fixture processes: ${pids.join(', ')}`).toBeLessThanOrEqual(SHARED_CHILDREN)
    // the children /ready names are those processes
    for (const child of body.children.children) if (child.pid !== undefined) expect(pids).toContain(child.pid)
  })

  it('a client that declared neither sampling nor elicitation: its call still works, and the server ask is refused', async () => {
    const client = await plainV1(proxy(), 'no-caps')
    clients.push(client)
    expect(texts(await within(client.callTool({ name: 'echo', arguments: { text: 'plain shared call' } }), 10_000, 'echo'))).toBe('plain shared call')
    const refused = texts(await within(client.callTool({ name: 'elicit', arguments: { message: 'nobody can answer' } }), 10_000, 'elicit without the capability'))
    expect(refused).toMatch(/^elicitation error: /)
  })

  it('a v2 client (default: a 2025 session) that declares elicitation gets its own answer', async () => {
    const asked: string[] = []
    const client = new V2Client({ name: 'e2e-v2-shared', version: '2.4.0' }, { capabilities: { elicitation: {} } })
    client.setRequestHandler('elicitation/create', (request) => {
      const message = (request.params as { message: string }).message
      asked.push(message)
      return { action: 'accept', content: { name: `v2 answers ${message}` } }
    })
    await within(client.connect(new V2StreamableTransport(proxy().streamable)), 10_000, 'the v2 client to connect')
    clients.push(client)
    expect(texts(await within(client.callTool({ name: 'echo', arguments: { text: 'hello from v2' } }), 10_000, 'v2 echo'))).toBe('hello from v2')
    const result = await within(client.callTool({ name: 'elicit', arguments: { message: 'v2-question' } }), 10_000, 'v2 elicit')
    expect(JSON.parse(texts(result))).toEqual({ action: 'accept', content: { name: 'v2 answers v2-question' } })
    expect(asked).toEqual(['v2-question'])
  })

  it('a v2 client with versionNegotiation auto (2026-07-28 if offered, else 2025) calls echo', async () => {
    const client = new V2Client({ name: 'e2e-v2-auto', version: '2.4.0' }, { versionNegotiation: { mode: 'auto' } })
    await within(client.connect(new V2StreamableTransport(proxy().streamable)), 10_000, 'the v2 auto client to connect')
    clients.push(client)
    expect(texts(await within(client.callTool({ name: 'echo', arguments: { text: 'hello from v2 auto' } }), 10_000, 'v2 auto echo'))).toBe('hello from v2 auto')
  })

  it('a child crash: the crashing call fails, the sessions stay (no 404), and the child is restarted', async () => {
    const victim = await plainV1(proxy(), 'crasher')
    const other = await elicitingV1(proxy(), 'survivor', 'streamable')
    clients.push(victim, other.client)
    const sharedPids = (report: SharedReadiness): number[] => report.children.children.flatMap((c) => (c.pid === undefined ? [] : [c.pid]))
    const before = sharedPids((await readiness(proxy())).body)
    expect(before.length).toBeGreaterThanOrEqual(1)
    const crashed = await within(
      victim.callTool({ name: 'crash', arguments: {} }).then(
        (result) => ({ ok: true as const, result }),
        (error: unknown) => ({ ok: false as const, message: error instanceof Error ? error.message : String(error) }),
      ),
      10_000,
      'the crashing call to fail',
    )
    expect(crashed.ok, JSON.stringify(crashed)).toBe(false)
    // the crashed child is gone from /proc
    let gone: number[] = []
    await waitFor(() => (gone = before.filter((pid) => !processesWith(ECHO_SERVER, mark).includes(pid))).length > 0, 5000, () => `one of ${before.join(', ')} to exit`)
    // Both sessions are still served (another child, or the restarted one once its backoff is over):
    // retried, bounded, but never a 404 (the session stays).
    for (const client of [victim, other.client]) {
      let last = ''
      await waitFor(
        async () => {
          try {
            last = texts(await within(client.callTool({ name: 'echo', arguments: { text: 'after the crash' } }), 5000, 'echo after the crash'))
            return last === 'after the crash'
          } catch (error) {
            last = error instanceof Error ? error.message : String(error)
            expect(last).not.toMatch(/404|session not found/i)
            return false
          }
        },
        15_000,
        () => `echo after the crash; last: ${last}`,
      )
    }
    const result = await within(other.client.callTool({ name: 'elicit', arguments: { message: 'after-crash' } }), 10_000, 'elicit after the crash')
    expect(JSON.parse(texts(result))).toEqual({ action: 'accept', content: { name: 'after-crash-answered-by-survivor' } })
    // the crashed child is restarted (bounded wait for its backoff): every child up again, the crashed pid not among them
    let report: SharedReadiness | undefined
    await waitFor(
      async () => {
        report = (await readiness(proxy())).body
        return report.children.child.state === 'up' && report.children.children.every((c) => c.state === 'up' && c.pid !== undefined)
      },
      15_000,
      () => `every shared child up again; /ready: ${JSON.stringify(report)}`,
    )
    const after = sharedPids(report!)
    expect(after.length).toBeLessThanOrEqual(SHARED_CHILDREN)
    for (const pid of gone) expect(after).not.toContain(pid)
    for (const pid of after) expect(processesWith(ECHO_SERVER, mark)).toContain(pid)
    expect(report!.sessions).toBeGreaterThanOrEqual(2)
    expect(texts(await within(victim.callTool({ name: 'echo', arguments: { text: 'after the restart' } }), 10_000, 'echo after the restart'))).toBe('after the restart')
  })
})

describe('--child-mode shared in front of the real server-everything: sampling reaches the client that asked', { timeout: 30_000 }, () => {
  const mark = marker()
  const { proxy } = sharedProxy(() => ({ command: [process.execPath, EVERYTHING, 'stdio', mark], marks: [EVERYTHING, mark] }), ['--child-mode', 'shared'])
  const clients: Array<{ close: () => Promise<void> }> = []
  afterAll(async () => {
    await Promise.all(clients.map((c) => closeQuietly(c)))
  })

  it('trigger-sampling-request: the sampling request reaches the v1 client, its answer comes back in the tool result', async () => {
    const sampled: string[] = []
    const client = new V1Client({ name: 'e2e-shared-sampling', version: '1.0.0' }, { capabilities: { sampling: {} } })
    client.setRequestHandler(CreateMessageRequestSchema, (request) => {
      sampled.push(JSON.stringify(request.params))
      return { model: 'e2e-shared-model', role: 'assistant', content: { type: 'text', text: 'sampled through the shared child' } }
    })
    await within(client.connect(new V1StreamableTransport(proxy().streamable)), 10_000, 'the sampling client to connect')
    clients.push(client)
    expect(client.getServerVersion()?.name).toBe('mcp-servers/everything')
    // server-everything registers this tool only for a client that declared sampling: here the client it sees
    // is the proxy, which declares sampling and elicitation on the shared children.
    const { tools } = await within(client.listTools(), 10_000, 'tools/list')
    const names = tools.map((t) => t.name)
    expect(names).toContain('trigger-sampling-request')
    const result = await within(client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'shared prompt', maxTokens: 10 } }), 15_000, 'trigger-sampling-request')
    expect(sampled).toHaveLength(1)
    expect(sampled[0]).toContain('shared prompt')
    const text = texts(result)
    expect(text).toContain('sampled through the shared child')
    expect(text).toContain('e2e-shared-model')
  })

  it('a second session, without sampling, calls echo on the same children', async () => {
    const client = await plainV1(proxy(), 'e2e-shared-plain')
    clients.push(client)
    expect(texts(await within(client.callTool({ name: 'echo', arguments: { message: 'shared everything' } }), 10_000, 'echo'))).toBe('Echo: shared everything')
    const { body } = await readiness(proxy())
    expect(body.mode).toBe('shared')
    expect(body.sessions).toBe(2)
    const pids = processesWith(EVERYTHING, mark)
    expect(pids.length).toBeGreaterThanOrEqual(1)
    expect(pids.length).toBeLessThanOrEqual(body.children.maxChildren)
  })
})

describe('--child-mode shared --shared-asks refuse in front of server-everything: a server told nobody can be asked', { timeout: 30_000 }, () => {
  const mark = marker()
  const { proxy } = sharedProxy(() => ({ command: [process.execPath, EVERYTHING, 'stdio', mark], marks: [EVERYTHING, mark] }), ['--child-mode', 'shared', '--shared-asks', 'refuse', '--shared-children', '1'])
  const clients: Array<{ close: () => Promise<void> }> = []
  afterAll(async () => {
    await Promise.all(clients.map((c) => closeQuietly(c)))
  })

  it('a client that declared sampling: the server offers no sampling tool (the proxy declared none), and calls run side by side on one child', async () => {
    const client = new V1Client({ name: 'e2e-shared-refuse', version: '1.0.0' }, { capabilities: { sampling: {}, elicitation: {} } })
    client.setRequestHandler(CreateMessageRequestSchema, () => {
      throw new Error('never asked: the proxy refuses asks')
    })
    await within(client.connect(new V1StreamableTransport(proxy().streamable)), 10_000, 'the client to connect')
    clients.push(client)
    const { tools } = await within(client.listTools(), 10_000, 'tools/list')
    expect(tools.map((t) => t.name)).toContain('echo')
    expect(tools.map((t) => t.name)).not.toContain('trigger-sampling-request')
    const echoes = await within(
      Promise.all([1, 2, 3, 4].map((n) => client.callTool({ name: 'echo', arguments: { message: `side by side ${n}` } }))),
      10_000,
      'four echo calls at once',
    )
    expect(echoes.map(texts)).toEqual([1, 2, 3, 4].map((n) => `Echo: side by side ${n}`))
    const { body } = await readiness(proxy())
    expect(body.children.children).toHaveLength(1)
    expect(processesWith(EVERYTHING, mark)).toHaveLength(1)
  })
})

describe('--child-mode shared: SIGTERM', { timeout: 30_000 }, () => {
  const mark = marker()
  let proxy: Proxy | undefined
  const clients: Array<{ close: () => Promise<void> }> = []
  beforeAll(async () => {
    proxy = await startProxy([process.execPath, ECHO_SERVER, mark], [ECHO_SERVER, mark], ['--child-mode', 'shared', '--shared-children', String(SHARED_CHILDREN)])
  })
  afterAll(async () => {
    await Promise.all(clients.map((c) => closeQuietly(c)))
    // only if the test failed half-way: nothing may be left running
    if (proxy) await proxy.stop()
  })

  it('exits 0 and leaves no fixture process, with sessions open on both transports', async () => {
    const a = await elicitingV1(proxy!, 'sigterm-stream', 'streamable')
    const b = await elicitingV1(proxy!, 'sigterm-sse', 'sse')
    clients.push(a.client, b.client)
    // two eliciting calls at once: the pool grows to two children
    await within(
      Promise.all([a, b].map(({ client, name }) => client.callTool({ name: 'elicit', arguments: { message: `q-${name}` } }))),
      10_000,
      'two eliciting calls',
    )
    const children = processesWith(ECHO_SERVER, mark)
    expect(children.length).toBeGreaterThan(0)
    proxy!.proc.kill('SIGTERM')
    const code = await within(proxy!.exited, 15_000, 'the CLI to exit after SIGTERM')
    expect(code, proxy!.stderr()).toBe(0)
    let left: number[] = []
    await waitFor(() => (left = processesWith(ECHO_SERVER, mark)).length === 0, 3000, () => `no child left; alive: ${left.join(', ')}`).catch((error: unknown) => {
      killAll(left)
      throw error
    })
  })
})

describe('--child-mode shared --stateless: a usage error', { timeout: 20_000 }, () => {
  it('exits 2 with a message naming stateless, and starts no child', async () => {
    const mark = marker()
    const run = await runNode([CLI, '--port', '0', '--host', '127.0.0.1', '--log-format', 'json', '--child-mode', 'shared', '--stateless', '--', process.execPath, ECHO_SERVER, mark], {
      timeoutMs: 10_000,
      leftoverMarks: [ECHO_SERVER, mark],
    })
    expect(run.timedOut).toBe(false)
    expect(run.code, run.stderr).toBe(2)
    expect(run.stderr).toMatch(/stateless/)
    expect(run.leftovers).toEqual([])
  })
})
