import type { ServerResponse } from 'node:http'
import type { OutgoingHttpHeaders } from 'node:http'
import type { EventKind, StreamSink } from '@proxy/core'

export interface SseSinkOptions {
  /** Extra response headers (session id, CORS headers set by the hooks). */
  headers: OutgoingHttpHeaders
  /** Interval of `: keep-alive` comments; 0 = none. */
  keepAliveMs: number
  /** Bytes that may wait for a slow client; past that the connection is closed (its events stay replayable). */
  maxQueuedBytes: number
  /** The `retry` hint written with the priming event (an event with empty data). */
  retryMs: number
}

/** Response headers of every SSE stream: no caching or buffering by intermediaries, UTF-8. */
export const SSE_HEADERS: OutgoingHttpHeaders = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
}

/**
 * An SSE stream on a raw Node response: one `res.write` per event and no promise on the hot path.
 * Frames are `event: message`, `id: <event id>` (when the session keeps events), `data: <json>`.
 * A JSON text never holds a raw newline, so each message is exactly one `data:` line.
 */
export class SseSink implements StreamSink {
  readonly streaming = true
  #res: ServerResponse
  #options: SseSinkOptions
  #open = true
  #started = false
  #keepAlive: NodeJS.Timeout | undefined
  #closeListeners: Array<() => void> = []

  constructor(res: ServerResponse, options: SseSinkOptions) {
    this.#res = res
    this.#options = options
    res.once('close', () => this.#closed())
  }

  /** Send the response head now (otherwise it goes with the first event). */
  start(): void {
    if (this.#started || !this.#open) return
    this.#started = true
    const res = this.#res
    res.writeHead(200, { ...SSE_HEADERS, ...this.#options.headers })
    res.flushHeaders()
    if (this.#options.keepAliveMs > 0) {
      this.#keepAlive = setInterval(() => {
        if (this.#open) res.write(': keep-alive\n\n')
      }, this.#options.keepAliveMs)
      this.#keepAlive.unref()
    }
  }

  /** Nothing was written yet (an error can still be answered instead). */
  get started(): boolean {
    return this.#started
  }

  get open(): boolean {
    return this.#open
  }

  send(eventId: string | undefined, data: string, _kind: EventKind): void {
    if (!this.#open) return
    if (!this.#started) this.start()
    const res = this.#res
    if (res.writableLength > this.#options.maxQueuedBytes) {
      // A client that does not read: drop the connection, not the events (they are in the event store).
      res.destroy()
      return this.#closed()
    }
    if (eventId === undefined) res.write(`event: message\ndata: ${data}\n\n`)
    else if (data === '') res.write(`id: ${eventId}\nretry: ${this.#options.retryMs}\ndata: \n\n`)
    else res.write(`event: message\nid: ${eventId}\ndata: ${data}\n\n`)
  }

  /** Write one event with a custom name (the legacy `endpoint` event). */
  sendNamed(event: string, data: string): void {
    if (!this.#open) return
    this.start()
    this.#res.write(`event: ${event}\ndata: ${data}\n\n`)
  }

  end(): void {
    if (!this.#open) return
    this.start()
    this.#res.end()
    this.#closed()
  }

  onClose(listener: () => void): void {
    if (this.#open) this.#closeListeners.push(listener)
    else listener()
  }

  #closed(): void {
    if (!this.#open) return
    this.#open = false
    if (this.#keepAlive) clearInterval(this.#keepAlive)
    const listeners = this.#closeListeners
    this.#closeListeners = []
    for (const listener of listeners) listener()
  }
}
