// A closed-loop driver: N workers, each with one request in flight, issue the
// next request as soon as the previous one is answered. A warm-up runs first,
// then the measured window; both edges are set by timers, and the callbacks
// snapshot the system's CPU/RSS at the exact moments the window opens and
// closes. Throughput counts answers that arrived inside the window; latency
// is recorded for those answers. Errors and wrong answers are counted over
// warm-up and window alike.
import { setTimeout as sleep } from 'node:timers/promises'

/** After an error a worker pauses, so a system that fails instantly is not hammered in a hot loop. */
const ERROR_PAUSE_MS = 5
/** Workers give up after this many errors in one cell. */
const MAX_ERRORS = 10_000
/** Hard cap on requests per worker, on top of the time bound. */
const MAX_REQUESTS_PER_WORKER = 50_000_000
/** After the window closes, requests still in flight get this long before they count as hung. */
const DRAIN_MS = 10_000

/**
 * @param {object} o
 * @param {Array<() => Promise<boolean>>} o.ops one per worker: true = correct answer, false = wrong answer, throw = error
 * @param {number} o.warmupMs
 * @param {number} o.windowMs
 * @param {() => void} o.onWindowStart
 * @param {() => void} o.onWindowEnd
 */
export async function closedLoop({ ops, warmupMs, windowMs, onWindowStart, onWindowEnd }) {
  let phase = 'warmup' // -> 'window' -> 'done'
  let windowStart = 0
  let windowEnd = 0
  const latencies = []
  let errors = 0
  let wrong = 0
  let firstError = null
  let finished = 0

  const worker = async (op) => {
    for (let n = 0; n < MAX_REQUESTS_PER_WORKER && phase !== 'done' && errors < MAX_ERRORS; n++) {
      const t0 = performance.now()
      let ok = false
      try {
        if (await op()) ok = true
        else wrong++
      } catch (err) {
        errors++
        firstError ??= err
        await sleep(ERROR_PAUSE_MS)
        continue
      }
      if (ok && phase === 'window') latencies.push(performance.now() - t0)
    }
    finished++
  }

  const openTimer = setTimeout(() => {
    windowStart = performance.now()
    onWindowStart()
    phase = 'window'
  }, warmupMs)
  const closeTimer = setTimeout(() => {
    phase = 'done'
    windowEnd = performance.now()
    onWindowEnd()
  }, warmupMs + windowMs)

  let drainTimer
  const drainDeadline = new Promise((resolve) => {
    drainTimer = setTimeout(() => resolve(false), warmupMs + windowMs + DRAIN_MS)
  })
  const drained = await Promise.race([Promise.all(ops.map(worker)).then(() => true), drainDeadline])
  clearTimeout(drainTimer)
  clearTimeout(openTimer)
  clearTimeout(closeTimer)
  if (phase !== 'done') {
    // Every worker stopped early (error cap): close the window now.
    phase = 'done'
    windowEnd = performance.now()
    if (windowStart === 0) {
      windowStart = windowEnd
      onWindowStart()
    }
    onWindowEnd()
  }
  const hung = drained ? 0 : ops.length - finished
  if (hung > 0) firstError ??= new Error(`${hung} request(s) still unanswered ${DRAIN_MS} ms after the window`)

  return {
    completed: latencies.length,
    seconds: (windowEnd - windowStart) / 1000,
    latencies: Float64Array.from(latencies).sort(),
    errors: errors + hung,
    wrong,
    firstError: firstError ? String(firstError.message ?? firstError) : null,
  }
}

/** Nearest-rank percentile of an ascending array (NaN when empty). */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
}
