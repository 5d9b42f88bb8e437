// End-to-end tests of `mcp-proxy --config FILE`: the BUILT CLI serving every stdio server of a Claude
// Desktop / Cursor or VS Code config file under /servers/<name>/, driven by the official SDK clients (v1
// over Streamable HTTP and legacy SSE, v2 negotiating 2026-07-28) and by raw 2026-07-28 requests. Covers
// the file formats and their variables, per-server settings (tool filters), a server that cannot start,
// SIGHUP reloads, SIGTERM and metrics. Every server's arguments carry a unique marker so that its processes
// can be found in /proc; every wait is bounded; every proxy is stopped and every temp dir removed.
import type { ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js'
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js'
import { StreamableHTTPClientTransport as V1StreamableTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { Client as V2Client, StreamableHTTPClientTransport as V2StreamableTransport, type CallToolResult } from '@modelcontextprotocol/client'
import { CLI, ECHO_SERVER, EVERYTHING, cleanEnv, killAll, launchCli, marker, processesWith, processesWithAny, runNode, waitFor, within, type LogLine } from './helpers.js'

const MODERN = '2026-07-28'
const PROTOCOL_VERSION_KEY = 'io.modelcontextprotocol/protocolVersion'

// ---- config files ----

/** A temp dir per describe, removed in its afterAll. */
function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'mcp-proxy-config-e2e-'))
}

/** A stdio entry running the echo fixture, with its marker (the fixture ignores extra arguments). */
function echoEntry(mark: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { command: process.execPath, args: [ECHO_SERVER, mark], ...extra }
}

function writeJson(path: string, value: unknown): void {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`)
}

// ---- the CLI with --config ----

/** One server as the "MCP proxy ready:" line names it (absolute URLs). */
interface ReadyServer {
  name: string
  status: string
  streamable?: string
  sse?: string
}

/** One server as GET /servers reports it (paths). */
interface ServerReport {
  name: string
  status: 'ready' | 'failed' | 'starting' | 'draining'
  streamable?: string
  sse?: string
  error?: string
  health?: Record<string, unknown>
}

interface ConfigProxy {
  proc: ChildProcess
  /** http://127.0.0.1:PORT */
  base: string
  /** The ready line's `list` (…/servers). */
  list: string
  /** The ready line's `servers`. */
  servers: ReadyServer[]
  /** `${base}/servers/<name>/mcp` */
  streamable: (name: string) => URL
  stderr: () => string
  logs: () => LogLine[]
  exited: Promise<number | string>
  /**
   * SIGTERM (SIGKILL after 5 s), then a bounded wait until no process carries one of `marks`; returns the
   * exit code and the pids still alive after the wait (SIGKILLed, reported).
   */
  stop: (marks: string[]) => Promise<{ code: number | string; leftovers: number[] }>
}

/**
 * `node CLI --port 0 --host 127.0.0.1 --log-format json --config FILE [flags]` (helpers' startProxy always
 * appends `-- <server…>`, which --config refuses). Resolves once the "MCP proxy ready:" line is logged
 * (bounded: 15 s, since server-everything takes a moment to start).
 */
async function startConfigProxy(file: string, flags: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<ConfigProxy> {
  const cli = await launchCli(['--config', file, ...flags], (line) => typeof line.list === 'string', { env, readyMs: 15_000 })
  const list = cli.ready.list as string
  const base = new URL(list).origin
  return {
    proc: cli.proc,
    base,
    list,
    servers: cli.ready.servers as ReadyServer[],
    streamable: (name) => new URL(`${base}/servers/${name}/mcp`),
    stderr: cli.stderr,
    logs: cli.logs,
    exited: cli.exited,
    stop: (marks) => cli.stop(() => processesWithAny(marks)),
  }
}

/**
 * A proxy for the tests of one describe: started in beforeAll from the file `write()` returns, stopped in
 * afterAll with the check that it exits 0 and leaves no process of any server behind.
 */
function configProxyForDescribe(setup: () => { file: string; marks: string[]; flags?: string[]; env?: NodeJS.ProcessEnv; dir: string }): () => ConfigProxy {
  let proxy: ConfigProxy | undefined
  let marks: string[] = []
  let dir: string | undefined
  beforeAll(async () => {
    const s = setup()
    marks = s.marks
    dir = s.dir
    proxy = await startConfigProxy(s.file, s.flags, s.env)
  })
  afterAll(async () => {
    try {
      if (proxy) {
        const { code, leftovers } = await proxy.stop(marks)
        expect(code, proxy.stderr()).toBe(0)
        expect(leftovers).toEqual([])
      }
    } finally {
      if (dir) rmSync(dir, { recursive: true, force: true })
    }
  })
  return () => {
    if (!proxy) throw new Error('the proxy is not running')
    return proxy
  }
}

async function getJson<T>(url: string): Promise<{ status: number; body: T }> {
  const response = await within(fetch(url), 5000, `GET ${url}`)
  return { status: response.status, body: (await response.json()) as T }
}

async function listServers(proxy: ConfigProxy): Promise<ServerReport[]> {
  return (await getJson<{ servers: ServerReport[] }>(`${proxy.base}/servers`)).body.servers
}

// ---- clients ----

/** The text of every text content item of a tool result (any client's). */
function texts(result: unknown): string {
  return (result as CallToolResult).content.flatMap((c) => (c.type === 'text' ? [c.text] : [])).join('\n')
}

/** A v1 client connected over Streamable HTTP (bounded). */
async function v1Streamable(url: URL): Promise<{ client: V1Client; transport: V1StreamableTransport }> {
  const client = new V1Client({ name: 'e2e-config-v1', version: '1.0.0' })
  const transport = new V1StreamableTransport(url)
  await within(client.connect(transport), 10_000, `a v1 client to connect to ${url.href}`)
  return { client, transport }
}

/** Close a client, bounded, ignoring errors (its server may be gone already). */
async function closeQuietly(client: { close: () => Promise<void> } | undefined): Promise<void> {
  if (client) await within(client.close(), 5000, 'client close()').catch(() => undefined)
}

/** The JSON-RPC error a client call was refused with (fails the test when it succeeded). */
async function refusal(call: Promise<unknown>): Promise<{ code: unknown; message: string }> {
  try {
    const result = await within(call, 10_000, 'a refused call')
    throw new Error(`expected a JSON-RPC error, got the result ${JSON.stringify(result)}`)
  } catch (error) {
    const e = error as { code?: unknown; message?: string }
    return { code: e.code, message: e.message ?? String(error) }
  }
}

/** A 2026-07-28 request as a conforming client sends it: the `_meta` envelope plus Mcp-Method / Mcp-Name. */
async function modernPost(url: URL, id: number, method: string, params: Record<string, unknown> = {}): Promise<{ status: number; message: Record<string, unknown> | undefined; raw: string }> {
  const body = {
    jsonrpc: '2.0',
    id,
    method,
    params: {
      ...params,
      _meta: {
        [PROTOCOL_VERSION_KEY]: MODERN,
        'io.modelcontextprotocol/clientInfo': { name: 'e2e-config-modern', version: '1.0.0' },
        'io.modelcontextprotocol/clientCapabilities': {},
      },
    },
  }
  const headers: Record<string, string> = {
    accept: 'application/json, text/event-stream',
    'content-type': 'application/json',
    'mcp-protocol-version': MODERN,
    'mcp-method': method,
  }
  if (method === 'tools/call' && typeof params.name === 'string') headers['mcp-name'] = params.name
  const response = await within(fetch(url, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) }), 10_000, `POST ${method}`)
  const raw = await within(response.text(), 10_000, `the answer body of ${method}`)
  // a JSON body, or an SSE stream whose events carry JSON-RPC messages: the answer is the one with our id
  const candidates = (response.headers.get('content-type') ?? '').startsWith('text/event-stream')
    ? raw
        .split(/\r?\n/)
        .filter((l) => l.startsWith('data:') && l.length > 5)
        .map((l) => JSON.parse(l.slice(5).trim()) as Record<string, unknown>)
    : raw === ''
      ? []
      : [JSON.parse(raw) as Record<string, unknown>]
  return { status: response.status, message: candidates.find((m) => m.id === id), raw }
}

/** The names of tools/list of a 2026-07-28 request. */
async function modernToolNames(url: URL): Promise<string[]> {
  const { status, message, raw } = await modernPost(url, 1, 'tools/list')
  expect(status, raw).toBe(200)
  return ((message?.result as { tools?: { name: string }[] } | undefined)?.tools ?? []).map((t) => t.name).sort()
}

// ---- child processes as the logs name them ----

/** The pids of the children `server` opened sessions on ("session opened" lines carry childPid). */
function sessionChildPids(proxy: ConfigProxy, server: string): number[] {
  return proxy
    .logs()
    .filter((l) => l.msg === 'session opened' && l.server === server && typeof l.childPid === 'number')
    .map((l) => l.childPid as number)
}

/** `snapshot()` once it has not changed for 500 ms (bounded: 8 s). */
async function settled<T>(snapshot: () => T): Promise<T> {
  let last = JSON.stringify(snapshot())
  let since = Date.now()
  await waitFor(
    () => {
      const now = JSON.stringify(snapshot())
      if (now !== last) {
        last = now
        since = Date.now()
      }
      return Date.now() - since >= 500
    },
    8000,
    () => `the processes to settle; last: ${last}`,
  )
  return JSON.parse(last) as T
}

// =====================================================================================================

describe('a Claude Desktop style file: echo, everything, a broken entry and a remote entry', { timeout: 30_000 }, () => {
  const echoMark = marker()
  const everythingMark = marker()
  const proxy = configProxyForDescribe(() => {
    const dir = tempDir()
    const file = join(dir, 'claude_desktop_config.json')
    writeJson(file, {
      mcpServers: {
        echo: echoEntry(echoMark),
        // server-everything's tools starting with get- (get-sum, get-env …) are hidden on this server only
        everything: { command: process.execPath, args: [EVERYTHING, 'stdio', everythingMark], 'x-mcp-proxy': { deniedTools: ['get-*'] } },
        broken: { command: '/no/such/command', args: [] },
        remote: { url: 'https://example.invalid/mcp' },
      },
    })
    return { file, dir, marks: [echoMark, everythingMark], flags: ['--metrics', '--metrics-public'] }
  })

  it('names every served server with its URLs in the ready line, not the remote one', () => {
    const byName = Object.fromEntries(proxy().servers.map((s) => [s.name, s]))
    expect(Object.keys(byName).sort()).toEqual(['broken', 'echo', 'everything'])
    expect(byName.echo).toMatchObject({ status: 'ready', streamable: `${proxy().base}/servers/echo/mcp`, sse: `${proxy().base}/servers/echo/sse` })
    expect(byName.everything).toMatchObject({ status: 'ready', streamable: `${proxy().base}/servers/everything/mcp` })
    expect(byName.broken?.status).toBe('failed')
    expect(proxy().list).toBe(`${proxy().base}/servers`)
  })

  it('logged a warning for the remote entry it skipped', () => {
    const warning = proxy()
      .logs()
      .find((l) => l.level === 40 && l.msg.includes('server remote') && l.msg.includes('skipped'))
    expect(warning, proxy().stderr()).toBeDefined()
    expect(warning!.msg).toContain('remote server')
  })

  it('GET /servers: echo and everything ready, broken failed with its error', async () => {
    const servers = await listServers(proxy())
    expect(servers.map((s) => s.name)).toEqual(['echo', 'everything', 'broken'])
    const [echo, everything, broken] = servers
    expect(echo).toMatchObject({ name: 'echo', status: 'ready', streamable: '/servers/echo/mcp', sse: '/servers/echo/sse' })
    expect(echo!.health).toBeDefined()
    expect(everything).toMatchObject({ name: 'everything', status: 'ready', streamable: '/servers/everything/mcp' })
    expect(broken).toMatchObject({ name: 'broken', status: 'failed' })
    expect(broken!.error).toEqual(expect.any(String))
    expect(broken!.error!.length).toBeGreaterThan(0)
  })

  it('GET /ready: 200 while at least one server is ready (2 of 3)', async () => {
    const { status, body } = await getJson<{ status: string; servers: { ready: number; total: number } }>(`${proxy().base}/ready`)
    expect(status).toBe(200)
    expect(body).toEqual({ status: 'ready', servers: { ready: 2, total: 3 } })
  })

  it('POST /servers/broken/mcp: 503 with a JSON-RPC error whose reason is MCP_PROXY_SERVER_UNAVAILABLE', async () => {
    const response = await within(
      fetch(`${proxy().base}/servers/broken/mcp`, {
        method: 'POST',
        headers: { accept: 'application/json, text/event-stream', 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
      }),
      5000,
      'POST /servers/broken/mcp',
    )
    expect(response.status).toBe(503)
    const body = (await response.json()) as { error?: { data?: { reason?: string } } }
    expect(body.error?.data?.reason).toBe('MCP_PROXY_SERVER_UNAVAILABLE')
  })

  it('POST /servers/unknown/mcp: 404', async () => {
    const response = await within(
      fetch(`${proxy().base}/servers/unknown/mcp`, {
        method: 'POST',
        headers: { accept: 'application/json, text/event-stream', 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
      }),
      5000,
      'POST /servers/unknown/mcp',
    )
    expect(response.status).toBe(404)
    await response.body?.cancel()
  })

  it('serves echo to a v1 client over Streamable HTTP', async () => {
    const { client } = await v1Streamable(proxy().streamable('echo'))
    try {
      const { tools } = await client.listTools()
      expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['echo', 'add']))
      expect(texts(await client.callTool({ name: 'echo', arguments: { text: 'hello over streamable' } }))).toBe('hello over streamable')
      expect(texts(await client.callTool({ name: 'add', arguments: { a: 19, b: 23 } }))).toBe('42')
    } finally {
      await closeQuietly(client)
    }
  })

  it('serves echo to a v1 client over legacy SSE (/servers/echo/sse)', async () => {
    const client = new V1Client({ name: 'e2e-config-v1-sse', version: '1.0.0' })
    await within(client.connect(new SSEClientTransport(new URL(`${proxy().base}/servers/echo/sse`))), 10_000, 'a v1 SSE client to connect')
    try {
      expect(texts(await client.callTool({ name: 'echo', arguments: { text: 'hello over sse' } }))).toBe('hello over sse')
    } finally {
      await closeQuietly(client)
    }
  })

  it('serves everything to the v2 client (2026-07-28): get-* tools hidden and refused, the others served', async () => {
    const client = new V2Client({ name: 'e2e-config-v2', version: '2.4.0' }, { versionNegotiation: { mode: 'auto' } })
    await within(client.connect(new V2StreamableTransport(proxy().streamable('everything'))), 10_000, 'the v2 client to connect')
    try {
      expect(client.getNegotiatedProtocolVersion()).toBe(MODERN)
      const names = (await client.listTools()).tools.map((t) => t.name)
      expect(names).toContain('echo')
      expect(names.filter((n) => n.startsWith('get-'))).toEqual([])
      expect(texts(await client.callTool({ name: 'echo', arguments: { message: 'hi from v2' } }))).toBe('Echo: hi from v2')
      const refused = await refusal(client.callTool({ name: 'get-sum', arguments: { a: 1, b: 2 } }))
      expect(refused.code).toBe(-32602)
      expect(refused.message).toContain('Unknown tool: get-sum')
    } finally {
      await closeQuietly(client)
    }
  })

  it('labels every line of a server with its name', () => {
    const opened = proxy()
      .logs()
      .filter((l) => l.msg === 'session opened')
    expect(opened.length).toBeGreaterThan(0)
    for (const line of opened) expect(['echo', 'everything']).toContain(line.server)
    expect(proxy().logs().some((l) => l.server === 'broken' && l.msg.includes('failed to start'))).toBe(true)
  })

  it('--metrics: /servers/echo/metrics has series labelled server="echo"', async () => {
    const response = await within(fetch(`${proxy().base}/servers/echo/metrics`), 5000, 'GET /servers/echo/metrics')
    expect(response.status).toBe(200)
    const text = await response.text()
    expect(text).toContain('server="echo"')
    expect(text).not.toContain('server="everything"')
  })
})

describe('a VS Code style file (.vscode/mcp.json): variables, envFile, cwd', { timeout: 30_000 }, () => {
  const mark = marker()
  let ws = ''
  const proxy = configProxyForDescribe(() => {
    const dir = tempDir()
    ws = join(dir, 'ws')
    mkdirSync(join(ws, '.vscode'), { recursive: true })
    mkdirSync(join(ws, 'work'))
    writeFileSync(join(ws, 'dev.env'), '# the envFile\nFROM_ENV_FILE=from the file\nexport QUOTED="two words"\n')
    const file = join(ws, '.vscode', 'mcp.json')
    // JSONC: a comment and trailing commas, as VS Code writes and accepts them
    writeFileSync(
      file,
      `// the MCP servers of this workspace
{
  "inputs": [],
  "servers": {
    "echo": {
      "type": "stdio",
      "command": ${JSON.stringify(process.execPath)},
      "args": [${JSON.stringify(ECHO_SERVER)}, ${JSON.stringify(mark)}, "--folder=\${workspaceFolder}"],
      "cwd": "\${workspaceFolder}/work",
      "env": { "GREETING": "\${env:E2E_GREETING}", "HOME_SEEN": "\${userHome}", },
      "envFile": "\${workspaceFolder}/dev.env",
    },
  },
}
`,
    )
    return { file, dir, marks: [mark], env: { E2E_GREETING: 'hello from the environment' } }
  })

  it('starts the child with the expanded env, envFile values, args and cwd', async () => {
    const { client } = await v1Streamable(proxy().streamable('echo'))
    try {
      const env = async (name: string): Promise<string> => texts(await client.callTool({ name: 'env', arguments: { name } }))
      expect(await env('GREETING')).toBe('hello from the environment')
      expect(await env('HOME_SEEN')).toBe(homedir())
      expect(await env('FROM_ENV_FILE')).toBe('from the file')
      expect(await env('QUOTED')).toBe('two words')
      // the child of this session, as the "session opened" line names it
      const pids = sessionChildPids(proxy(), 'echo')
      expect(pids.length, proxy().stderr()).toBeGreaterThan(0)
      const pid = pids.at(-1)!
      expect(readlinkSync(`/proc/${pid}/cwd`)).toBe(join(ws, 'work'))
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
      expect(cmdline).toContain(`--folder=${ws}`)
      expect(cmdline).toContain(mark)
    } finally {
      await closeQuietly(client)
    }
  })
})

describe('tool filtering (allowedTools + deniedTools) on one server, in both eras', { timeout: 30_000 }, () => {
  const mark = marker()
  const plainMark = marker()
  const url = (): URL => proxy().streamable('filtered')
  const proxy = configProxyForDescribe(() => {
    const dir = tempDir()
    const file = join(dir, 'mcp.json')
    writeJson(file, {
      // the file's defaults: every server hides slow and crash …
      'x-mcp-proxy': { deniedTools: ['slow', 'crash'] },
      mcpServers: {
        // … but an entry's own setting replaces the default (shallow): visible are echo and add; whoami is
        // allowed but denied (denied wins), slow is not allowed
        filtered: echoEntry(mark, { 'x-mcp-proxy': { allowedTools: ['echo', 'add', 'who*'], deniedTools: ['whoami'] } }),
        plain: echoEntry(plainMark),
      },
    })
    return { file, dir, marks: [mark, plainMark] }
  })

  it('the file-level x-mcp-proxy is the default of a server without its own', async () => {
    const { client } = await v1Streamable(proxy().streamable('plain'))
    try {
      const names = (await client.listTools()).tools.map((t) => t.name)
      expect(names).toEqual(expect.arrayContaining(['echo', 'whoami']))
      expect(names).not.toContain('slow')
      expect(names).not.toContain('crash')
      const refused = await refusal(client.callTool({ name: 'slow', arguments: { ms: 1 } }))
      expect(refused.code).toBe(-32602)
    } finally {
      await closeQuietly(client)
    }
  })

  it('2025 session (v1 client): only the allowed, not denied tools are listed; the others are refused with -32602', async () => {
    const { client } = await v1Streamable(url())
    try {
      expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual(['add', 'echo'])
      expect(texts(await client.callTool({ name: 'echo', arguments: { text: 'allowed' } }))).toBe('allowed')
      for (const name of ['whoami', 'slow']) {
        const refused = await refusal(client.callTool({ name, arguments: {} }))
        expect(refused.code, name).toBe(-32602)
        expect(refused.message, name).toContain(`Unknown tool: ${name}`)
      }
    } finally {
      await closeQuietly(client)
    }
  })

  it('2026-07-28 requests: the same tools listed, the same refusals', async () => {
    expect(await modernToolNames(url())).toEqual(['add', 'echo'])
    const allowed = await modernPost(url(), 2, 'tools/call', { name: 'echo', arguments: { text: 'modern allowed' } })
    expect(allowed.status, allowed.raw).toBe(200)
    expect(texts(allowed.message?.result)).toBe('modern allowed')
    for (const name of ['whoami', 'slow']) {
      const refused = await modernPost(url(), 3, 'tools/call', { name, arguments: {} })
      const error = refused.message?.error as { code?: number; message?: string } | undefined
      expect(error?.code, refused.raw).toBe(-32602)
      expect(error?.message, refused.raw).toContain(`Unknown tool: ${name}`)
    }
  })
})

describe('--ready-requires-all: /ready needs every server', { timeout: 30_000 }, () => {
  const mark = marker()
  const proxy = configProxyForDescribe(() => {
    const dir = tempDir()
    const file = join(dir, 'mcp.json')
    writeJson(file, { mcpServers: { echo: echoEntry(mark), broken: { command: '/no/such/command' } } })
    return { file, dir, marks: [mark], flags: ['--ready-requires-all'] }
  })

  it('503 while one server failed, though echo still serves', async () => {
    const { status, body } = await getJson<{ status: string; servers: { ready: number; total: number } }>(`${proxy().base}/ready`)
    expect(status).toBe(503)
    expect(body.servers).toEqual({ ready: 1, total: 2 })
    const { client } = await v1Streamable(proxy().streamable('echo'))
    try {
      expect(texts(await client.callTool({ name: 'echo', arguments: { text: 'still served' } }))).toBe('still served')
    } finally {
      await closeQuietly(client)
    }
  })
})

describe('variables that cannot be expanded: usage errors (exit 2)', { timeout: 20_000 }, () => {
  let dir = ''
  beforeAll(() => {
    dir = tempDir()
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  /** Run the CLI on `file` (bounded); it must not get as far as starting anything. */
  async function runOn(file: string, mark: string): Promise<{ code: number | string; stderr: string }> {
    const env = cleanEnv()
    delete env.E2E_CONFIG_NOPE
    const run = await runNode([CLI, '--port', '0', '--host', '127.0.0.1', '--log-format', 'json', '--config', file], { env, timeoutMs: 10_000, leftoverMarks: [mark] })
    expect(run.timedOut).toBe(false)
    expect(run.leftovers).toEqual([])
    return run
  }

  it('an undefined ${env:NAME}: exit 2, the message names the file, the server and the key', async () => {
    const mark = marker()
    const file = join(dir, 'unset-env.json')
    writeJson(file, { mcpServers: { keyed: echoEntry(mark, { env: { API_KEY: '${env:E2E_CONFIG_NOPE}' } }) } })
    const { code, stderr } = await runOn(file, mark)
    expect(code, stderr).toBe(2)
    expect(stderr).toContain(file)
    expect(stderr).toContain('server keyed')
    expect(stderr).toContain('env.API_KEY')
    expect(stderr).toContain('${env:E2E_CONFIG_NOPE}')
  })

  it('${input:token}: exit 2', async () => {
    const mark = marker()
    const file = join(dir, 'input.json')
    writeJson(file, { inputs: [{ id: 'token', type: 'promptString' }], servers: { prompted: { type: 'stdio', ...echoEntry(mark, { env: { TOKEN: '${input:token}' } }) } } })
    const { code, stderr } = await runOn(file, mark)
    expect(code, stderr).toBe(2)
    expect(stderr).toContain('${input:token}')
    expect(stderr).toContain('server prompted')
  })
})

describe('SIGHUP: the file read again', { timeout: 45_000 }, () => {
  const marks = { a: marker(), b: marker(), c: marker(), d: marker() }
  let file = ''
  const write = (servers: Record<string, unknown>): void => writeJson(file, { mcpServers: servers })
  const proxy = configProxyForDescribe(() => {
    const dir = tempDir()
    file = join(dir, 'mcp.json')
    write({ a: echoEntry(marks.a), b: echoEntry(marks.b), c: echoEntry(marks.c) })
    return { file, dir, marks: Object.values(marks) }
  })

  // sessions opened before the reload
  let onA: { client: V1Client; transport: V1StreamableTransport } | undefined
  let onB: V1Client | undefined
  let onC: V1Client | undefined
  let oldC: number[] = []
  afterAll(async () => {
    await Promise.all([closeQuietly(onA?.client), closeQuietly(onB), closeQuietly(onC)])
  })

  /** Send SIGHUP and wait (bounded) for the `count`th line matching `match`. */
  async function hangUp(match: (line: LogLine) => boolean): Promise<LogLine> {
    const before = proxy().logs().filter(match).length
    proxy().proc.kill('SIGHUP')
    let line: LogLine | undefined
    await waitFor(
      () => (line = proxy().logs().filter(match)[before]) !== undefined,
      15_000,
      () => `the log line after SIGHUP; stderr:\n${proxy().stderr()}`,
    )
    return line!
  }

  it('serves a, b and c; a session on each', async () => {
    expect((await listServers(proxy())).map((s) => [s.name, s.status])).toEqual([
      ['a', 'ready'],
      ['b', 'ready'],
      ['c', 'ready'],
    ])
    onA = await v1Streamable(proxy().streamable('a'))
    onB = (await v1Streamable(proxy().streamable('b'))).client
    onC = (await v1Streamable(proxy().streamable('c'))).client
    expect(texts(await onA.client.callTool({ name: 'echo', arguments: { text: 'a before' } }))).toBe('a before')
    expect(texts(await onC.callTool({ name: 'echo', arguments: { text: 'c before' } }))).toBe('c before')
    expect(processesWith(marks.b).length).toBeGreaterThan(0)
    oldC = processesWith(marks.c)
    expect(oldC.length).toBeGreaterThan(0)
  })

  it('b removed, c changed, d added, a unchanged: the reloaded line sums it up', async () => {
    expect(onA, 'the previous test opened the sessions').toBeDefined()
    // c gets one more argument (a different fingerprint); a stays byte for byte the same entry
    write({ a: echoEntry(marks.a), c: { command: process.execPath, args: [ECHO_SERVER, marks.c, '--changed'] }, d: echoEntry(marks.d) })
    const line = await hangUp((l) => l.msg.startsWith('reloaded '))
    expect(line.msg).toBe(`reloaded ${file}`)
    expect({ added: line.added, removed: line.removed, changed: line.changed, unchanged: line.unchanged }).toEqual({ added: ['d'], removed: ['b'], changed: ['c'], unchanged: ['a'] })
  })

  it('the session on a (unchanged) goes on: same session id, tools/call works', async () => {
    const sessionBefore = onA!.transport.sessionId
    expect(sessionBefore).toEqual(expect.any(String))
    expect(texts(await onA!.client.callTool({ name: 'echo', arguments: { text: 'a after' } }))).toBe('a after')
    expect(onA!.transport.sessionId).toBe(sessionBefore)
  })

  it('b is gone from /servers (listed as draining until its drain is over), and its processes stop', async () => {
    let servers = await listServers(proxy())
    // A removed server stays listed, draining, while its open sessions (none here) may still finish.
    const b = servers.find((s) => s.name === 'b')
    if (b) expect(b.status, JSON.stringify(servers)).toBe('draining')
    await waitFor(async () => !(servers = await listServers(proxy())).some((s) => s.name === 'b'), 10_000, () => `b to leave /servers: ${JSON.stringify(servers)}`)
    expect(servers.map((s) => s.name).sort()).toEqual(['a', 'c', 'd'])
    expect(servers.every((s) => s.status === 'ready'), JSON.stringify(servers)).toBe(true)
    await waitFor(() => processesWith(marks.b).length === 0, 10_000, () => `b's processes to stop: ${processesWith(marks.b).join(', ')}`)
    // Once b's stop is over, its paths are unknown ones (404). While its app is still closing, the proxy
    // answers 503 (seen in a few runs for ~100 ms): waited for, bounded, and the answers seen are reported.
    const seen: string[] = []
    await waitFor(
      async () => {
        const response = await within(fetch(`${proxy().base}/servers/b/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{}' }), 5000, 'POST /servers/b/mcp')
        const text = await response.text()
        if (seen.at(-1) !== `${response.status} ${text}`) seen.push(`${response.status} ${text}`)
        return response.status === 404
      },
      5000,
      () => `404 for /servers/b/mcp; got:\n${seen.join('\n')}`,
    )
    if (seen.length > 1) console.info(`answers of /servers/b/mcp before the 404:\n${seen.join('\n')}`)
  })

  it('c restarted: its old children stop, the new one (with the new argument) answers', async () => {
    await waitFor(() => processesWith(marks.c).every((pid) => !oldC.includes(pid)), 10_000, () => `c's old children ${oldC.join(', ')} to stop`)
    const { client } = await v1Streamable(proxy().streamable('c'))
    try {
      expect(texts(await client.callTool({ name: 'echo', arguments: { text: 'c after' } }))).toBe('c after')
      expect(processesWith(marks.c, '--changed').length).toBeGreaterThan(0)
    } finally {
      await closeQuietly(client)
    }
  })

  it('d answers', async () => {
    const { client } = await v1Streamable(proxy().streamable('d'))
    try {
      expect(texts(await client.callTool({ name: 'echo', arguments: { text: 'd new' } }))).toBe('d new')
    } finally {
      await closeQuietly(client)
    }
  })

  it('a broken file: nothing changes, the error is logged', async () => {
    // Sessions closed by the previous tests stop their children and the warm child is replaced in the
    // background: wait until the process set settles, so that any change after the SIGHUP is the reload's.
    const snapshot = (): Record<string, number[]> => ({ a: processesWith(marks.a).sort(), c: processesWith(marks.c).sort(), d: processesWith(marks.d).sort() })
    const pidsBefore = await settled(snapshot)
    writeFileSync(file, '{ "mcpServers": { "a": ')
    const line = await hangUp((l) => l.msg.includes('reload of'))
    expect(line.level).toBeGreaterThanOrEqual(50)
    expect(line.msg).toContain(file)
    const servers = await listServers(proxy())
    expect(servers.map((s) => [s.name, s.status])).toEqual([
      ['a', 'ready'],
      ['c', 'ready'],
      ['d', 'ready'],
    ])
    expect(snapshot()).toEqual(pidsBefore)
    expect(texts(await onA!.client.callTool({ name: 'echo', arguments: { text: 'a after the broken file' } }))).toBe('a after the broken file')
    // no second "reloaded" line
    expect(proxy().logs().filter((l) => l.msg.startsWith('reloaded '))).toHaveLength(1)
  })
})

describe('SIGTERM: every server drained, exit 0, no child left', { timeout: 30_000 }, () => {
  const echoMark = marker()
  const everythingMark = marker()
  let dir = ''
  let proxy: ConfigProxy | undefined
  const clients: V1Client[] = []

  beforeAll(async () => {
    dir = tempDir()
    const file = join(dir, 'mcp.json')
    writeJson(file, { mcpServers: { echo: echoEntry(echoMark), everything: { command: process.execPath, args: [EVERYTHING, 'stdio', everythingMark] } } })
    proxy = await startConfigProxy(file)
  })
  afterAll(async () => {
    await Promise.all(clients.map((c) => closeQuietly(c)))
    // only if the test failed half-way: nothing may be left running
    if (proxy) await proxy.stop([echoMark, everythingMark])
    rmSync(dir, { recursive: true, force: true })
  })

  it('exits 0 and leaves no process of either server', async () => {
    // open sessions on both, so that there are session children as well as the warm ones
    for (const name of ['echo', 'everything']) clients.push((await v1Streamable(proxy!.streamable(name))).client)
    expect(processesWith(echoMark).length).toBeGreaterThan(0)
    expect(processesWith(everythingMark).length).toBeGreaterThan(0)
    proxy!.proc.kill('SIGTERM')
    const code = await within(proxy!.exited, 15_000, 'the CLI to exit after SIGTERM')
    expect(code, proxy!.stderr()).toBe(0)
    let left: number[] = []
    await waitFor(() => (left = processesWithAny([echoMark, everythingMark])).length === 0, 3000, () => `no child left; alive: ${left.join(', ')}`).catch((error: unknown) => {
      killAll(left)
      throw error
    })
  })
})
