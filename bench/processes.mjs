// Spawning and reliably killing every process the benchmark starts.
//
// Each spawned system runs in its own process group (detached) so a signal
// reaches its whole group; before signalling, its descendants are listed from
// /proc, so children that moved to their own group (supergateway does that)
// are still killed by pid if they outlive the grace period.
import { spawn } from 'node:child_process'
import { get } from 'node:http'
import { createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { processTree } from './proc-stats.mjs'

/** Root pids of everything started and not yet stopped. */
const tracked = new Set()

/** Keep only the last `limit` characters a stream wrote, for error messages. */
function tail(stream, limit = 8192) {
  let text = ''
  stream?.setEncoding('utf8')
  stream?.on('data', (chunk) => {
    text = (text + chunk).slice(-limit)
  })
  return () => text
}

/**
 * Start a long-running process in its own process group, with this process's
 * environment plus `env`. stderr (and stdout, unless `talk` asks for
 * stdin/stdout pipes the caller uses) is drained into a small ring buffer,
 * `child.output()`, for error messages.
 */
export function spawnTracked(command, args, { cwd, env, talk = false } = {}) {
  const child = spawn(command, args, { cwd, env: env ? { ...process.env, ...env } : process.env, stdio: [talk ? 'pipe' : 'ignore', 'pipe', 'pipe'], detached: true })
  const outTail = talk ? () => '' : tail(child.stdout)
  const errTail = tail(child.stderr)
  child.output = () => `${outTail()}${errTail()}`.trim()
  // Settles on exit, or on a spawn error (then no 'exit' follows).
  child.exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }))
    child.on('error', (err) => resolve({ code: err.code ?? err.message, signal: null }))
  })
  if (child.pid) tracked.add(child.pid)
  return child
}

/** Track a pid started by someone else (the SDK's stdio transport) for the final sweep. */
export function trackPid(pid) {
  if (pid) tracked.add(pid)
}

/** Forget a pid that ended normally. */
export function untrackPid(pid) {
  tracked.delete(pid)
}

function signalPid(pid, signal) {
  try {
    process.kill(pid, signal)
    return true
  } catch {
    return false // already gone
  }
}

function isAlive(pid) {
  return signalPid(pid, 0)
}

/**
 * Stop a process and everything below it: SIGTERM to its group, wait up to
 * `graceMs` for the tree to exit, then SIGKILL whatever is left of it.
 */
export async function stopTree(pid, graceMs = 3000) {
  const tree = processTree([pid])
  if (!signalPid(-pid, 'SIGTERM')) signalPid(pid, 'SIGTERM')
  const deadline = performance.now() + graceMs
  while (tree.some(isAlive) && performance.now() < deadline) await sleep(25)
  for (const p of tree) signalPid(p, 'SIGKILL')
  tracked.delete(pid)
}

/** Last resort on exit, Ctrl-C or a crash: SIGKILL every tracked tree, synchronously. */
export function killAllSync() {
  for (const root of tracked) {
    for (const pid of processTree([root])) signalPid(pid, 'SIGKILL')
    signalPid(-root, 'SIGKILL')
  }
  tracked.clear()
}

/** A TCP port that is free on 127.0.0.1 right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

/** Poll `url` until it answers 200; fail early if the process exits, bounded by `timeoutMs`. */
export async function waitReady(url, child, timeoutMs = 20_000) {
  let exited = null
  void child.exited.then((status) => (exited = status))
  const deadline = performance.now() + timeoutMs
  while (performance.now() < deadline) {
    if (exited) throw new Error(`exited (${exited.code ?? exited.signal}) before ready:\n${child.output()}`)
    if ((await httpStatus(url)) === 200) return
    await sleep(50)
  }
  throw new Error(`not ready after ${timeoutMs} ms:\n${child.output()}`)
}

/** Status code of a GET, or 0 if the connection fails or takes over a second. */
function httpStatus(url) {
  return new Promise((resolve) => {
    const req = get(url, { agent: false, timeout: 1000 }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode))
      res.on('error', () => resolve(0))
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(0))
  })
}
