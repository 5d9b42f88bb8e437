import type { ChildCommand, ChildExit } from '../child/stdio-child.js'
import { StdioChild } from '../child/stdio-child.js'
import type { JsonRpcNotification, JsonRpcRequest, JsonRpcResponse } from '../jsonrpc/schemas.js'
import type { Logger } from '../logger.js'
import type { Tap } from '../tap/tap.js'
import type { ToolFilter } from './tool-filter.js'
import type { SessionBackend } from '../session/session-backend.js'
import { Upstream, type UpstreamCaller, type UpstreamClosed } from './upstream.js'

/** Limits and timeouts of one child and its Upstream. */
export interface ChildUpstreamOptions {
  command: ChildCommand
  shared: boolean
  maxLineLength: number
  maxQueuedBytes: number
  stopGraceMs: number
  requestTimeoutMs: number
  maxRequestTimeoutMs: number
  /** Where messages, finished requests and the child's life are reported. */
  tap?: Tap
  /** What the child is for, in tap events and logs (session, shared, modern…). @default 'session' */
  role?: string
  /** Tools hidden from clients. */
  toolFilter?: ToolFilter
  logger: Logger
}

type Unrouted = (message: JsonRpcRequest | JsonRpcNotification, text: string) => void
type ClosedListener = (exit: ChildExit) => void

/** Describe how a child ended, for logs and for the error every pending request gets. */
export function describeExit(exit: ChildExit): string {
  if (exit.spawnError) return `The MCP server could not be started (${exit.spawnError})`
  const how = exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`
  return `The MCP server exited (${how})`
}

/**
 * A child process and the Upstream that speaks JSON-RPC to it, wired together. It owns the child's end:
 * one log line (with the last stderr lines when the proxy did not ask it to stop), every request in
 * flight answered, then its `onClosed` listeners.
 */
export class ChildUpstream implements SessionBackend {
  readonly child: StdioChild
  readonly upstream: Upstream
  /** Settles when the child has exited; every request in flight has been answered by then. */
  readonly exited: Promise<ChildExit>
  /** Settles when the child and everything left in its process group are gone. */
  readonly gone: Promise<ChildExit>
  #onUnrouted: Unrouted | undefined
  #closedListeners: ClosedListener[] = []
  #exit: ChildExit | undefined
  #tap: Tap | undefined
  #role: string
  #logger: Logger

  constructor(options: ChildUpstreamOptions) {
    this.#logger = options.logger
    const upstream = new Upstream({
      transport: { send: (text) => this.child.send(text) },
      shared: options.shared,
      requestTimeoutMs: options.requestTimeoutMs,
      maxRequestTimeoutMs: options.maxRequestTimeoutMs,
      onUnrouted: (message, text) => this.#route(message, text),
      ...(options.tap ? { tap: options.tap } : {}),
      ...(options.toolFilter ? { toolFilter: options.toolFilter } : {}),
      logger: options.logger,
    })
    this.upstream = upstream
    this.child = new StdioChild(options.command, {
      maxLineLength: options.maxLineLength,
      maxQueuedBytes: options.maxQueuedBytes,
      stopGraceMs: options.stopGraceMs,
      onValue: (value, text) => upstream.receive(value, text),
      onNoise: (event) => {
        if (options.tap?.active) options.tap.emit({ type: 'line-dropped', reason: event.reason, length: event.length })
        this.#logger.warn({ reason: event.reason, length: event.length, preview: event.preview }, 'MCP server wrote a stdout line that is not JSON-RPC; dropped')
        if (event.edges) upstream.lineTooLong(event.edges, event.length, options.maxLineLength)
      },
      onStderr: (line) => this.#logger.info({ childPid: this.child.pid, stderr: line }, 'MCP server stderr'),
      onExit: (exit) => this.#ended(exit),
      onStdoutClosed: () => {
        this.#logger.warn({ childPid: this.child.pid }, 'MCP server closed its stdout but kept running; stopping it')
        upstream.close({ message: 'The MCP server closed its stdout before answering' })
      },
    })
    this.exited = this.child.exited
    this.gone = this.child.gone
    this.#tap = options.tap
    this.#role = options.role ?? 'session'
    if (this.#tap?.active) this.#tap.emit({ type: 'child-spawned', pid: this.child.pid, role: this.#role })
  }

  // --- a session's own child (SessionBackend)

  request(caller: UpstreamCaller, message: JsonRpcRequest, text?: string, timeoutMs?: number): void {
    this.upstream.request(caller, message, text, timeoutMs)
  }

  respond(message: JsonRpcResponse, text?: string): void {
    this.upstream.respond(message, text)
  }

  notify(message: JsonRpcNotification, text?: string): void {
    this.upstream.notify(message, text)
  }

  get busy(): boolean {
    return this.upstream.pendingCount > 0
  }

  fail(reason: UpstreamClosed): void {
    this.upstream.close(reason)
  }

  get pid(): number | undefined {
    return this.child.pid
  }

  /** Where messages that belong to no request go (server→client requests, notifications). */
  setUnroutedHandler(handler: Unrouted, logger?: Logger): void {
    this.#onUnrouted = handler
    if (logger) this.#logger = logger
  }

  /**
   * Called once when the child has ended (at once if it already has), after the exit was logged and
   * every request in flight answered.
   */
  onClosed(listener: ClosedListener): void {
    if (this.#exit) listener(this.#exit)
    else this.#closedListeners.push(listener)
  }

  /** Stop the child with the stop ladder. */
  stop(): Promise<ChildExit> {
    return this.child.stop()
  }

  #ended(exit: ChildExit): void {
    const fields = { childPid: this.child.pid, code: exit.code, signal: exit.signal, durationMs: exit.durationMs, forced: exit.forced }
    // An exit the proxy asked for is routine; any other is the server's doing, and its last words say why.
    if (this.child.stopping) this.#logger.info(fields, 'MCP server exited')
    else this.#logger.warn({ ...fields, lastStderr: exit.lastStderr, ...(exit.spawnError ? { spawnError: exit.spawnError } : {}) }, describeExit(exit))
    this.upstream.close({ message: describeExit(exit) + ' before answering', data: { code: exit.code, signal: exit.signal } })
    if (this.#tap?.active) {
      const reason = exit.spawnError ? 'spawn-failed' : exit.forced ? 'killed' : this.child.stopping ? 'stopped' : exit.code === 0 ? 'exited' : 'crashed'
      this.#tap.emit({ type: 'child-exited', pid: this.child.pid, role: this.#role, reason, code: exit.code, signal: exit.signal, durationMs: exit.durationMs })
    }
    this.#exit = exit
    const listeners = this.#closedListeners
    this.#closedListeners = []
    for (const listener of listeners) listener(exit)
  }

  #route(message: JsonRpcRequest | JsonRpcNotification, text: string): void {
    if (this.#onUnrouted) this.#onUnrouted(message, text)
    else this.#logger.debug({ method: message.method }, 'MCP server message before any client attached; dropped')
  }
}
