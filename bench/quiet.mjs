// Outside load (a build, a test run) on a 2-core machine changes every figure.
// Before each cell the harness waits until other processes are quiet, and a
// closed-loop cell they disturbed anyway is run again. Both draw on one
// budget, so a machine that never calms down cannot stretch the run.
import { setTimeout as sleep } from 'node:timers/promises'
import { startOutsideLoadMeter } from './proc-stats.mjs'

/** A window in which outside processes used more than this much of one core (%) is "disturbed". */
export const DISTURBED_PCT = 25
/** How long one look at the outside load lasts. */
const PROBE_MS = 300
/** Runs of one cell at most (the first included). */
const MAX_ATTEMPTS = 3

/** Milliseconds the whole run may spend waiting for quiet and re-running cells. */
export function createBudget(ms) {
  let left = ms
  return {
    get left() {
      return left
    },
    spend(spent) {
      left -= spent
    },
  }
}

/** Wait, while the budget lasts, until outside processes use under DISTURBED_PCT of a core. */
async function waitForQuiet(handle, budget) {
  while (budget.left > 0) {
    const meter = startOutsideLoadMeter(handle.allPids ?? handle.pids)
    await sleep(PROBE_MS)
    if (!(meter.stop() > DISTURBED_PCT)) return
    budget.spend(PROBE_MS)
  }
}

/**
 * Run a cell after waiting for quiet; while outside load disturbed it and
 * budget remains, run it again. Keeps the least disturbed run, with the errors
 * and wrong answers of every run added up (an error is an error under any load).
 * @param {() => Promise<object>} run one run of the cell
 */
export async function runQuietly(run, handle, budget) {
  const runs = []
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    await waitForQuiet(handle, budget)
    const started = performance.now()
    runs.push(await run())
    if (attempt > 1) budget.spend(performance.now() - started)
    if (!(runs.at(-1).otherCpuPct > DISTURBED_PCT) || budget.left <= 0) break
  }
  const best = runs.reduce((a, b) => (b.otherCpuPct < a.otherCpuPct ? b : a))
  const sum = (key) => runs.reduce((total, r) => total + r[key], 0)
  const firstError = best.firstError ?? runs.find((r) => r.firstError)?.firstError ?? null
  return { ...best, runs: runs.length, errors: sum('errors'), wrong: sum('wrong'), firstError }
}
