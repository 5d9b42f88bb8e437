// The systems under test, all in front of the same stdio echo fixture and all
// bound to (or at least reached on) 127.0.0.1. `start()` returns a running
// handle:
//   target   what the clients connect to (see light-client.mjs `Target`)
//   pids()   root pids whose process tree is measured (CPU, RSS)
//   startupMs  spawn -> ready (health URL answers 200); null for `direct`
//   stop()   kill the whole process tree
// `modern` says how a system takes the modern cells (workloads.mjs): 'modern'
// = spoken to in 2026-07-28, 'stateless' = the same calls as 2025 stateless
// requests (for comparison); without it the system skips them. A
// `modernOnly` system runs nothing else.
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort, spawnTracked, stopTree, waitReady } from './processes.mjs'

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url))
export const REPO_ROOT = dirname(BENCH_DIR)
export const FIXTURE = join(REPO_ROOT, 'fixtures', 'echo-server.mjs')
const OUR_CLI = join(REPO_ROOT, 'apps', 'server', 'dist', 'cli.js')
const NODE = process.execPath

/** The JS entry of an installed package's bin (run with this node, not through the shell wrapper). */
function packageBin(name) {
  const dir = join(BENCH_DIR, 'node_modules', name)
  const { bin } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
  return join(dir, typeof bin === 'string' ? bin : bin[name])
}

/** Spawn an HTTP system and wait until `healthPath` answers 200. */
async function startHttp({ args, healthPath, mcpPath, kind }) {
  const port = await freePort()
  const started = performance.now()
  const child = spawnTracked(NODE, args(port), { cwd: REPO_ROOT })
  try {
    await waitReady(`http://127.0.0.1:${port}${healthPath}`, child)
  } catch (err) {
    await stopTree(child.pid)
    throw err
  }
  return {
    target: { kind, url: `http://127.0.0.1:${port}${mcpPath}` },
    pids: () => [child.pid],
    startupMs: performance.now() - started,
    stop: () => stopTree(child.pid),
  }
}

const ours = (id, label, flags, kind, extra = {}) => ({
  id,
  label,
  group: 'ours',
  ...extra,
  unavailable: () => (existsSync(OUR_CLI) ? null : `${OUR_CLI} not built yet (run pnpm build)`),
  start: () =>
    startHttp({
      kind,
      healthPath: '/ping',
      mcpPath: kind === 'sse' ? '/sse' : '/mcp',
      args: (port) => [OUR_CLI, '--host', '127.0.0.1', '--port', String(port), ...flags, '--quiet', '--', NODE, FIXTURE],
    }),
})

/** In run order. `group` decides the role in ratios: limit, ours or peer. */
export const SYSTEMS = [
  {
    id: 'direct',
    label: 'stdio direct (limit)',
    group: 'limit',
    unavailable: () => null,
    // No process of its own: every session spawns its own echo server, whose pids are measured.
    start: async () => {
      const target = { kind: 'stdio', command: NODE, args: [FIXTURE], cwd: REPO_ROOT, pids: new Set() }
      return { target, pids: () => [...target.pids], startupMs: null, stop: async () => {} }
    },
  },
  {
    id: 'childless',
    label: 'childless node:http (limit)',
    group: 'limit',
    modern: 'modern',
    unavailable: () => null,
    start: () =>
      startHttp({
        kind: 'stream',
        healthPath: '/ping',
        mcpPath: '/mcp',
        args: (port) => [join(BENCH_DIR, 'childless-server.mjs'), '--port', String(port)],
      }),
  },
  // Per-session modes keep a pool of children started ahead, sized to the 50-session burst of the
  // sessions cells (--warm-children): a new session then takes a running child instead of spawning one.
  ours('ours-stream', 'this proxy, Streamable HTTP per-session', ['--server', 'stream', '--warm-children', '50'], 'stream'),
  ours('ours-stateless', 'this proxy, Streamable HTTP stateless', ['--server', 'stream', '--stateless'], 'stream', { modern: 'stateless' }),
  // Default flags: the 2026-07-28 leg is on, its shared child is spawned on the first modern request.
  ours('ours-modern', 'this proxy, 2026-07-28 modern leg (default flags)', [], 'stream', { modern: 'modern', modernOnly: true }),
  ours('ours-sse', 'this proxy, legacy HTTP+SSE', ['--server', 'sse', '--warm-children', '50'], 'sse'),
  {
    id: 'mcp-proxy',
    label: 'mcp-proxy 6.7.19 (/mcp)',
    group: 'peer',
    modern: 'modern', // its modern leg is on by default; --upstreamProtocol legacy (default) fits the 2025 fixture
    unavailable: () => null,
    start: () =>
      startHttp({
        kind: 'stream',
        healthPath: '/ping',
        mcpPath: '/mcp',
        args: (port) => [packageBin('mcp-proxy'), '--host', '127.0.0.1', '--port', String(port), '--', NODE, FIXTURE],
      }),
  },
  {
    id: 'supergateway',
    label: 'supergateway 4.0.0 (stateful /mcp)',
    group: 'peer',
    unavailable: () => null,
    // No --host flag: it listens on all interfaces; the benchmark only talks to 127.0.0.1.
    // --logLevel none: at the default level it logs every message, which would be measured too.
    start: () =>
      startHttp({
        kind: 'stream',
        healthPath: '/healthz',
        mcpPath: '/mcp',
        args: (port) => [
          packageBin('supergateway'),
          '--stdio', `'${NODE}' '${FIXTURE}'`,
          '--outputTransport', 'streamableHttp',
          '--stateful',
          '--port', String(port),
          '--logLevel', 'none',
          '--healthEndpoint', '/healthz',
        ],
      }),
  },
]
