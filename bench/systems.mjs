// The systems under test, all in front of the same stdio echo fixture and all
// bound to (or at least reached on) 127.0.0.1. `start()` returns a running
// handle:
//   target   what the clients connect to (see light-client.mjs `Target`)
//   pids()   root pids whose process tree is measured (CPU, RSS)
//   startupMs  spawn -> ready (health URL answers 200); null for `direct`
//   stop()   kill the whole process tree
//   allPids()  (optional) every pid the system brought, measured or not (the
//              OTLP sink): never counted as outside load
//   stats()    (optional) a line about the run, shown as the system's note
// `modern` says how a system takes the modern cells (workloads.mjs): 'modern'
// = spoken to in 2026-07-28, 'stateless' = the same calls as 2025 stateless
// requests (for comparison); without it the system skips them. A
// `modernOnly` system runs nothing else. A system with `cells` runs only
// those; one with `variantOf` is that system with something turned on, and
// the report puts it next to it (report.mjs, "Cost of metrics and tracing").
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
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

/** Spawn an HTTP system (its environment plus `env`) and wait until `healthPath` answers 200. */
async function startHttp({ args, healthPath, mcpPath, kind, env }) {
  const port = await freePort()
  const started = performance.now()
  const child = spawnTracked(NODE, args(port), { cwd: REPO_ROOT, env })
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

/** Our systems never inherit OTEL_* from the harness (with OTEL_EXPORTER_OTLP_ENDPOINT set, the proxy traces). */
const NO_OTEL = Object.fromEntries(Object.keys(process.env).filter((name) => name.startsWith('OTEL_')).map((name) => [name, undefined]))

// --drain-timeout 0: a bench stops the proxy to end it; a drain would wait for the load's sessions.
const ourArgs = (flags) => (port) => [OUR_CLI, '--host', '127.0.0.1', '--port', String(port), ...flags, '--drain-timeout', '0', '--quiet', '--', NODE, FIXTURE]
const notBuilt = () => (existsSync(OUR_CLI) ? null : `${OUR_CLI} not built yet (run pnpm build)`)

const ours = (id, label, flags, kind, extra = {}) => ({
  id,
  label,
  group: 'ours',
  ...extra,
  unavailable: notBuilt,
  start: () => startHttp({ kind, healthPath: '/ping', mcpPath: kind === 'sse' ? '/sse' : '/mcp', args: ourArgs(flags), env: NO_OTEL }),
})

/** Why the built CLI cannot run with `flags` (it does not list them in --help yet), or null. */
function lacksFlags(flags) {
  const missing = notBuilt()
  if (missing) return missing
  let help
  try {
    help = execFileSync(NODE, [OUR_CLI, '--help'], { encoding: 'utf8', timeout: 10_000 })
  } catch (err) {
    return `${OUR_CLI} --help failed: ${err.message}`
  }
  const absent = flags.filter((flag) => !new RegExp(`(^|[\\s,])${flag}([\\s,]|$)`, 'm').test(help))
  return absent.length ? `the built CLI has no ${absent.join(', ')} flag (see its --help)` : null
}

/** The OTLP sink (otlp-sink.mjs) on a free port, ready. */
async function startSink() {
  const port = await freePort()
  const child = spawnTracked(NODE, [join(BENCH_DIR, 'otlp-sink.mjs'), '--port', String(port)], { cwd: REPO_ROOT })
  try {
    await waitReady(`http://127.0.0.1:${port}/ping`, child)
  } catch (err) {
    await stopTree(child.pid)
    throw err
  }
  return { url: `http://127.0.0.1:${port}`, pid: child.pid, stop: () => stopTree(child.pid) }
}

/** The audit log of the audit variant: a file in the OS temp dir, removed when the system stops. */
const AUDIT_FILE = join(tmpdir(), `mcp-proxy-bench-audit-${process.pid}.log`)

/**
 * `ours-stream` with one observability feature turned on, for what it costs: the same flags plus
 * `flags`, in `cells` only. With `otel` the spans go to a local OTLP sink started beside the proxy
 * (OTEL_EXPORTER_OTLP_ENDPOINT); the sink is not measured, neither as the proxy nor as outside load.
 * With `audit` the proxy writes its audit log to AUDIT_FILE.
 */
const observed = (id, label, flags, { cells, otel = false, audit = false }) => {
  const all = [...flags, ...(audit ? ['--audit-log', AUDIT_FILE] : [])]
  const args = ourArgs(['--server', 'stream', '--warm-children', '50', '--max-sessions', '64', ...all])
  return {
    id,
    label,
    group: 'ours',
    variantOf: 'ours-stream',
    cells,
    unavailable: () => lacksFlags(all.filter((word) => word.startsWith('--'))),
    start: async () => {
      const sink = otel ? await startSink() : undefined
      let proxy
      try {
        const env = sink ? { ...NO_OTEL, OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_SERVICE_NAME: 'mcp-proxy-bench' } : NO_OTEL
        proxy = await startHttp({ kind: 'stream', healthPath: '/ping', mcpPath: '/mcp', args, env })
      } catch (err) {
        await sink?.stop()
        throw err
      }
      const stats = async () => {
        if (sink) {
          const { requests, bytes } = await (await fetch(`${sink.url}/stats`)).json()
          return `OTLP sink received ${requests} POSTs, ${(bytes / 2 ** 20).toFixed(1)} MiB`
        }
        if (audit) return `audit log: ${readFileSync(AUDIT_FILE, 'utf8').split('\n').length - 1} lines`
        return ''
      }
      return {
        ...proxy,
        ...(sink ? { allPids: () => [...proxy.pids(), sink.pid] } : {}),
        ...(sink || audit ? { stats } : {}),
        stop: async () => {
          await Promise.all([proxy.stop(), sink?.stop()])
          if (audit) rmSync(AUDIT_FILE, { force: true })
        },
      }
    },
  }
}

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
  {
    id: 'stdio-floor',
    label: 'bare node:http per-session relay (floor of any stdio proxy)',
    group: 'limit',
    unavailable: () => null,
    start: () =>
      startHttp({
        kind: 'stream',
        healthPath: '/ping',
        mcpPath: '/mcp',
        args: (port) => [join(BENCH_DIR, 'floor-proxy.mjs'), '--port', String(port), '--', NODE, FIXTURE],
      }),
  },
  // Per-session modes keep a pool of children started ahead, sized to the 50-session burst of the
  // sessions cells (--warm-children): a new session then takes a running child instead of spawning one.
  ours('ours-stream', 'this proxy, Streamable HTTP per-session', ['--server', 'stream', '--warm-children', '50', '--max-sessions', '64'], 'stream'),
  // Every session on a few shared, pre-initialized children: a session spawns nothing.
  ours('ours-shared', 'this proxy, Streamable HTTP, --child-mode shared', ['--server', 'stream', '--child-mode', 'shared'], 'stream'),
  ours('ours-stateless', 'this proxy, Streamable HTTP stateless', ['--server', 'stream', '--stateless'], 'stream', { modern: 'stateless' }),
  // Default flags: the 2026-07-28 leg is on, its shared child is spawned on the first modern request.
  ours('ours-modern', 'this proxy, 2026-07-28 modern leg (default flags)', [], 'stream', { modern: 'modern', modernOnly: true }),
  ours('ours-sse', 'this proxy, legacy HTTP+SSE', ['--server', 'sse', '--warm-children', '50', '--max-sessions', '64'], 'sse'),
  // The cost of observability: ours-stream (metrics and tracing off) with metrics on, then both on.
  observed('ours-stream-metrics', 'ours-stream + --metrics', ['--metrics'], { cells: ['light-echo-f8'] }),
  observed('ours-stream-metrics-otel', 'ours-stream + --metrics --otel (OTLP to a local sink)', ['--metrics', '--otel'], { cells: ['light-echo-f8'], otel: true }),
  observed('ours-stream-audit', 'ours-stream + --audit-log (a file in the temp dir)', [], { cells: ['light-echo-f8'], audit: true }),
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
