// Turns the collected results into ratios, a markdown report and files in
// bench/results/ (a timestamped .json/.md pair plus latest.json/latest.md).
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DISTURBED_PCT } from './quiet.mjs'
import { evaluateTargets } from './targets.mjs'

const MiB = 1024 * 1024
/** Cells measured as a closed loop (req/s, latency); the others open sessions. */
const LOOP_FAMILIES = new Set(['echo', 'payload'])
/** Systems every load cell is compared with (same cell, same client). */
const REFERENCES = { vsMcpProxy: 'mcp-proxy', ofDirect: 'direct', ofChildless: 'childless', ofFloor: 'stdio-floor', vsStateless: 'ours-stateless' }

/** Add `ratios` (req/s of this system / req/s of the reference) to every load cell. */
export function addRatios(results) {
  for (const cell of results.cells) {
    if (!LOOP_FAMILIES.has(cell.family) || cell.failed) continue
    cell.ratios = {}
    for (const [key, refId] of Object.entries(REFERENCES)) {
      const ref = results.cells.find((c) => c.system === refId && c.cell === cell.cell && !c.failed)
      cell.ratios[key] = ref?.reqPerSec ? cell.reqPerSec / ref.reqPerSec : null
    }
  }
}

const num = (value, digits) => (value === null || value === undefined || Number.isNaN(value) ? '—' : value.toFixed(digits))
/** Three significant-ish digits: 12345 -> "12345", 12.345 -> "12.3", 0.1234 -> "0.123". */
const auto = (value) => {
  if (value === null || value === undefined || Number.isNaN(value)) return '—'
  const size = Math.abs(value)
  return num(value, size >= 100 ? 0 : size >= 10 ? 1 : size >= 1 ? 2 : 3)
}
const mib = (bytes) => (bytes ? num(bytes / MiB, 1) : '—')
const ratio = (value) => (value === null || value === undefined ? '—' : `${value.toFixed(2)}×`)
const row = (cells) => `| ${cells.join(' | ')} |`
const table = (header, rows) => [row(header), row(header.map(() => '---')), ...rows.map(row)].join('\n')

function systemsTable(results) {
  return table(
    ['system', 'what', 'status', 'startup ms', 'idle RSS proxy MiB', 'idle RSS tree MiB'],
    results.systems.map((s) => [
      s.id,
      s.label,
      (s.status === 'ok' ? (s.note ? `ok (${s.note})` : 'ok') : `${s.status}: ${s.note}`).replace(/\s+/g, ' ').slice(0, 160),
      auto(s.startupMs),
      s.id === 'direct' ? '—' : mib(s.idleRss?.proxy),
      mib(s.idleRss?.tree),
    ]),
  )
}

const LOOP_HEADER = ['p50 ms', 'p99 ms', 'CPU µs/req tree', 'CPU µs/req proxy', 'peak RSS proxy MiB', 'peak RSS tree MiB', 'client CPU %', 'other CPU %', 'errors', 'wrong']

/** The figures of a closed-loop row from p50 to wrong answers (LOOP_HEADER). */
function loopFigures(c) {
  const direct = c.system === 'direct' // no proxy process: the tree is the echo servers themselves
  return [
    num(c.p50Ms, 3),
    num(c.p99Ms, 3),
    auto(c.cpuUsPerReq.tree),
    direct ? '—' : auto(c.cpuUsPerReq.proxy),
    direct ? '—' : mib(c.peakRss.proxy),
    mib(c.peakRss.tree),
    num(c.clientCpuPct, 0),
    num(c.otherCpuPct, 0),
    c.errors,
    c.wrong,
  ]
}

function loadTable(results) {
  const rows = results.cells
    .filter((c) => LOOP_FAMILIES.has(c.family) && c.era !== 'modern')
    .map((c) =>
      c.failed
        ? [c.cell, c.system, '—', 'failed', ...Array(9).fill(''), c.errors, c.wrong, '', '', '']
        : [
            c.cell,
            c.system,
            `${c.sessions}×${c.workers / c.sessions}`,
            auto(c.reqPerSec),
            c.mibPerSec === null ? '' : auto(c.mibPerSec),
            ...loopFigures(c),
            ratio(c.ratios?.vsMcpProxy),
            ratio(c.ratios?.ofDirect),
            ratio(c.ratios?.ofChildless),
            ratio(c.ratios?.ofFloor),
          ],
    )
  return table(['cell', 'system', 'sess×flight', 'req/s', 'MiB/s', ...LOOP_HEADER, '× mcp-proxy', 'of direct', 'of childless', 'of stdio floor'], rows)
}

/** The modern cells: 2026-07-28 echo next to ours-stateless's 2025 stateless echo. */
function modernTable(results) {
  const rows = results.cells
    .filter((c) => c.era === 'modern')
    .map((c) => {
      const wire = c.wire ?? '2025-11-25 stateless (one initialize)'
      return c.failed
        ? [c.cell, c.system, wire, '—', 'failed', ...Array(8).fill(''), c.errors, c.wrong, '', '', '']
        : [c.cell, c.system, wire, c.workers, auto(c.reqPerSec), ...loopFigures(c), ratio(c.ratios?.ofChildless), ratio(c.ratios?.vsStateless), ratio(c.ratios?.vsMcpProxy)]
    })
  return table(['cell', 'system', 'wire', 'in flight', 'req/s', ...LOOP_HEADER, 'of childless', '× ours-stateless', '× mcp-proxy'], rows)
}

/**
 * Each variant (a system with `variantOf`: the same system with metrics or tracing on) next to its base
 * system in the cells the variant ran: what turning it on costs.
 */
function costTable(results) {
  const variants = results.systems.filter((s) => s.variantOf && s.status === 'ok')
  const rows = []
  for (const cellId of new Set(results.cells.filter((c) => variants.some((v) => v.id === c.system)).map((c) => c.cell))) {
    for (const baseId of new Set(variants.map((v) => v.variantOf))) {
      const base = results.cells.find((c) => c.system === baseId && c.cell === cellId && !c.failed)
      const ofBase = (c, pick) => (base && !c.failed ? pick(c) / pick(base) : null)
      const systems = [baseId, ...variants.filter((v) => v.variantOf === baseId).map((v) => v.id)]
      for (const id of systems) {
        const c = results.cells.find((x) => x.system === id && x.cell === cellId)
        const label = id === baseId ? 'metrics and tracing off' : results.systems.find((s) => s.id === id).label
        if (!c) rows.push([cellId, id, label, 'did not run', '', '', '', '', '', '', '', '', ''])
        else if (c.failed) rows.push([cellId, id, label, 'failed', '', '', '', '', '', '', '', c.errors, c.wrong])
        else {
          rows.push([
            cellId,
            id,
            label,
            auto(c.reqPerSec),
            ratio(ofBase(c, (x) => x.reqPerSec)),
            num(c.p50Ms, 3),
            num(c.p99Ms, 3),
            auto(c.cpuUsPerReq.proxy),
            ratio(ofBase(c, (x) => x.cpuUsPerReq.proxy)),
            mib(c.peakRss.proxy),
            num(c.otherCpuPct, 0),
            c.errors,
            c.wrong,
          ])
        }
      }
    }
  }
  return table(['cell', 'system', 'on', 'req/s', 'req/s × off', 'p50 ms', 'p99 ms', 'CPU µs/req proxy', 'CPU × off', 'peak RSS proxy MiB', 'other CPU %', 'errors', 'wrong'], rows)
}

function sessionsTable(results) {
  return table(
    ['cell', 'system', 'opened', 'init p50 ms', 'init p99 ms', 'first result p50 ms', 'first result p99 ms', 'total s', 'CPU ms/session tree', 'RSS KiB/session tree', 'errors', 'wrong'],
    results.cells
      .filter((c) => c.family === 'sessions')
      .map((c) =>
        c.failed
          ? [c.cell, c.system, 'failed', '', '', '', '', '', '', '', c.errors, c.wrong]
          : [
              c.cell,
              c.system,
              c.sessions,
              num(c.initP50Ms, 2),
              num(c.initP99Ms, 2),
              num(c.firstP50Ms, 2),
              num(c.firstP99Ms, 2),
              num(c.seconds, 2),
              auto(c.cpuMsPerSession),
              auto(c.rssPerSessionKiB),
              c.errors,
              c.wrong,
            ],
      ),
  )
}

function burstAndIdleTable(results) {
  const cells = results.cells.filter((c) => c.family === 'burst' || c.family === 'idle')
  if (cells.length === 0) return '- no burst or idle cell ran'
  return table(
    ['cell', 'system', 'sessions', '10 at once: all ready ms', 'RSS tree MiB (open, idle)', 'RSS KiB/session tree', 'sessions per GiB (tree)', 'errors', 'wrong'],
    cells.map((c) =>
      c.failed
        ? [c.cell, c.system, 'failed', '', '', '', '', c.errors, c.wrong]
        : [c.cell, c.system, c.sessions, c.family === 'burst' ? num(c.burstMs, 1) : '—', c.family === 'idle' ? mib(c.rssTree) : '—', c.family === 'idle' ? auto(c.rssPerSessionKiB) : '—', c.family === 'idle' ? auto(c.sessionsPerGiB) : '—', c.errors, c.wrong],
    ),
  )
}

function targetsTable(targets) {
  const show = (value, unit) => (unit === 'bytes' ? `${mib(value)} MiB` : auto(value))
  return table(
    ['target', 'system', 'value', 'needed', 'result'],
    targets.map((t) => [
      t.target,
      t.system,
      t.value === undefined ? '—' : show(t.value, t.unit),
      t.needed === undefined ? '—' : show(t.needed, t.unit),
      t.met === null ? `n/a (${t.why})` : t.met ? 'met' : '**NOT met**',
    ]),
  )
}

function problems(results) {
  const lines = []
  const rerun = results.cells.filter((c) => c.runs > 1)
  if (rerun.length) lines.push(`- ${rerun.length} cells were run again because outside load disturbed them; the least disturbed run is shown`)
  const disturbed = results.cells.filter((c) => c.otherCpuPct > DISTURBED_PCT)
  if (disturbed.length) {
    lines.push(
      `- ${disturbed.length} of ${results.cells.length} cells still ran while other processes used over ${DISTURBED_PCT} % of a core ` +
        `("other CPU %": ${disturbed.map((c) => `${c.system}/${c.cell}`).join(', ')}); their figures are unreliable — rerun on a quiet machine`,
    )
  }
  for (const s of results.systems) if (s.status !== 'ok') lines.push(`- ${s.id}: ${s.status} — ${s.note.split('\n')[0]}`)
  for (const c of results.cells) {
    if (c.errors || c.wrong) lines.push(`- ${c.system} / ${c.cell}: ${c.errors} errors, ${c.wrong} wrong answers${c.firstError ? ` — first: ${c.firstError.split('\n')[0].slice(0, 200)}` : ''}`)
  }
  return lines.length ? lines.join('\n') : '- none'
}

export function renderMarkdown(results) {
  const m = results.meta
  return [
    `# MCP proxy benchmark — ${m.date}`,
    '',
    `Node ${m.node}, ${m.cpuModel} × ${m.cores}, Linux ${m.kernel}. Warm-up ${m.warmupMs} ms + window ${m.windowMs} ms per load cell; ` +
      `${m.sessionsCount} sessions per sessions cell; payload ${m.payloadBytes} bytes. Run took ${m.durationS.toFixed(0)} s; ` +
      `load average ${m.loadAverage.start.toFixed(2)} at start, ${m.loadAverage.end.toFixed(2)} at the end; ` +
      `${(m.quietBudgetS - m.quietBudgetLeftS).toFixed(0)} of ${m.quietBudgetS} s spent waiting out outside load ` +
      '("other CPU %" = load from outside the benchmark during each window). Columns: see bench/README.md.',
    '',
    '## Systems',
    '',
    systemsTable(results),
    '',
    '## Closed-loop load',
    '',
    loadTable(results),
    '',
    '## Modern leg (2026-07-28)',
    '',
    modernTable(results),
    '',
    '## Opening sessions',
    '',
    sessionsTable(results),
    '',
    '## Bursts of new sessions, idle sessions',
    '',
    burstAndIdleTable(results),
    '',
    '## Cost of metrics and tracing',
    '',
    results.systems.some((s) => s.variantOf && s.status === 'ok') ? costTable(results) : '- no variant with metrics or tracing ran',
    '',
    '## Targets',
    '',
    targetsTable(results.targets),
    '',
    '## Errors, wrong answers, skipped systems',
    '',
    problems(results),
    '',
  ].join('\n')
}

/** Finish the results (ratios, targets), write the files; returns the markdown. */
export function writeReport(results, dir) {
  addRatios(results)
  results.targets = evaluateTargets(results)
  const markdown = renderMarkdown(results)
  mkdirSync(dir, { recursive: true })
  const stamp = results.meta.date.replace(/[:.]/g, '-')
  const json = JSON.stringify(results, null, 2) + '\n'
  for (const name of [stamp, 'latest']) {
    writeFileSync(join(dir, `${name}.json`), json)
    writeFileSync(join(dir, `${name}.md`), markdown)
  }
  return markdown
}
