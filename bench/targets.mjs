// The targets this proxy is judged against, evaluated for each of its modes
// that ran. A target needing a reference that did not run (or failed) is n/a.
// "Proxy process" memory figures exclude the stdio echo server children,
// which are the same fixture for every system; CPU per request is the whole
// tree (proxy + children), as the issue defines it. A modern-only system
// (ours-modern) never runs the cells the targets name: it is judged on idle RSS and errors only.

const OUR_SYSTEMS = ['ours-stream', 'ours-shared', 'ours-stateless', 'ours-sse', 'ours-modern']

/** The value of one cell; `forCell` marks targets a modern-only system is not judged by. */
const cellValue = (cellId, pick) =>
  Object.assign(
    (results, system) => {
      const cell = results.cells.find((c) => c.system === system && c.cell === cellId)
      return cell && !cell.failed ? pick(cell) : undefined
    },
    { forCell: cellId },
  )

/**
 * `value(results, system)` is compared with either `limit` (absolute) or
 * `factor` x the same value of the `reference` system, using `op`.
 */
const TARGETS = [
  { name: 'light, 8 in flight: req/s >= 2x mcp-proxy', value: cellValue('light-echo-f8', (c) => c.reqPerSec), op: '>=', reference: 'mcp-proxy', factor: 2 },
  { name: 'light, 1 in flight: p50 <= 0.2 ms', value: cellValue('light-echo-f1', (c) => c.p50Ms), op: '<=', limit: 0.2 },
  { name: 'SDK, K=1: req/s >= 3x mcp-proxy', value: cellValue('sdk-echo-k1', (c) => c.reqPerSec), op: '>=', reference: 'mcp-proxy', factor: 3 },
  { name: 'SDK, K=8: req/s >= 85% of childless', value: cellValue('sdk-echo-k8', (c) => c.reqPerSec), op: '>=', reference: 'childless', factor: 0.85 },
  { name: 'SDK, K=8: req/s >= 85% of the stdio floor', value: cellValue('sdk-echo-k8', (c) => c.reqPerSec), op: '>=', reference: 'stdio-floor', factor: 0.85 },
  { name: 'light, 1 in flight: p50 <= 1.5x the stdio floor', value: cellValue('light-echo-f1', (c) => c.p50Ms), op: '<=', reference: 'stdio-floor', factor: 1.5 },
  { name: 'light, 1 in flight: p50 <= 1.5x childless', value: cellValue('light-echo-f1', (c) => c.p50Ms), op: '<=', reference: 'childless', factor: 1.5 },
  { name: 'SDK, K=8: CPU us/req (proxy process) <= 1/4 mcp-proxy', value: cellValue('sdk-echo-k8', (c) => c.cpuUsPerReq.proxy), op: '<=', reference: 'mcp-proxy', factor: 0.25 },
  { name: 'light, 8 in flight: CPU us/req (proxy process) <= 1/4 mcp-proxy', value: cellValue('light-echo-f8', (c) => c.cpuUsPerReq.proxy), op: '<=', reference: 'mcp-proxy', factor: 0.25 },
  { name: 'SDK, K=8: CPU us/req (tree) <= 1/4 mcp-proxy', value: cellValue('sdk-echo-k8', (c) => c.cpuUsPerReq.tree), op: '<=', reference: 'mcp-proxy', factor: 0.25 },
  { name: 'SDK, 1 MiB: MiB/s >= 2x mcp-proxy', value: cellValue('sdk-payload', (c) => c.mibPerSec), op: '>=', reference: 'mcp-proxy', factor: 2 },
  { name: 'light, 1 MiB: MiB/s >= 2x mcp-proxy', value: cellValue('light-payload', (c) => c.mibPerSec), op: '>=', reference: 'mcp-proxy', factor: 2 },
  { name: 'SDK, 1 MiB: peak RSS (proxy process) <= 1/2 mcp-proxy', value: cellValue('sdk-payload', (c) => c.peakRss.proxy), op: '<=', reference: 'mcp-proxy', factor: 0.5, unit: 'bytes' },
  { name: 'light, 1 MiB: peak RSS (proxy process) <= 1/2 mcp-proxy', value: cellValue('light-payload', (c) => c.peakRss.proxy), op: '<=', reference: 'mcp-proxy', factor: 0.5, unit: 'bytes' },
  {
    name: 'idle RSS (proxy process) <= 1/2 mcp-proxy',
    value: (results, system) => results.systems.find((s) => s.id === system)?.idleRss?.proxy,
    op: '<=',
    reference: 'mcp-proxy',
    factor: 0.5,
    unit: 'bytes',
  },
  { name: 'light: initialize answered p50 <= 10 ms', value: cellValue('light-sessions', (c) => c.initP50Ms), op: '<=', limit: 10, only: ['ours-stream'] },
  { name: 'SDK: connect (initialize + initialized) p50 <= 10 ms', value: cellValue('sdk-sessions', (c) => c.initP50Ms), op: '<=', limit: 10, only: ['ours-stream'] },
  { name: '10 new sessions at once: all ready <= 1.5x mcp-proxy', value: cellValue('sdk-burst-10', (c) => c.burstMs), op: '<=', reference: 'mcp-proxy', factor: 1.5, only: ['ours-shared', 'ours-stream'] },
  { name: 'idle sessions per GiB of proxy + children RSS >= 1000', value: cellValue('light-idle-1000', (c) => c.sessionsPerGiB), op: '>=', limit: 1000, only: ['ours-shared'] },
  {
    name: 'zero errors and zero wrong answers (all cells)',
    value: (results, system) => {
      const cells = results.cells.filter((c) => c.system === system)
      return cells.length ? cells.reduce((sum, c) => sum + c.errors + c.wrong, 0) : undefined
    },
    op: '<=',
    limit: 0,
  },
]

/** @returns {Array<{ target: string, system: string, value?: number, needed?: number, unit?: string, met: boolean | null, why?: string }>} */
export function evaluateTargets(results) {
  const ran = OUR_SYSTEMS.filter((id) => results.systems.some((s) => s.id === id && s.status === 'ok'))
  if (ran.length === 0) return [{ target: 'all targets', system: OUR_SYSTEMS.join(', '), met: null, why: 'this proxy did not run' }]
  const modernOnly = (id) => results.systems.find((s) => s.id === id)?.modernOnly
  const rows = []
  for (const t of TARGETS) {
    for (const system of ran.filter((id) => (!t.only || t.only.includes(id)) && !(t.value.forCell && modernOnly(id)))) {
      const value = t.value(results, system)
      const refValue = t.reference ? t.value(results, t.reference) : undefined
      const needed = t.reference ? (refValue === undefined ? undefined : refValue * t.factor) : t.limit
      const row = { target: t.name, system, value, needed, unit: t.unit }
      if (value === undefined || Number.isNaN(value)) rows.push({ ...row, met: null, why: 'cell did not run' })
      else if (needed === undefined || Number.isNaN(needed)) rows.push({ ...row, met: null, why: `${t.reference} did not run` })
      else rows.push({ ...row, met: t.op === '>=' ? value >= needed : value <= needed })
    }
  }
  return rows
}
