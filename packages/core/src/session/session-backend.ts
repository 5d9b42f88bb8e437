import type { JsonRpcNotification, JsonRpcRequest, JsonRpcResponse } from '../jsonrpc/schemas.js'
import type { Logger } from '../logger.js'
import type { UpstreamCaller, UpstreamClosed } from '../upstream/upstream.js'

/**
 * Where a message of the MCP server that answers no request goes (a server→client request, a log, a
 * change notification), with the caller whose call it is about when the backend knows it.
 */
export type UnroutedHandler = (message: JsonRpcRequest | JsonRpcNotification, text: string, about?: UpstreamCaller) => void

/** What one session speaks to: a child of its own (per-session mode), or its share of pooled children (shared mode). */
export interface SessionBackend {
  /** Send a request; its answer comes back through `caller` exactly once (or `abandon`). */
  request(caller: UpstreamCaller, message: JsonRpcRequest, text?: string, timeoutMs?: number): void
  /** A client's answer to a request the MCP server sent it. */
  respond(message: JsonRpcResponse, text?: string): void
  /** A client's notification (a cancellation is mapped to the request it names). */
  notify(message: JsonRpcNotification, text?: string): void
  /** Requests of this session wait for an answer. */
  readonly busy: boolean
  /** Answer every request in flight with `reason`, and refuse new ones (the session ends). */
  fail(reason: UpstreamClosed): void
  setUnroutedHandler(handler: UnroutedHandler, logger?: Logger): void
  /** Called once when the backend ended on its own (its child exited): the session ends with it. */
  onClosed(listener: () => void): void
  /** Let go of what the session held (its child is stopped); resolves when done. */
  stop(): Promise<unknown>
  /** Settles once the backend has stopped. */
  readonly exited: Promise<unknown>
  /** Settles once every process of the backend (leftovers included) is gone: its slot of the process budget is free. */
  readonly gone: Promise<unknown>
  /** The process serving this session alone, if there is one. */
  readonly pid: number | undefined
}

/** Where sessions get their backends: the warm pool of per-session children, or the shared children. */
export interface SessionBackends {
  readonly mode: 'session' | 'shared'
  /** A backend for a new session (`env`: entries for its child alone; per-session mode only). */
  take(logger: Logger, env?: Record<string, string>): SessionBackend
  /** Processes kept ready beyond the sessions' own (counted in the process budget). */
  readonly size: number
  /** Of those, ready now. */
  readonly idle: number
  /** Bound the processes kept ready by the process budget. */
  limitTo(room: () => number): void
  /** Start what runs before the first session. */
  fill(): void
  /** Resolves once the first child runs; rejects if it could not start. */
  started(): Promise<void>
  /** A process slot was freed: fill again. */
  refill(): void
  /** Draining: keep nothing ready for sessions that will not come (what serves the open ones stays). */
  stopWarming(): Promise<void>
  /** Stop every child the source holds. */
  close(): Promise<void>
  /** The last start failed (undefined once one succeeds): the proxy is not ready. */
  readonly lastSpawnError: string | undefined
  /** The `children` part of the health report. */
  report(sessions: number, stopping: number): Record<string, unknown>
}
