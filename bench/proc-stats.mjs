// CPU time and resident memory of a process tree, read from Linux /proc.
//
// The kernel here has no /proc/<pid>/task/<tid>/children, so descendants are
// found by scanning every /proc/<pid>/stat for its parent pid. A scan costs
// well under a millisecond on a container with a few dozen processes.
import { readdirSync, readFileSync } from 'node:fs'
import { cpus } from 'node:os'

/** Clock ticks per second of utime/stime in /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const CLOCK_TICKS = 100

/** Parse /proc/<pid>/stat: the command may contain spaces, so fields are counted after the last ')'. */
function readStat(pid) {
  let text
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1')
  } catch {
    return null // the process has exited
  }
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
  // fields[0] is field 3 (state); field N of proc(5) is fields[N - 3].
  return {
    ppid: Number(fields[1]),
    ownTicks: Number(fields[11]) + Number(fields[12]), // utime + stime
    reapedTicks: Number(fields[13]) + Number(fields[14]), // cutime + cstime: children already waited for
  }
}

/** Every live process as pid -> stat. */
function scanProcesses() {
  const all = new Map()
  for (const name of readdirSync('/proc')) {
    if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue
    const stat = readStat(name)
    if (stat) all.set(Number(name), stat)
  }
  return all
}

/** The given root pids plus all their live descendants (roots first). */
export function processTree(rootPids) {
  const all = scanProcesses()
  const children = new Map()
  for (const [pid, stat] of all) {
    if (!children.has(stat.ppid)) children.set(stat.ppid, [])
    children.get(stat.ppid).push(pid)
  }
  const tree = []
  const queue = rootPids.filter((pid) => all.has(pid))
  const seen = new Set(queue)
  while (queue.length > 0 && tree.length < 10_000) {
    const pid = queue.shift()
    tree.push(pid)
    for (const child of children.get(pid) ?? []) {
      if (!seen.has(child)) {
        seen.add(child)
        queue.push(child)
      }
    }
  }
  return tree
}

/**
 * CPU seconds used so far by the roots alone and by the whole tree (NaN once a
 * root has exited: its time is gone). The tree figure adds each process's
 * reaped children (cutime/cstime), so a descendant that exits between two
 * snapshots is not lost once it is waited for.
 */
export function cpuSeconds(rootPids) {
  const missingRoots = new Set(rootPids)
  let rootTicks = 0
  let treeTicks = 0
  for (const pid of processTree(rootPids)) {
    const stat = readStat(pid)
    if (!stat) continue
    treeTicks += stat.ownTicks + stat.reapedTicks
    if (missingRoots.delete(pid)) rootTicks += stat.ownTicks
  }
  if (missingRoots.size > 0) return { proxy: NaN, tree: NaN }
  return { proxy: rootTicks / CLOCK_TICKS, tree: treeTicks / CLOCK_TICKS }
}

/** Idle seconds of the whole machine so far (idle + iowait of all cores, /proc/stat). */
function machineIdleSeconds() {
  const fields = readFileSync('/proc/stat', 'latin1').split('\n')[0].trim().split(/\s+/)
  return (Number(fields[4]) + Number(fields[5])) / CLOCK_TICKS
}

/**
 * Start measuring the CPU that processes outside the benchmark use: busy time
 * of the machine (cores x elapsed - idle; the kernel measures idle exactly,
 * while its busy counters are tick samples) minus this process and the trees
 * of `getRoots()`. `stop()` returns it in % of one core (NaN if a root died).
 * With 2 cores, any outside job changes every figure of a window.
 */
export function startOutsideLoadMeter(getRoots) {
  const cores = cpus().length
  const started = performance.now()
  const idle = machineIdleSeconds()
  const tree = cpuSeconds(getRoots()).tree
  const own = process.cpuUsage()
  return {
    stop() {
      const seconds = (performance.now() - started) / 1000
      const ownUsage = process.cpuUsage(own)
      const busy = cores * seconds - (machineIdleSeconds() - idle)
      const ours = (ownUsage.user + ownUsage.system) / 1e6 + (cpuSeconds(getRoots()).tree - tree)
      return ((busy - ours) / seconds) * 100
    },
  }
}

/** VmRSS of one process in bytes (0 if it has gone). */
function rssBytes(pid) {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))
    return match ? Number(match[1]) * 1024 : 0
  } catch {
    return 0
  }
}

/** Resident memory now: the roots alone and summed over the whole tree. */
export function rss(rootPids, tree = processTree(rootPids)) {
  const roots = new Set(rootPids)
  let proxy = 0
  let total = 0
  for (const pid of tree) {
    const bytes = rssBytes(pid)
    total += bytes
    if (roots.has(pid)) proxy += bytes
  }
  return { proxy, tree: total }
}

/**
 * Sample RSS every `intervalMs` until stopped; returns the peaks.
 * The tree is re-walked every 10th sample (sessions may spawn children), the
 * cheap per-pid reads happen every sample.
 * @param {() => number[]} getRoots current root pids of the measured system
 */
export function startRssSampler(getRoots, intervalMs = 50) {
  const peak = { proxy: 0, tree: 0 }
  let roots = getRoots()
  let tree = processTree(roots)
  let ticks = 0
  const sample = () => {
    if (++ticks % 10 === 0) {
      roots = getRoots()
      tree = processTree(roots)
    }
    const now = rss(roots, tree)
    peak.proxy = Math.max(peak.proxy, now.proxy)
    peak.tree = Math.max(peak.tree, now.tree)
  }
  sample()
  const timer = setInterval(sample, intervalMs).unref() // never keeps the process alive
  return {
    stop() {
      clearInterval(timer)
      sample()
      return peak
    },
  }
}
