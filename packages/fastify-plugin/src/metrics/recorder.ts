import type { ChildExitReason, JsonRpcId, JsonRpcMessage, TapEvent, TapScope } from '@proxy/core'
import { HttpError } from '../errors.js'
import type { Instruments } from './instruments.js'
import { BoundedLabel, ErrorTypes, methodLabel, refusalLabel, toolNameLabel } from './labels.js'

export interface RecorderOptions {
  /** Label `tools/call` observations with the tool name (bounded); false leaves `gen_ai_tool_name` empty. */
  toolNames: boolean
  /** The process id of a session's child (to know which children answered initialize). */
  sessionPid: (session: string) => number | undefined
}

/** A request in flight, as both of its tap events name it (scope objects are rebuilt, ids are reused). */
function flightKey(scope: TapScope, id: JsonRpcId): string {
  return `${scope.session ?? scope.era}\u0000${typeof id}:${String(id)}`
}

/**
 * Turns tap events into the instruments' values. One per plugin instance; it keeps only what pairing
 * events needs (requests in flight, children running, the children that answered initialize).
 */
export class MetricsRecorder {
  readonly #m: Instruments
  readonly #options: RecorderOptions
  readonly #tools = toolNameLabel()
  readonly #errors = new ErrorTypes()
  readonly #roles = new BoundedLabel(16)
  readonly #lineReasons = new BoundedLabel(16)
  /** Requests sent to a child and not done, counted per key (several stateless clients reuse id 1). */
  readonly #inFlight = new Map<string, number>()
  /** Children running (their pid), so an exit of one started before metrics began is not subtracted. */
  readonly #running = new Set<number>()
  /** Session children that answered their client's initialize. */
  readonly #initialized = new Set<number>()
  /** The child's last message was a result with `isError` (read by the request-done event the tap emits right after it). */
  #lastIsError = false
  /**
   * An initialize just failed because its child went away: the exit event that follows is that child's
   * (a child's end fails its requests in flight, then reports the exit, in one go).
   */
  #initializeLost = false

  constructor(instruments: Instruments, options: RecorderOptions) {
    this.#m = instruments
    this.#options = options
    // Known series start at 0, so a rate over the first increase is right.
    for (const error of Object.values(HttpError)) if (error.status !== 500) instruments.refusals.inc({ reason: error.name, status: String(error.status) }, 0)
    for (const direction of ['in', 'out']) instruments.bytes.inc({ direction }, 0)
    for (const why of ['slow_client', 'backlog']) {
      instruments.eventsDropped.inc({ why }, 0)
      instruments.eventsDroppedBytes.inc({ why }, 0)
    }
  }

  /** The tap listener. */
  readonly record = (event: TapEvent): void => {
    // Only the other requests the same exit fails (child-gone) may come between the two.
    const initializeLost = this.#initializeLost
    if (event.type !== 'request-done' || event.outcome !== 'child-gone') this.#initializeLost = false
    switch (event.type) {
      case 'to-child':
        if (event.scope && 'method' in event.message && 'id' in event.message) this.#sent(flightKey(event.scope, event.message.id))
        return
      case 'from-child':
        this.#lastIsError = isToolError(event.message)
        return
      case 'request-done':
        return this.#requestDone(event)
      case 'child-spawned':
        return this.#spawned(event.pid, this.#roles.of(event.role))
      case 'child-exited':
        return this.#exited(event.pid, this.#roles.of(event.role), event.reason, event.signal, initializeLost)
      case 'child-restart':
        this.#m.childRestarts.inc({ role: this.#roles.of(event.role) })
        return
      case 'line-dropped':
        this.#m.linesDropped.inc({ reason: this.#lineReasons.of(event.reason) })
        return
      case 'session-opened':
        this.#m.sessionsOpen.inc({ transport: event.transport, era: 'legacy' })
        return
      case 'session-closed':
        this.#m.sessionsOpen.dec({ transport: event.transport, era: 'legacy' })
        this.#m.sessionDuration.observe({ transport: event.transport }, event.durationMs / 1000)
        return
      case 'refused':
        this.#m.refusals.inc({ reason: refusalLabel(event.reason), status: String(event.status) })
        return
      case 'stream-opened':
        this.#m.streamsOpen.inc({ kind: event.kind })
        return
      case 'stream-closed':
        this.#m.streamsOpen.dec({ kind: event.kind })
        return
      case 'events-dropped': {
        const why = event.why === 'slow-client' ? 'slow_client' : 'backlog'
        this.#m.eventsDropped.inc({ why }, event.events)
        this.#m.eventsDroppedBytes.inc({ why }, event.bytes)
        return
      }
      case 'events-evicted':
        this.#m.evictions.inc(event.events)
        this.#m.evictedBytes.inc(event.bytes)
        return
      case 'bytes':
        this.#m.bytes.inc({ direction: event.direction }, event.bytes)
        return
    }
  }

  #sent(key: string): void {
    this.#inFlight.set(key, (this.#inFlight.get(key) ?? 0) + 1)
    this.#m.requestsInFlight.inc()
  }

  #requestDone(event: Extract<TapEvent, { type: 'request-done' }>): void {
    // The Upstream emits a response's from-child event, then at once its request-done: that answer is this one.
    const answeredIsError = this.#lastIsError
    this.#lastIsError = false
    if (event.method === 'initialize') {
      if (event.outcome === 'child-gone') this.#initializeLost = true
      else if (event.outcome === 'ok' && event.scope?.session !== undefined) {
        const pid = this.#options.sessionPid(event.scope.session)
        if (pid !== undefined) this.#initialized.add(pid)
      }
    }
    // The proxy's own requests (the handshake of a shared child, its catalog) are no client's operation.
    const { scope } = event
    if (!scope) return
    const key = flightKey(scope, event.id)
    const sent = this.#inFlight.get(key)
    if (sent !== undefined) {
      if (sent > 1) this.#inFlight.set(key, sent - 1)
      else this.#inFlight.delete(key)
      this.#m.requestsInFlight.dec()
    }
    const toolCall = event.method === 'tools/call'
    const toolError = toolCall && event.outcome === 'ok' && answeredIsError
    // A name earns a label value only by a call that worked: a client calling made-up tools cannot use up
    // the bounded set (a failed call to a tool seen before keeps its name; an unknown one is `other`).
    const known = event.outcome === 'ok' && !toolError
    const tool = toolCall && this.#options.toolNames && event.target !== undefined ? (known ? this.#tools.of(event.target) : this.#tools.ifKnown(event.target)) : ''
    this.#m.operationDuration.observe(
      { mcp_method_name: methodLabel(event.method), gen_ai_tool_name: tool, error_type: this.#errors.of(event.outcome, event.errorCode, toolError) },
      event.durationMs / 1000,
    )
  }

  #spawned(pid: number | undefined, role: string): void {
    // A child that could not be started has no pid; its exit event says so (spawn-failed).
    if (pid === undefined) return
    this.#running.add(pid)
    this.#m.childrenSpawned.inc({ role })
    this.#m.childrenRunning.inc({ role })
  }

  #exited(pid: number | undefined, role: string, reason: ChildExitReason, signal: string | null, initializeLost: boolean): void {
    if (pid !== undefined && this.#running.delete(pid)) this.#m.childrenRunning.dec({ role })
    const initialized = pid !== undefined && this.#initialized.delete(pid)
    if (reason === 'spawn-failed') {
      this.#m.spawnFailures.inc({ role })
      return
    }
    this.#m.childrenExited.inc({ role, reason: exitLabel(reason, signal, role === 'session' ? !initialized : initializeLost) })
  }
}

/**
 * `reason` of an exit. A child ended on its own before initialize when its initialize failed because it
 * went away (the proxy's own handshake of a shared child), or, for a session's child, when it never
 * answered its client's initialize (a warm child that died waiting counts too).
 */
function exitLabel(reason: Exclude<ChildExitReason, 'spawn-failed'>, signal: string | null, beforeInitialize: boolean): string {
  if (reason === 'stopped' || reason === 'killed') return reason
  if (beforeInitialize) return 'crash_before_initialize'
  return signal === null ? 'code' : 'signal'
}

function isToolError(message: JsonRpcMessage): boolean {
  if (!('result' in message)) return false
  const result = message.result as { isError?: unknown } | null | undefined
  return result?.isError === true
}
