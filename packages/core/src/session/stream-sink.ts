/** What kind of message an event carries: sinks that cannot stream (plain JSON answers) keep only responses. */
export type EventKind = 'response' | 'message'

/** One HTTP response that events are written to: an SSE stream, or a JSON body collecting responses. */
export interface StreamSink {
  /** False once the connection is gone or the sink was ended. */
  readonly open: boolean
  /** Can carry server→client requests and notifications (an SSE stream can, and so can a JSON answer that switches to SSE; a plain JSON body cannot). */
  readonly streaming: boolean
  /**
   * Write one event. `eventId` is set when the session keeps events for replay. `replay` marks events
   * the client missed (a backlog or a Last-Event-ID replay, already bounded in bytes), written in one
   * burst: a slow-client bound applies to live events only.
   */
  send(eventId: string | undefined, data: string, kind: EventKind, replay?: boolean): void
  /** The stream is complete (every request on it answered): finish the HTTP response. */
  end(): void
  /** Called once when the connection closes, whoever closed it. */
  onClose(listener: () => void): void
}
