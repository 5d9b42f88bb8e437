/** What replay found: the stream the given event belongs to. */
export interface ReplayResult {
  streamId: string
}

/**
 * Storage of SSE events for resumability (the `Last-Event-ID` header), one instance per session.
 * The in-memory implementation is {@link MemoryEventStore}; a shared store (e.g. Redis) implements the
 * same contract so that a session can be resumed on another replica.
 *
 * Contract:
 * - `append` is synchronous and allocates ids locally: an id is unique within the store (never reused,
 *   not even after `clear`), names its stream for humans, and is a valid SSE id (no `\n`, `\r` or NUL,
 *   provided stream ids have none). Persisting to a shared backend may happen in the background.
 * - Ids are opaque: never recover the stream by parsing an id (stream ids may contain any character,
 *   `_`, `.` and `-` included); keep an explicit id → event record.
 * - The store may evict old events to stay bounded; `replayAfter` an evicted or unknown id yields
 *   `undefined` and the caller answers as for an unknown id.
 */
export interface EventStore {
  /**
   * Record one SSE event (its `data`, already serialized) on a stream and return its id. The id must be
   * returned synchronously (ids are allocated locally, unique within this store, and name their stream);
   * a shared store may persist in the background.
   */
  append(streamId: string, data: string): string
  /**
   * Call `send` for every event recorded after `lastEventId` on the same stream, in order; return that
   * stream, or `undefined` if the id is unknown (never issued, or already evicted). Never sends events
   * from other streams.
   */
  replayAfter(
    lastEventId: string,
    send: (eventId: string, data: string) => void,
  ): ReplayResult | undefined | Promise<ReplayResult | undefined>
  /** Drop everything (session closed). */
  clear(): void
}
