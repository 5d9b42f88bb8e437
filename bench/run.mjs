// Entry point of `pnpm bench`: starts each system in turn in front of the
// stdio echo fixture, runs every selected workload against it with both
// clients, stops it, and finally prints the markdown report to stdout and
// writes it with the JSON results to bench/results/. Progress goes to stderr.
//
// The load generators run in this process. The harness does nothing else
// while a window is open except a 50 ms RSS sampler, so the client keeps one
// core to itself while the system under test (proxy + echo child) has the
// other; the "client CPU %" column shows how close the client came to
// saturating its core. Before each cell the harness waits for outside load
// to calm down and re-runs cells it disturbed anyway (quiet.mjs).
import { cpus, loadavg, release } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { killAllSync } from './processes.mjs'
import { createBudget, runQuietly } from './quiet.mjs'
import { writeReport } from './report.mjs'
import { BENCH_DIR, FIXTURE, SYSTEMS } from './systems.mjs'
import { CELLS, PAYLOAD_BYTES, measureIdle, runCell, selectCells, takesPart, wireOf } from './workloads.mjs'

const USAGE = `Usage: node bench/run.mjs [--quick] [--systems a,b] [--workloads x,y] [--warmup ms] [--window ms] [--sessions n] [--quiet-budget s]
  --quick       0.3 s warm-up + 1 s window per cell, 20 sessions (default 1 s + 3 s, 50 sessions)
  --quiet-budget  seconds the run may spend waiting out outside load and re-running
                disturbed cells (default 120, 20 with --quick; 0: never)
  --systems     ${SYSTEMS.map((s) => s.id).join(', ')}
  --workloads   cell ids (${CELLS.map((c) => c.id).join(', ')}),
                families (echo, payload, sessions), clients (sdk, light) or era (modern)`

const log = (line) => process.stderr.write(`${line}\n`)
const list = (value) => value?.split(',').map((s) => s.trim()).filter(Boolean)

function parseOptions() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      systems: { type: 'string' },
      workloads: { type: 'string' },
      warmup: { type: 'string' },
      window: { type: 'string' },
      sessions: { type: 'string' },
      'quiet-budget': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  })
  if (values.help) {
    log(USAGE)
    process.exit(0)
  }
  const systemIds = list(values.systems)
  const unknown = systemIds?.filter((id) => !SYSTEMS.some((s) => s.id === id)) ?? []
  const cells = selectCells(list(values.workloads))
  if (unknown.length || cells.length === 0) {
    log(`Unknown system(s) ${unknown.join(', ') || '—'} or no workload selected.\n${USAGE}`)
    process.exit(2)
  }
  const number = (value, fallback, min) => {
    const n = value === undefined ? fallback : Number(value)
    if (!(n >= min)) throw new Error(`expected a number >= ${min}, got ${value}`)
    return n
  }
  const positive = (value, fallback) => number(value, fallback, 1)
  return {
    systems: systemIds ? SYSTEMS.filter((s) => systemIds.includes(s.id)) : SYSTEMS,
    cells,
    warmupMs: positive(values.warmup, values.quick ? 300 : 1000),
    windowMs: positive(values.window, values.quick ? 1000 : 3000),
    sessionsCount: positive(values.sessions, values.quick ? 20 : 50),
    quietBudgetMs: number(values['quiet-budget'], values.quick ? 20 : 120, 0) * 1000,
  }
}

function summary(cell, r) {
  if (r.failed) return `FAILED: ${r.firstError}`
  const faults = r.errors || r.wrong ? `  errors ${r.errors} wrong ${r.wrong}${r.firstError ? ` (${r.firstError.split('\n')[0].slice(0, 120)})` : ''}` : ''
  if (cell.family === 'sessions') return `${r.sessions} sessions, init p50 ${r.initP50Ms.toFixed(2)} ms, first result p50 ${r.firstP50Ms.toFixed(2)} ms${faults}`
  if (cell.family === 'burst') return `${r.sessions} sessions at once, all ready in ${r.burstMs.toFixed(1)} ms${faults}`
  if (cell.family === 'idle') return `${r.sessions} idle sessions, ${(r.rssTree / 2 ** 20).toFixed(1)} MiB RSS (tree), ${r.sessionsPerGiB.toFixed(0)} sessions/GiB${faults}`
  return `${r.reqPerSec.toFixed(0)} req/s, p50 ${r.p50Ms.toFixed(3)} ms, p99 ${r.p99Ms.toFixed(3)} ms, ${r.cpuUsPerReq.tree.toFixed(0)} µs CPU/req${faults}`
}

/** Start one system, measure it idle, run every cell it takes part in against it, stop it. */
async function benchSystem(system, options, results, budget) {
  const entry = {
    id: system.id,
    label: system.label,
    group: system.group,
    modernOnly: Boolean(system.modernOnly),
    variantOf: system.variantOf ?? null,
    status: 'ok',
    note: '',
    startupMs: null,
    idleRss: null,
  }
  results.systems.push(entry)
  const cells = options.cells.filter((cell) => takesPart(system, cell))
  const reason = cells.length ? system.unavailable() : 'none of the selected workloads applies to it'
  if (reason) {
    Object.assign(entry, { status: 'skipped', note: reason })
    log(`== ${system.id}: skipped — ${reason}`)
    return
  }
  log(`== ${system.id}: starting`)
  let handle
  try {
    handle = await system.start()
  } catch (err) {
    Object.assign(entry, { status: 'failed', note: `start: ${err.message}` })
    log(`== ${system.id}: failed to start — ${err.message}`)
    return
  }
  try {
    entry.startupMs = handle.startupMs
    try {
      entry.idleRss = await measureIdle(handle, system)
    } catch (err) {
      entry.note = `idle measurement failed: ${err.message}`
      log(`   idle: ${entry.note}`)
    }
    for (const cell of cells) {
      const wire = wireOf(system, cell)
      const r = await runQuietly(() => runCell(handle, cell, { ...options, wire }), handle, budget)
      results.cells.push({ system: system.id, cell: cell.id, client: cell.client, family: cell.family, era: cell.era ?? null, wire, ...r })
      log(`   ${cell.id.padEnd(15)} ${summary(cell, r)}${r.runs > 1 ? ` (best of ${r.runs} runs: outside load)` : ''}`)
    }
    if (handle.stats) {
      const line = await handle.stats().catch((err) => `stats failed: ${err.message}`)
      entry.note = entry.note ? `${entry.note}; ${line}` : line
      log(`   ${line}`)
    }
  } finally {
    await handle.stop()
  }
}

async function main() {
  const options = parseOptions()
  const started = performance.now()
  const results = {
    meta: {
      date: new Date().toISOString(),
      node: process.version,
      cpuModel: cpus()[0]?.model ?? 'unknown CPU',
      cores: cpus().length,
      kernel: release(),
      fixture: FIXTURE,
      warmupMs: options.warmupMs,
      windowMs: options.windowMs,
      sessionsCount: options.sessionsCount,
      quietBudgetS: options.quietBudgetMs / 1000,
      quietBudgetLeftS: 0,
      payloadBytes: PAYLOAD_BYTES,
      loadAverage: { start: loadavg()[0], end: 0 },
      durationS: 0,
    },
    systems: [],
    cells: [],
  }
  const budget = createBudget(options.quietBudgetMs)
  for (const system of options.systems) await benchSystem(system, options, results, budget)
  results.meta.quietBudgetLeftS = budget.left / 1000
  results.meta.durationS = (performance.now() - started) / 1000
  results.meta.loadAverage.end = loadavg()[0]
  const dir = join(BENCH_DIR, 'results')
  process.stdout.write(writeReport(results, dir))
  log(`results written to ${dir}/ (latest.md, latest.json)`)
}

// Whatever happens, nothing the benchmark started outlives it.
process.on('exit', killAllSync)
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]]) {
  process.on(signal, () => {
    log(`\n${signal}: stopping every started process`)
    killAllSync()
    process.exit(code)
  })
}
try {
  await main()
} catch (err) {
  log(err?.stack ?? String(err))
  process.exitCode = 1
} finally {
  killAllSync()
}
