import type { JsonRpcId, JsonRpcMessage, JsonRpcRequest } from '../jsonrpc/schemas.js'

/** Which conversation a message belongs to: a 2025 session, a stateless request, or a 2026-07-28 request. */
export interface TapScope {
  era: 'legacy' | 'modern'
  /** The session id (2025 sessions only). */
  session?: string
  /** Who is calling, when auth knows it (2026 requests). */
  principal?: string
  /** The protocol revision the client speaks, when known. */
  protocolVersion?: string
}

/** How a request to the MCP server ended. */
export type RequestOutcome = 'ok' | 'error' | 'timeout' | 'cancelled' | 'child-gone'

/** How a child process ended. */
export type ChildExitReason = 'stopped' | 'exited' | 'crashed' | 'killed' | 'spawn-failed'

/** One thing the proxy saw or did. Every event names its `type`; subscribers ignore what they do not use. */
export type TapEvent =
  /** A message written to a child's stdin (a client's request with its rewritten id, a notification, an answer). */
  | { type: 'to-child'; message: JsonRpcMessage; scope: TapScope | undefined }
  /** A message read from a child's stdout (before ids are restored). */
  | { type: 'from-child'; message: JsonRpcMessage; scope: TapScope | undefined }
  /** A request to the MCP server was answered (or failed): the operation a client waited for. */
  | {
      type: 'request-done'
      method: string
      /** The tool, prompt or resource named by the request, if any. */
      target: string | undefined
      id: JsonRpcId
      durationMs: number
      outcome: RequestOutcome
      /** The JSON-RPC error code of a failed request. */
      errorCode: number | undefined
      /** UTF-8 bytes of the request as written to the child (its stdin line, without the newline). */
      requestBytes: number | undefined
      /** UTF-8 bytes of the child's answer line; undefined when none came (timeout, cancelled, child gone, a batch item). */
      answerBytes: number | undefined
      scope: TapScope | undefined
    }
  | { type: 'child-spawned'; pid: number | undefined; role: string }
  | { type: 'child-exited'; pid: number | undefined; role: string; reason: ChildExitReason; code: number | null; signal: string | null; durationMs: number }
  /** A shared child (stateless, or the 2026 leg's) is being restarted after it ended. */
  | { type: 'child-restart'; role: string }
  /** A stdout line of a child that was not JSON-RPC (dropped). */
  | { type: 'line-dropped'; reason: string; length: number }
  | { type: 'session-opened'; session: string; transport: string }
  | { type: 'session-closed'; session: string; transport: string; durationMs: number }
  /** The HTTP edge refused a request: the stable reason and the status. */
  | { type: 'refused'; reason: string; status: number }
  | { type: 'stream-opened'; kind: string }
  | { type: 'stream-closed'; kind: string }
  /** Events a slow client did not read in time (its stream was cut) or that waited too long for a GET. */
  | { type: 'events-dropped'; events: number; bytes: number; why: 'slow-client' | 'backlog' }
  /** Bytes of client bodies read and of answers written. */
  | { type: 'bytes'; direction: 'in' | 'out'; bytes: number }
  /** Events a session's event store let go to stay within its bounds (no longer replayable). */
  | { type: 'events-evicted'; events: number; bytes: number }

/** A tap listener. It may be async (a `void` return type accepts one); a rejection is reported like a throw. */
export type TapListener = (event: TapEvent) => void

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
}

/**
 * Rewrites a request on its way to the child (tracing puts its context in `params._meta`). Returns the
 * request to send: the same object when nothing changes.
 */
export type RequestDecorator = (message: JsonRpcRequest, scope: TapScope | undefined) => JsonRpcRequest

/**
 * The one seam every message and every lifecycle event of the proxy passes through, for metrics, tracing,
 * audit logs and a library user's own code. With no subscriber it costs one property read per message:
 * callers check `active` before they build an event.
 */
export class Tap {
  #listeners: TapListener[] = []
  #decorators: RequestDecorator[] = []
  #reported = new WeakSet<object>()

  /** Someone listens: build and emit events. */
  get active(): boolean {
    return this.#listeners.length > 0
  }

  /** A request decorator is installed. */
  get decorating(): boolean {
    return this.#decorators.length > 0
  }

  /** Listen to every event; returns the function that stops listening. */
  subscribe(listener: TapListener): () => void {
    this.#listeners = [...this.#listeners, listener]
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener)
    }
  }

  /** Rewrite every request on its way to a child; returns the function that removes the decorator. */
  decorate(decorator: RequestDecorator): () => void {
    this.#decorators = [...this.#decorators, decorator]
    return () => {
      this.#decorators = this.#decorators.filter((d) => d !== decorator)
    }
  }

  /**
   * Tell every listener. A listener that throws (or returns a promise that rejects) is the listener's bug:
   * it must not break the message path, so the error is kept here and reported once per listener through
   * `onListenerError`.
   */
  emit(event: TapEvent): void {
    for (const listener of this.#listeners) {
      try {
        const result: unknown = listener(event)
        if (isThenable(result)) result.then(undefined, (error: unknown) => this.#failed(listener, error))
      } catch (error) {
        this.#failed(listener, error)
      }
    }
  }

  /** Run the decorators over a request (each sees the previous one's result). */
  decorateRequest(message: JsonRpcRequest, scope: TapScope | undefined): JsonRpcRequest {
    let out = message
    for (const decorator of this.#decorators) {
      try {
        out = decorator(out, scope)
      } catch (error) {
        this.#failed(decorator, error)
      }
    }
    return out
  }

  // Reported once per listener (a listener that always throws would otherwise log per message); the
  // report itself can never throw into the message path.
  #failed(listener: object, error: unknown): void {
    if (this.#reported.has(listener)) return
    this.#reported.add(listener)
    try {
      this.onListenerError(error)
    } catch {
      // The error could not even be reported (an unserializable value): nothing more to do.
    }
  }

  /** Where a throwing listener's error goes (once per listener); replaced by the owner (a log line). */
  onListenerError: (error: unknown) => void = () => {}
}

/** The name a request targets (tool, prompt, resource URI), for metrics and span names. */
export function targetOf(message: JsonRpcRequest): string | undefined {
  const params = message.params as { name?: unknown; uri?: unknown } | undefined
  if (typeof params?.name === 'string') return params.name
  if (typeof params?.uri === 'string') return params.uri
  return undefined
}
