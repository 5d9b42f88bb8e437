import { execa } from 'execa'
import { ProxyError } from '../errors.js'
import { LineSplitter } from '../framing/line-splitter.js'
import { JsonLineReader, type NoiseEvent } from '../framing/json-line-reader.js'

/** What to spawn. The command is never chosen by a request: it comes from the proxy's options. */
export interface ChildCommand {
  command: string
  args: readonly string[]
  cwd?: string
  /** The complete environment of the child (see buildChildEnvironment). */
  env: Record<string, string>
  /** Run through the system shell (needed for `npx.cmd` on Windows). */
  shell?: boolean
}

/** How a child ended. */
export interface ChildExit {
  code: number | null
  signal: string | null
  /** Set when the process could not be started at all (for example ENOENT). */
  spawnError?: string
  /** The stop ladder had to use SIGKILL. */
  forced: boolean
  durationMs: number
  /** The last lines the child wrote to stderr, oldest first. */
  lastStderr: string[]
}

export interface StdioChildOptions {
  /** Longest stdout line accepted, in characters; longer lines are dropped and reported. */
  maxLineLength: number
  /** Bytes that may wait in the child's stdin before `send` refuses more (a child that stops reading). */
  maxQueuedBytes: number
  /** After stdin is closed, how long the child gets to exit before SIGTERM, and then before SIGKILL. */
  stopGraceMs: number
  onValue: (value: unknown, text: string) => void
  onNoise: (event: NoiseEvent) => void
  onStderr: (line: string) => void
  onExit: (exit: ChildExit) => void
  /**
   * The child closed its stdout but is still running: it can answer nothing more. The child is being
   * stopped (stop ladder) when this is called; `onExit` follows.
   */
  onStdoutClosed?: () => void
}

/** A child still running this long after its stdout ended has closed stdout on purpose (or by a bug). */
const STDOUT_CLOSED_GRACE_MS = 100

const STDERR_KEPT = 10

// Every child whose process group may still hold processes (its leader running, or leftovers of it being
// stopped). If the proxy exits without stopping them (a second Ctrl-C, a crash), their process groups are
// killed on the way out: children never outlive the proxy.
const live = new Set<StdioChild>()
let exitHookInstalled = false
function trackLive(child: StdioChild): void {
  live.add(child)
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => {
    for (const running of live) running.kill()
  })
}

// Fixed spawn settings: pipes on all three streams, nothing buffered by execa, never a rejection (an exit
// is reported through onExit), and an own process group so the stop ladder reaches grandchildren
// (`npx`, `sh -c`, …). `cleanup` is off because a detached child is stopped by the registry instead.
const SPAWN_OPTIONS = {
  stdin: 'pipe',
  stdout: 'pipe',
  stderr: 'pipe',
  buffer: false,
  reject: false,
  detached: true,
  cleanup: false,
  extendEnv: false,
  windowsHide: true,
} as const

function spawnProcess(command: ChildCommand) {
  return execa(command.command, [...command.args], {
    ...SPAWN_OPTIONS,
    ...(command.cwd === undefined ? {} : { cwd: command.cwd }),
    env: command.env,
    shell: command.shell ?? false,
  })
}

/** One stdio MCP server process: framed stdout, line-logged stderr, bounded stdin, a stop ladder. */
export class StdioChild {
  readonly pid: number | undefined
  /** Settles once the process has exited (or failed to start). */
  readonly exited: Promise<ChildExit>
  /** Resolves once the process is running; rejects (MCP_PROXY_SPAWN_FAILED) if it could not be started. */
  readonly started: Promise<void>
  /**
   * Settles once the process has exited and nothing is left of its process group: what it started
   * (`sh -c`, `npx`, a server's own helpers) got the rest of the stop ladder, SIGTERM then SIGKILL.
   */
  readonly gone: Promise<ChildExit>
  #process: ReturnType<typeof spawnProcess>
  #exit: ChildExit | undefined
  #stopping: Promise<ChildExit> | undefined
  #forced = false
  #lastStderr: string[] = []
  #options: StdioChildOptions

  constructor(command: ChildCommand, options: StdioChildOptions) {
    this.#options = options
    const started = performance.now()
    this.#process = spawnProcess(command)
    this.pid = this.#process.pid
    trackLive(this)

    let settle!: (exit: ChildExit) => void
    this.exited = new Promise((resolve) => (settle = resolve))
    const finish = (code: number | null, signal: string | null, spawnError?: string): void => {
      if (this.#exit) return
      this.#exit = {
        code,
        signal,
        forced: this.#forced,
        durationMs: Math.round(performance.now() - started),
        lastStderr: this.#lastStderr,
        ...(spawnError === undefined ? {} : { spawnError }),
      }
      settle(this.#exit)
      options.onExit(this.#exit)
    }
    // 'exit' can come before stdout is drained: wait (briefly) for its end so a last answer is not lost.
    this.#process.once('exit', (code, signal) => {
      if (this.#process.stdout.readableEnded) return finish(code, signal)
      const timer = setTimeout(() => finish(code, signal), 200)
      timer.unref()
      this.#process.stdout.once('close', () => {
        clearTimeout(timer)
        finish(code, signal)
      })
    })
    // However the leader ended (by itself, a crash, the stop ladder), its group gets the rest of the ladder.
    this.gone = this.exited.then(async (exit) => {
      await this.#reapGroup()
      live.delete(this)
      return exit
    })
    this.started = new Promise<void>((resolve, reject) => {
      this.#process.once('spawn', () => resolve())
      void this.exited.then((exit) => {
        if (exit.spawnError) reject(new ProxyError('MCP_PROXY_SPAWN_FAILED', `Could not start ${command.command}: ${exit.spawnError}`))
      })
    })
    this.started.catch(() => {}) // observed by whoever awaits it; never an unhandled rejection
    this.#process.once('error', (error: NodeJS.ErrnoException) => {
      if (this.pid === undefined || error.code === 'ENOENT' || error.code === 'EACCES') {
        finish(null, null, `${error.code ?? 'spawn error'}: ${error.message}`)
      }
    })
    // The execa promise never rejects (reject: false); awaiting it here only prevents an unhandled result.
    this.#process.catch(() => {})

    const reader = new JsonLineReader({ maxLineLength: options.maxLineLength, onValue: options.onValue, onNoise: options.onNoise })
    const { stdout, stderr, stdin } = this.#process
    stdout.on('data', (chunk: Buffer) => reader.push(chunk))
    stdout.once('end', () => {
      reader.end()
      this.#watchStdoutClosed()
    })
    const stderrLines = new LineSplitter({
      maxLineLength: 8192,
      onLine: (line) => {
        if (this.#lastStderr.length === STDERR_KEPT) this.#lastStderr.shift()
        this.#lastStderr.push(line)
        options.onStderr(line)
      },
      onOverflow: (length) => options.onStderr(`[stderr line of ${length} characters dropped]`),
    })
    stderr.on('data', (chunk: Buffer) => stderrLines.push(chunk))
    stderr.once('end', () => stderrLines.end())
    // A child that exits while we write gets EPIPE: that is an exit, reported by 'exit', not a crash.
    stdin.on('error', () => {})
    stdout.on('error', () => {})
    stderr.on('error', () => {})
  }

  /** True until the process has exited. */
  get alive(): boolean {
    return this.#exit === undefined
  }

  /** The stop ladder has begun (by `stop()`, or because the child closed its stdout). */
  get stopping(): boolean {
    return this.#stopping !== undefined
  }

  /** Write one message (a JSON text without newlines) to stdin; false when the child is gone or not reading. */
  send(text: string): boolean {
    const stdin = this.#process.stdin
    if (this.#exit || this.#stopping) return false
    // stdin already broke (EPIPE) but the exit is not in yet: it is on its way, and it answers every
    // pending request with the exit code, which says more than "not accepting input".
    if (!stdin.writable) return true
    if (stdin.writableLength > this.#options.maxQueuedBytes) return false
    stdin.write(text + '\n')
    return true
  }

  /**
   * Stop ladder: end stdin, then SIGTERM, then SIGKILL to the whole process group. Resolves once the
   * process and everything left in its group are gone.
   */
  stop(): Promise<ChildExit> {
    if (this.#exit) return this.gone
    this.#stopping ??= this.#runStopLadder()
    return this.#stopping
  }

  async #runStopLadder(): Promise<ChildExit> {
    const grace = this.#options.stopGraceMs
    this.#process.stdin.end()
    if (!(await this.#exitsWithin(grace))) {
      this.#signal('SIGTERM')
      if (!(await this.#exitsWithin(grace))) {
        this.#forced = true
        this.#signal('SIGKILL')
      }
    }
    return this.gone
  }

  // The leader is gone; whatever else runs in its group (the server under `sh -c` or npx, a helper it
  // started) gets SIGTERM, then SIGKILL after the grace period.
  async #reapGroup(): Promise<void> {
    if (this.pid === undefined || !this.#groupAlive()) return
    this.#signalGroup('SIGTERM')
    const deadline = Date.now() + this.#options.stopGraceMs
    while (this.#groupAlive() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20).unref())
    if (this.#groupAlive()) this.#signalGroup('SIGKILL')
  }

  // stdout ended: normal when the process exits. A child still running shortly after has closed its
  // stdout and will never answer again: it is stopped, and whoever waits is told at once.
  #watchStdoutClosed(): void {
    if (this.#exit) return
    const timer = setTimeout(() => {
      if (this.#exit || this.#stopping) return
      void this.stop()
      this.#options.onStdoutClosed?.()
    }, STDOUT_CLOSED_GRACE_MS)
    timer.unref()
  }

  #groupAlive(): boolean {
    try {
      process.kill(-this.pid!, 0)
      return true
    } catch {
      return false
    }
  }

  #signalGroup(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.pid!, signal)
    } catch {
      // gone
    }
  }

  /** Kill the process group at once (for process exit, when nothing can be awaited). */
  kill(): void {
    if (!this.#exit) {
      this.#forced = true
      this.#signal('SIGKILL')
    } else if (this.pid !== undefined && this.#groupAlive()) {
      this.#signalGroup('SIGKILL')
    }
  }

  #signal(signal: NodeJS.Signals): void {
    if (this.pid === undefined) return
    try {
      process.kill(-this.pid, signal)
    } catch {
      // The group is gone already, or was never made (Windows): signal the process itself.
      try {
        process.kill(this.pid, signal)
      } catch {
        // Already exited.
      }
    }
  }

  #exitsWithin(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms)
      timer.unref()
      void this.exited.then(() => {
        clearTimeout(timer)
        resolve(true)
      })
    })
  }
}
