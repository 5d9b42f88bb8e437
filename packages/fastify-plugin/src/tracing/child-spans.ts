import { SpanKind, SpanStatusCode, type Attributes, type Span, type Tracer } from '@opentelemetry/api'
import type { ChildExitReason, TapEvent } from '@proxy/core'

export const ATTR_PROCESS_PID = 'process.pid'
export const ATTR_PROCESS_EXIT_CODE = 'process.exit.code'
export const ATTR_CHILD_ROLE = 'mcp_proxy.child.role'
export const ATTR_CHILD_EXIT_REASON = 'mcp_proxy.child.exit_reason'
export const ATTR_CHILD_SIGNAL = 'mcp_proxy.child.signal'

/** Exits that are the MCP server's failure, not the proxy's decision or a clean end. */
const FAILED: ReadonlySet<ChildExitReason> = new Set(['crashed', 'spawn-failed'])

/**
 * One span per child process, `child {role}` (`session`, `shared`, the 2026 leg's roles), from its spawn to
 * its exit: a trace of its own (a child outlives the request that caused it), exported when the child
 * ends, with why it ended. A crash or a failed spawn is an ERROR.
 */
export class ChildSpans {
  readonly #tracer: Tracer
  readonly #open = new Map<string, Span[]>()

  readonly #common: Attributes

  constructor(tracer: Tracer, common: Attributes = {}) {
    this.#tracer = tracer
    this.#common = common
  }

  /** The tap listener: a span starts at `child-spawned` and ends at the matching `child-exited` (role and pid). */
  listen(event: TapEvent): void {
    if (event.type === 'child-spawned') {
      const span = this.#start(event.role, event.pid, Date.now())
      const key = `${event.role}\0${String(event.pid)}`
      const queue = this.#open.get(key)
      if (queue) queue.push(span)
      else this.#open.set(key, [span])
    } else if (event.type === 'child-exited') {
      const key = `${event.role}\0${String(event.pid)}`
      const queue = this.#open.get(key)
      const span = queue?.shift() ?? this.#start(event.role, event.pid, Date.now() - event.durationMs)
      if (queue?.length === 0) this.#open.delete(key)
      span.setAttribute(ATTR_CHILD_EXIT_REASON, event.reason)
      if (event.code !== null) span.setAttribute(ATTR_PROCESS_EXIT_CODE, event.code)
      if (event.signal !== null) span.setAttribute(ATTR_CHILD_SIGNAL, event.signal)
      if (FAILED.has(event.reason)) {
        span.setAttribute('error.type', event.reason)
        span.setStatus({ code: SpanStatusCode.ERROR })
      }
      span.end()
    }
  }

  /** End the spans of children still running (the plugin is closing without having stopped them). */
  endAll(): void {
    for (const queue of this.#open.values()) for (const span of queue) span.end()
    this.#open.clear()
  }

  #start(role: string, pid: number | undefined, startTime: number): Span {
    const attributes = pid === undefined ? { [ATTR_CHILD_ROLE]: role } : { [ATTR_CHILD_ROLE]: role, [ATTR_PROCESS_PID]: pid }
    return this.#tracer.startSpan(`child ${role}`, { kind: SpanKind.INTERNAL, root: true, startTime, attributes: { ...this.#common, ...attributes } })
  }
}
