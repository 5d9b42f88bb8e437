// Helpers of the load-balancer test: find the haproxy and nginx binaries, pick free loopback ports, run a
// foreground daemon as a child process and stop it by pid (never by name).
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { delimiter, join } from 'node:path'
import { cleanEnv, waitFor } from '../helpers.js'

/** The absolute path of `name` on PATH or in the sbin directories (Debian installs both there), or undefined. */
export function findBinary(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin']
  for (const dir of dirs) {
    if (dir !== '' && existsSync(join(dir, name))) return join(dir, name)
  }
  return undefined
}

/** A free TCP port on 127.0.0.1 (free when asked; the OS does not hand it out again at once). */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const address = server.address()
  await new Promise((resolve) => server.close(resolve))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

export interface Daemon {
  proc: ChildProcess
  pid: number
  /** Everything it wrote (stdout and stderr, interleaved). */
  output: () => string
  /** The exit code, or the signal name. */
  exited: Promise<number | string>
  /** Whether it has exited. */
  gone: () => boolean
  /** `signal` (SIGTERM by default), SIGKILL after `graceMs`; resolves with how it ended. */
  stop: (signal?: NodeJS.Signals, graceMs?: number) => Promise<number | string>
}

/** Run `command args…` in the foreground as a child of the test (its own environment: `env` over a clean one). */
export function startDaemon(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Daemon {
  const proc = spawn(command, args, { env: { ...cleanEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out = (out + d).slice(-200_000)))
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (out = (out + d).slice(-200_000)))
  let gone = false
  const exited = new Promise<number | string>((resolve) =>
    proc.once('exit', (code, signal) => {
      gone = true
      resolve(code ?? signal ?? -1)
    }),
  )
  const stop = async (signal: NodeJS.Signals = 'SIGTERM', graceMs = 3000): Promise<number | string> => {
    if (!gone) proc.kill(signal)
    const timer = setTimeout(() => {
      if (!gone) proc.kill('SIGKILL')
    }, graceMs)
    const code = await exited
    clearTimeout(timer)
    return code
  }
  if (proc.pid === undefined) throw new Error(`could not start ${command}`)
  return { proc, pid: proc.pid, output: () => out, exited, gone: () => gone, stop }
}

/** The pids of the live children of `pid` (from /proc). */
export function childrenOf(pid: number): number[] {
  const found: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      // fields[0] is the state, fields[1] the parent pid
      if (Number(fields[1]) === pid && fields[0] !== 'Z') found.push(Number(entry))
    } catch {
      // gone meanwhile
    }
  }
  return found
}

/** Whether process `pid` is alive (and not a zombie). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}

/** SIGKILL every pid still alive (by pid), and report those that were. */
export async function killLeftovers(pids: number[]): Promise<number[]> {
  const alive = pids.filter(isAlive)
  for (const pid of alive) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // gone meanwhile
    }
  }
  if (alive.length > 0) await waitFor(() => alive.every((pid) => !isAlive(pid)), 3000).catch(() => undefined)
  return alive
}

/** `n` at a time: run `task` for each item, in order of start; resolves once all have settled (rejections included). */
export async function inPool<T>(items: T[], n: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++
      await task(items[index]!, index)
    }
  }
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker))
}
