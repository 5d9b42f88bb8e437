// The workloads ("cells"), each run against one system with one client:
//   *-echo-*    tools/call echo in a closed loop (warm-up, then a fixed window)
//   *-payload   tools/call payload {bytes: 1 MiB} in a closed loop, 1 session
//   *-sessions  open N sessions one after another: initialize, then a first echo
//   *-burst-10  open 10 sessions at once (a client fleet reconnecting): the time until all are ready
//   *-idle-1000 open 1000 sessions and leave them idle: proxy + children RSS per session
//   modern-*    echo over the 2026-07-28 wire (no initialize, no session), light client;
//               a system with `modern: 'stateless'` gets the same calls as 2025 stateless requests
// Every echo sends a unique text and the answer is compared with it; every
// payload answer must be exactly 1 MiB of 'x'.
import { setTimeout as sleep } from 'node:timers/promises'
import { closedLoop, percentile } from './closed-loop.mjs'
import { MODERN_PROTOCOL_VERSION, lightConnector } from './light-client.mjs'
import { cpuSeconds, rss, startOutsideLoadMeter, startRssSampler } from './proc-stats.mjs'
import { sdkConnector } from './sdk-client.mjs'

export const PAYLOAD_BYTES = 1024 * 1024
const PAYLOAD_TEXT = 'x'.repeat(PAYLOAD_BYTES)
/** Opening or closing a group of sessions gives up after this long. */
const SETUP_TIMEOUT_MS = 30_000
/** The sessions workload stops opening new sessions after this long. */
const SESSIONS_DEADLINE_MS = 60_000

/**
 * In run order. `sessions` x `inFlight` workers drive the closed loop. `era: 'modern'` cells
 * run only against systems that say how they take them (systems.mjs `modern`); their one
 * "session" is the modern wire's nothing-to-open (or, for 'stateless', one 2025 initialize).
 */
export const CELLS = [
  { id: 'sdk-echo-k1', family: 'echo', client: 'sdk', sessions: 1, inFlight: 1 },
  { id: 'sdk-echo-k8', family: 'echo', client: 'sdk', sessions: 8, inFlight: 1 },
  { id: 'sdk-echo-k32', family: 'echo', client: 'sdk', sessions: 32, inFlight: 1 },
  { id: 'sdk-payload', family: 'payload', client: 'sdk', sessions: 1, inFlight: 1 },
  { id: 'light-echo-f1', family: 'echo', client: 'light', sessions: 1, inFlight: 1 },
  { id: 'light-echo-f8', family: 'echo', client: 'light', sessions: 1, inFlight: 8 },
  { id: 'light-echo-k8', family: 'echo', client: 'light', sessions: 8, inFlight: 1 },
  { id: 'light-echo-k32', family: 'echo', client: 'light', sessions: 32, inFlight: 1 },
  { id: 'light-payload', family: 'payload', client: 'light', sessions: 1, inFlight: 1 },
  { id: 'modern-echo-k1', family: 'echo', era: 'modern', client: 'light', sessions: 1, inFlight: 1 },
  { id: 'modern-echo-k8', family: 'echo', era: 'modern', client: 'light', sessions: 1, inFlight: 8 },
  { id: 'sdk-sessions', family: 'sessions', client: 'sdk' },
  { id: 'light-sessions', family: 'sessions', client: 'light' },
  { id: 'sdk-burst-10', family: 'burst', client: 'sdk', sessions: 10 },
  // Only where sessions hold no process of their own (a per-session proxy stops at its session cap).
  { id: 'light-idle-1000', family: 'idle', client: 'light', sessions: 1000, only: ['ours-shared', 'mcp-proxy'] },
]

/** A cell is selected when a filter token equals its id, its family (echo, payload, sessions), its client (sdk, light) or its era (modern). */
export function selectCells(tokens) {
  if (!tokens) return CELLS
  return CELLS.filter((cell) => tokens.some((t) => t === cell.id || t === cell.family || t === cell.client || t === cell.era))
}

/**
 * Whether `system` runs `cell`: a system with `cells` runs those only; modern cells need a system that
 * says how it takes them; a modern-only system runs nothing else.
 */
export function takesPart(system, cell) {
  if (cell.only && !cell.only.includes(system.id)) return false
  if (system.cells) return system.cells.includes(cell.id)
  return cell.era === 'modern' ? system.modern !== undefined : !system.modernOnly
}

/** The revision `system` is spoken to in `cell`: 2026-07-28, or (null) the client's 2025 handshake. */
export function wireOf(system, cell) {
  return cell.era === 'modern' && system.modern === 'modern' ? MODERN_PROTOCOL_VERSION : null
}

const connectorFor = (client, target, wire) => (client === 'sdk' ? sdkConnector(target) : lightConnector(target, { modern: wire === MODERN_PROTOCOL_VERSION }))

/** Reject if `promise` takes longer than `ms`. */
function bounded(promise, ms, what) {
  let timer
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** Close every session; resolves with the failures (a refused DELETE leaks a session), or null. */
async function closeAll(sessions) {
  try {
    const settled = await bounded(Promise.allSettled(sessions.map((s) => s.close())), SETUP_TIMEOUT_MS, 'closing sessions')
    const failures = settled.filter((r) => r.status === 'rejected')
    return failures.length ? { count: failures.length, message: `closing ${failures.length} session(s): ${failures[0].reason?.message ?? failures[0].reason}` } : null
  } catch (err) {
    return { count: sessions.length, message: err.message }
  }
}

/** Run `measure`, then close every session in `sessions`; failed closes count as errors of the cell. */
async function measureThenClose(connector, sessions, measure) {
  let result
  try {
    result = await measure()
  } catch (err) {
    await closeAll(sessions)
    connector.dispose()
    throw err
  }
  const failure = await closeAll(sessions)
  connector.dispose()
  if (!failure) return result
  return { ...result, errors: result.errors + failure.count, firstError: result.firstError ?? failure.message }
}

const textOf = (result) => result?.content?.[0]?.text

/** One worker's request: resolves true for a correct answer, false for a wrong one. */
function makeOp(cell, session, worker) {
  if (cell.family === 'payload') {
    return () => session.call('payload', { bytes: PAYLOAD_BYTES }).then((r) => textOf(r) === PAYLOAD_TEXT)
  }
  let seq = 0
  const prefix = `${cell.id}/${worker}/`
  return () => {
    const text = prefix + seq++
    return session.call('echo', { text }).then((r) => textOf(r) === text)
  }
}

/**
 * RSS of the warm, idle system: one session opened, one echo answered, then 300 ms of quiet.
 * A modern-only system gets its echo over 2026-07-28 (which starts its shared child) instead.
 */
export async function measureIdle(handle, system) {
  const connector = system.modernOnly ? lightConnector(handle.target, { modern: true }) : sdkConnector(handle.target)
  const session = await connector.open()
  try {
    const answer = textOf(await session.call('echo', { text: 'warm-up' }))
    if (answer !== 'warm-up') throw new Error(`warm-up echo answered ${JSON.stringify(answer)}`)
    await sleep(300)
    return rss(handle.pids())
  } finally {
    await closeAll([session])
    connector.dispose()
  }
}

/** A closed-loop cell (echo or payload). */
async function runLoad(handle, cell, { warmupMs, windowMs, wire }) {
  const connector = connectorFor(cell.client, handle.target, wire)
  const opened = await bounded(
    Promise.allSettled(Array.from({ length: cell.sessions }, () => connector.open())),
    SETUP_TIMEOUT_MS,
    'opening sessions',
  )
  const sessions = opened.filter((r) => r.status === 'fulfilled').map((r) => r.value)
  const setupFailure = opened.find((r) => r.status === 'rejected')
  return measureThenClose(connector, sessions, async () => {
    if (sessions.length === 0) return { failed: true, errors: cell.sessions, wrong: 0, firstError: String(setupFailure.reason?.message ?? setupFailure.reason) }
    const ops = sessions.flatMap((s, i) => Array.from({ length: cell.inFlight }, (_, j) => makeOp(cell, s, `${i}.${j}`)))
    let cpuStart, clientStart, outside, sampler, cpuEnd, clientCpu, otherCpuPct, peak
    const loop = await closedLoop({
      ops,
      warmupMs,
      windowMs,
      onWindowStart: () => {
        cpuStart = cpuSeconds(handle.pids())
        clientStart = process.cpuUsage()
        outside = startOutsideLoadMeter(handle.allPids ?? handle.pids)
        sampler = startRssSampler(handle.pids)
      },
      onWindowEnd: () => {
        cpuEnd = cpuSeconds(handle.pids())
        clientCpu = process.cpuUsage(clientStart)
        otherCpuPct = outside.stop()
        peak = sampler.stop()
      },
    })
    const perRequestUs = (seconds) => (loop.completed ? (seconds / loop.completed) * 1e6 : NaN)
    return {
      sessions: sessions.length,
      workers: ops.length,
      completed: loop.completed,
      seconds: loop.seconds,
      reqPerSec: loop.completed / loop.seconds,
      mibPerSec: cell.family === 'payload' ? (loop.completed * PAYLOAD_BYTES) / 2 ** 20 / loop.seconds : null,
      p50Ms: percentile(loop.latencies, 50),
      p99Ms: percentile(loop.latencies, 99),
      cpuUsPerReq: { proxy: perRequestUs(cpuEnd.proxy - cpuStart.proxy), tree: perRequestUs(cpuEnd.tree - cpuStart.tree) },
      clientCpuPct: ((clientCpu.user + clientCpu.system) / 1e6 / loop.seconds) * 100,
      otherCpuPct, // what processes outside the benchmark used meanwhile
      peakRss: peak,
      errors: loop.errors + (cell.sessions - sessions.length),
      wrong: loop.wrong,
      firstError: setupFailure ? String(setupFailure.reason?.message ?? setupFailure.reason) : loop.firstError,
    }
  })
}

/** Open `count` sessions one after another and keep them open; each gets one echo. */
async function runSessions(handle, cell, { sessionsCount }) {
  const connector = connectorFor(cell.client, handle.target)
  const sessions = []
  const initMs = []
  const firstMs = []
  let attempted = 0
  let errors = 0
  let wrong = 0
  let firstError = null
  const rssBefore = rss(handle.pids())
  const cpuStart = cpuSeconds(handle.pids())
  const sampler = startRssSampler(handle.pids)
  const started = performance.now()
  return measureThenClose(connector, sessions, async () => {
    for (let i = 0; i < sessionsCount && performance.now() - started < SESSIONS_DEADLINE_MS; i++) {
      attempted++
      const t0 = performance.now()
      try {
        const session = await connector.open()
        sessions.push(session)
        const text = `${cell.id}/${i}`
        const answer = textOf(await session.call('echo', { text }))
        initMs.push(session.initMs)
        firstMs.push(performance.now() - t0)
        if (answer !== text) wrong++
      } catch (err) {
        errors++
        firstError ??= String(err?.message ?? err)
      }
    }
    const seconds = (performance.now() - started) / 1000
    const rssOpen = rss(handle.pids())
    const cpuEnd = cpuSeconds(handle.pids())
    const sorted = (values) => Float64Array.from(values).sort()
    return {
      sessions: sessions.length,
      seconds,
      initP50Ms: percentile(sorted(initMs), 50),
      initP99Ms: percentile(sorted(initMs), 99),
      firstP50Ms: percentile(sorted(firstMs), 50),
      firstP99Ms: percentile(sorted(firstMs), 99),
      cpuMsPerSession: sessions.length ? ((cpuEnd.tree - cpuStart.tree) / sessions.length) * 1000 : NaN,
      rssPerSessionKiB: sessions.length ? (rssOpen.tree - rssBefore.tree) / sessions.length / 1024 : NaN,
      peakRss: sampler.stop(),
      errors: errors + (sessionsCount - attempted), // sessions never tried (deadline) count as failed
      wrong,
      firstError,
    }
  })
}

/** Open `cell.sessions` sessions at once; `burstMs` is the time until the last one is ready (initialize answered, initialized sent). */
async function runBurst(handle, cell) {
  const connector = connectorFor(cell.client, handle.target)
  const started = performance.now()
  const opened = await bounded(Promise.allSettled(Array.from({ length: cell.sessions }, () => connector.open())), SETUP_TIMEOUT_MS, 'opening sessions')
  const burstMs = performance.now() - started
  const sessions = opened.filter((r) => r.status === 'fulfilled').map((r) => r.value)
  const failure = opened.find((r) => r.status === 'rejected')
  return measureThenClose(connector, sessions, async () => {
    const answers = await Promise.allSettled(sessions.map((session, i) => session.call('echo', { text: `${cell.id}/${i}` }).then((r) => textOf(r) === `${cell.id}/${i}`)))
    const errors = cell.sessions - sessions.length + answers.filter((a) => a.status === 'rejected').length
    const wrong = answers.filter((a) => a.status === 'fulfilled' && !a.value).length
    const firstError = failure ?? answers.find((a) => a.status === 'rejected')
    return { sessions: sessions.length, burstMs, errors, wrong, firstError: firstError ? String(firstError.reason?.message ?? firstError.reason) : null }
  })
}

/** Sessions opened at once while filling the idle cell. */
const IDLE_OPEN_CONCURRENCY = 20

/** Open `cell.sessions` sessions (each with one echo) and leave them idle: what they hold, in proxy + children RSS. */
async function runIdle(handle, cell) {
  const connector = connectorFor(cell.client, handle.target)
  const before = rss(handle.pids())
  const sessions = []
  let errors = 0
  let wrong = 0
  let firstError = null
  const started = performance.now()
  let next = 0
  const worker = async () => {
    while (next < cell.sessions && performance.now() - started < SESSIONS_DEADLINE_MS) {
      const i = next++
      try {
        const session = await connector.open()
        sessions.push(session)
        if (textOf(await session.call('echo', { text: `idle/${i}` })) !== `idle/${i}`) wrong++
      } catch (err) {
        errors++
        firstError ??= String(err?.message ?? err)
      }
    }
  }
  return measureThenClose(connector, sessions, async () => {
    await Promise.all(Array.from({ length: IDLE_OPEN_CONCURRENCY }, worker))
    await sleep(500)
    const open = rss(handle.pids())
    return {
      sessions: sessions.length,
      seconds: (performance.now() - started) / 1000,
      rssTree: open.tree,
      rssProxy: open.proxy,
      rssPerSessionKiB: sessions.length ? (open.tree - before.tree) / sessions.length / 1024 : NaN,
      sessionsPerGiB: open.tree ? sessions.length / (open.tree / 2 ** 30) : NaN,
      errors: errors + (cell.sessions - next), // sessions never tried (deadline) count as failed
      wrong,
      firstError,
    }
  })
}

const RUNNERS = { sessions: runSessions, burst: runBurst, idle: runIdle }

/** Run one cell (`options.wire`: see wireOf); a failure becomes an error count, not a crash of the whole run. */
export async function runCell(handle, cell, options) {
  try {
    return await (RUNNERS[cell.family] ?? runLoad)(handle, cell, options)
  } catch (err) {
    return { errors: 1, wrong: 0, firstError: String(err?.message ?? err), failed: true }
  }
}
