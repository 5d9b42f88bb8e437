import { open } from 'node:fs/promises'
import type { Writable } from 'node:stream'
import { createError } from '@fastify/error'
import type { FastifyInstance } from 'fastify'
import type { JsonRpcId, Logger, Tap, TapEvent } from '@proxy/core'
import { redactUri } from '../redact-uri.js'

type RequestDone = Extract<TapEvent, { type: 'request-done' }>

/** The audit log file cannot be opened: the proxy does not start (`%s` = the path, then why). */
export const FST_MCP_PROXY_AUDIT_LOG = createError<[path: string, reason: string, options?: { cause: unknown }]>(
  'FST_MCP_PROXY_AUDIT_LOG',
  'cannot open the audit log %s: %s',
)

/** Bytes (characters, for a stream that keeps strings) that may wait unwritten before lines are dropped: a slow pipe, a stalled disk. */
export const AUDIT_MAX_BUFFERED_BYTES = 1024 * 1024
/** How long closing waits for the destination to take the last lines. */
const CLOSE_WAIT_MS = 1000
/**
 * Lines are gathered and handed to the destination in one write this often, or once this many characters
 * wait: a write per line costs a thread-pool round trip (a file) or a syscall (a pipe) per request.
 */
const FLUSH_MS = 100
const FLUSH_CHARS = 64 * 1024
/** Client-chosen strings longer than this are cut (a 10 MB tool name must not make a 10 MB line). */
const MAX_FIELD = 1024

/**
 * One line of the audit log: a request the MCP server finished (or that failed, timed out, was cancelled
 * or lost its child). Names and sizes only: never a body, an argument or a header.
 */
export interface AuditLine {
  /** When the request finished (ISO 8601, UTC). */
  time: string
  era: 'legacy' | 'modern'
  /** The 2025 session. */
  session?: string | undefined
  /** Who called, when auth knows (2026-07-28 requests: `api-key` or `anonymous`); never the key. */
  principal?: string | undefined
  method: string
  /** The tool or prompt name, or the resource URI (credentials in it masked). */
  target?: string | undefined
  /** The client's own JSON-RPC id, to find the request in the client's logs. */
  id: JsonRpcId
  durationMs: number
  outcome: RequestDone['outcome']
  errorCode?: number | undefined
  /** UTF-8 bytes of the request as written to the MCP server. */
  bytesIn?: number | undefined
  /** UTF-8 bytes of the MCP server's answer as read from it (absent when it never answered). */
  bytesOut?: number | undefined
}

function cut(text: string): string {
  return text.length <= MAX_FIELD ? text : `${text.slice(0, MAX_FIELD)}…`
}


/** The audit line of a finished request, or undefined for the proxy's own requests (they carry no scope). */
export function auditLine(event: RequestDone, now: Date = new Date()): AuditLine | undefined {
  const { scope } = event
  if (scope === undefined) return undefined
  // Keys in this order; JSON.stringify leaves out the undefined ones.
  return {
    time: now.toISOString(),
    era: scope.era,
    session: scope.session,
    principal: scope.principal,
    method: cut(event.method),
    target: event.target === undefined ? undefined : cut(event.method === 'resources/read' || event.method.startsWith('resources/') ? redactUri(event.target) : event.target),
    id: typeof event.id === 'string' ? cut(event.id) : event.id,
    durationMs: event.durationMs,
    outcome: event.outcome,
    errorCode: event.errorCode,
    bytesIn: event.requestBytes,
    bytesOut: event.answerBytes,
  }
}

export interface AuditLogOptions {
  /** Named in log lines. */
  destination: string
  logger: Logger
  /** @default AUDIT_MAX_BUFFERED_BYTES */
  maxBufferedBytes?: number
  /** End the stream on close (false for stdout, which the proxy does not own). @default true */
  endOnClose?: boolean
}

/**
 * A tap listener that writes one JSON line per finished client request to a stream, gathered into one
 * write every `FLUSH_MS` (or `FLUSH_CHARS`). It never blocks or breaks the message path: a line that
 * would grow what is unwritten (gathered here, or buffered by the stream) past `maxBufferedBytes` is
 * dropped and counted (one warning when dropping starts, one with the count when it stops), and the first
 * stream error (EPIPE, ENOSPC…) is logged once, after which nothing more is written.
 */
export class AuditLog {
  readonly #stream: Writable
  readonly #options: Required<AuditLogOptions>
  #dropped = 0
  /** Lines dropped since the last warning about it. */
  #unreported = 0
  #failed = false
  #closed = false
  /** Lines not yet handed to the stream. */
  #gathered = ''
  #flushTimer: NodeJS.Timeout | undefined

  constructor(stream: Writable, options: AuditLogOptions) {
    this.#stream = stream
    this.#options = { maxBufferedBytes: AUDIT_MAX_BUFFERED_BYTES, endOnClose: true, ...options }
    stream.on('error', this.#onError)
  }

  /** Lines dropped because the destination was behind. */
  get dropped(): number {
    return this.#dropped
  }

  /** The destination failed; nothing is written any more. */
  get failed(): boolean {
    return this.#failed
  }

  /** The tap listener. */
  readonly listener = (event: TapEvent): void => {
    if (event.type !== 'request-done' || this.#failed || this.#closed) return
    const line = auditLine(event)
    if (line === undefined) return
    const unwritten = this.#stream.writableLength + this.#gathered.length
    if (unwritten > this.#options.maxBufferedBytes) {
      this.#dropped++
      if (this.#unreported++ === 0) {
        this.#options.logger.warn(
          { auditLog: this.#options.destination, bufferedBytes: unwritten },
          'audit log destination is behind; dropping audit lines until it catches up',
        )
      }
      return
    }
    this.#reportDropped()
    this.#gathered += `${JSON.stringify(line)}\n`
    if (this.#gathered.length >= FLUSH_CHARS) this.flush()
    else if (this.#flushTimer === undefined) this.#flushTimer = setTimeout(this.flush, FLUSH_MS).unref()
  }

  /** Hand the gathered lines to the stream now. */
  readonly flush = (): void => {
    clearTimeout(this.#flushTimer)
    this.#flushTimer = undefined
    if (this.#gathered === '' || this.#failed) return
    this.#stream.write(this.#gathered)
    this.#gathered = ''
  }

  /** Stop writing and hand the last lines to the destination (waiting at most `CLOSE_WAIT_MS`). */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#flushTimer)
    this.#reportDropped()
    const stream = this.#stream
    if (this.#failed || stream.destroyed) return
    const last = this.#gathered
    this.#gathered = ''
    let timer: NodeJS.Timeout | undefined
    const finished = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, CLOSE_WAIT_MS)
      timer.unref()
      if (this.#options.endOnClose) {
        stream.once('close', resolve)
        stream.end(last)
      } else if (last !== '') {
        // Written in order: once the last chunk is out, so is everything before it.
        stream.write(last, () => resolve())
      } else if (stream.writableNeedDrain) {
        stream.once('drain', resolve)
      } else {
        resolve()
      }
    })
    try {
      await finished
    } finally {
      clearTimeout(timer)
      if (this.#options.endOnClose && !stream.destroyed) stream.destroy()
    }
  }

  #reportDropped(): void {
    if (this.#unreported === 0) return
    this.#options.logger.warn({ auditLog: this.#options.destination, dropped: this.#unreported, droppedTotal: this.#dropped }, 'audit lines dropped while the destination was behind')
    this.#unreported = 0
  }

  // Kept attached for good: a later error of the same stream must not become an uncaught exception.
  #onError = (error: NodeJS.ErrnoException): void => {
    if (this.#failed) return
    this.#failed = true
    this.#gathered = ''
    this.#options.logger.error(
      { auditLog: this.#options.destination, code: error.code, err: error },
      'audit log cannot be written; no more audit lines will be written (the proxy goes on serving)',
    )
  }
}

function describeOpenError(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ENOENT':
      return 'its directory does not exist'
    case 'EACCES':
    case 'EPERM':
      return 'permission denied'
    case 'EISDIR':
      return 'it is a directory'
    case 'ENOTDIR':
      return 'a part of its path is not a directory'
    case 'EROFS':
      return 'read-only file system'
    default:
      return error.code ?? error.message
  }
}

/**
 * Open the audit log `destination`: a file, appended to and created readable by its owner only (0600; an
 * existing file keeps its mode), or `-` for stdout. Fails at once with a clear message when the file
 * cannot be opened.
 */
export async function openAuditLog(destination: string, logger: Logger): Promise<AuditLog> {
  if (destination === '-') return new AuditLog(process.stdout, { destination: 'stdout', logger, endOnClose: false })
  let handle
  try {
    handle = await open(destination, 'a', 0o600)
  } catch (error) {
    throw new FST_MCP_PROXY_AUDIT_LOG(destination, describeOpenError(error as NodeJS.ErrnoException), { cause: error })
  }
  return new AuditLog(handle.createWriteStream(), { destination, logger })
}

/**
 * Audit every finished request of `tap` to `destination`. Opened now, so a path that cannot be written
 * fails registration; closed in `onClose`, after the children stopped (their last requests are audited too).
 */
export async function registerAuditLog(app: FastifyInstance, tap: Tap, destination: string, logger: Logger): Promise<void> {
  const audit = await openAuditLog(destination, logger)
  const unsubscribe = tap.subscribe(audit.listener)
  app.addHook('onClose', async () => {
    unsubscribe()
    await audit.close()
  })
}
