import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'

/**
 * Bucket boundaries (seconds) the OpenTelemetry MCP conventions advise for `mcp.server.operation.duration`
 * (semantic-conventions-genai, docs/gen-ai/mcp.md); the session histogram uses them too.
 */
export const MCP_DURATION_BUCKETS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300]

/** Every instrument of one plugin instance, registered on that instance's own registry. */
export function createInstruments(register: Registry) {
  const registers = [register]
  return {
    // The OpenTelemetry MCP conventions' instruments, in Prometheus spelling (dots become underscores).
    operationDuration: new Histogram({
      name: 'mcp_server_operation_duration_seconds',
      help: 'MCP requests a client sent through the proxy, from when the child was sent the request to its answer (mcp.server.operation.duration). Refused requests are not in here.',
      labelNames: ['mcp_method_name', 'gen_ai_tool_name', 'error_type'] as const,
      buckets: MCP_DURATION_BUCKETS,
      registers,
    }),
    sessionDuration: new Histogram({
      name: 'mcp_server_session_duration_seconds',
      help: 'Sessions (MCP 2025) from initialize to their end (mcp.server.session.duration).',
      labelNames: ['transport'] as const,
      buckets: MCP_DURATION_BUCKETS,
      registers,
    }),

    sessionsOpen: new Gauge({ name: 'mcp_proxy_sessions_open', help: 'Sessions open, by transport (streamable, sse) and era (2026-07-28 has no sessions).', labelNames: ['transport', 'era'] as const, registers }),
    streamsOpen: new Gauge({ name: 'mcp_proxy_sse_streams_open', help: 'SSE streams open: get (a standing GET or legacy SSE stream), post (the answers to one POST).', labelNames: ['kind'] as const, registers }),
    requestsInFlight: new Gauge({ name: 'mcp_proxy_requests_in_flight', help: 'Requests of clients sent to a child and not answered yet.', registers }),

    childrenRunning: new Gauge({ name: 'mcp_proxy_children_running', help: 'MCP server processes running, by role (session, shared, modern…).', labelNames: ['role'] as const, registers }),
    childrenSpawned: new Counter({ name: 'mcp_proxy_children_spawned_total', help: 'MCP server processes started.', labelNames: ['role'] as const, registers }),
    childrenExited: new Counter({
      name: 'mcp_proxy_children_exited_total',
      help: 'MCP server processes ended, by reason: stopped (asked to, ended within the stop ladder), killed (the stop ladder ended in SIGKILL), crash_before_initialize (ended on its own before it answered initialize), code (ended on its own with an exit code), signal (ended on its own by a signal).',
      labelNames: ['role', 'reason'] as const,
      registers,
    }),
    childRestarts: new Counter({ name: 'mcp_proxy_child_restarts_total', help: 'Restarts of a shared child (stateless mode, the 2026-07-28 leg) after it ended.', labelNames: ['role'] as const, registers }),
    spawnFailures: new Counter({ name: 'mcp_proxy_child_spawn_failures_total', help: 'MCP server processes that could not be started (command not found, not executable…).', labelNames: ['role'] as const, registers }),

    refusals: new Counter({
      name: 'mcp_proxy_refusals_total',
      help: 'Requests the proxy refused, by stable reason (MCP_PROXY_*, or MCP_2026_<code> for 2026-07-28 requests) and HTTP status.',
      labelNames: ['reason', 'status'] as const,
      registers,
    }),
    bytes: new Counter({ name: 'mcp_proxy_bytes_total', help: 'Bytes of request bodies read (in) and of MCP answers written (out: JSON bodies and SSE frames; no headers, no refusals).', labelNames: ['direction'] as const, registers }),
    eventsDropped: new Counter({
      name: 'mcp_proxy_events_dropped_total',
      help: 'Events not delivered: slow_client (a client that did not read; its stream was cut, the events stay replayable), backlog (waited too long for a GET stream).',
      labelNames: ['why'] as const,
      registers,
    }),
    eventsDroppedBytes: new Counter({ name: 'mcp_proxy_events_dropped_bytes_total', help: 'Bytes of the events in mcp_proxy_events_dropped_total.', labelNames: ['why'] as const, registers }),
    evictions: new Counter({ name: 'mcp_proxy_event_store_evictions_total', help: 'Events evicted from a session\'s event store to stay within its bounds (no longer replayable).', registers }),
    evictedBytes: new Counter({ name: 'mcp_proxy_event_store_evicted_bytes_total', help: 'Accounted bytes of the evicted events.', registers }),
    draining: new Gauge({ name: 'mcp_proxy_draining', help: '1 from the start of a drain (SIGTERM or POST /drain) on: /ready is 503 and new sessions are refused.', registers }),
    drains: new Counter({ name: 'mcp_proxy_drains_total', help: 'Drains ended, by outcome: idle (every session and request ended first) or timeout (the drain timeout ended them).', labelNames: ['outcome'] as const, registers }),
    linesDropped: new Counter({ name: 'mcp_proxy_lines_dropped_total', help: 'Stdout lines of a child that were not JSON-RPC (dropped), by reason.', labelNames: ['reason'] as const, registers }),
  }
}

export type Instruments = ReturnType<typeof createInstruments>

/** A registry of its own (never prom-client's global one), with the `process_*` and `nodejs_*` defaults. */
export function createRegistry(): Registry {
  const register = new Registry()
  collectDefaultMetrics({ register })
  return register
}
