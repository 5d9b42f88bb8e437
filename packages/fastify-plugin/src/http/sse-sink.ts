import type { ServerResponse } from 'node:http'
import type { OutgoingHttpHeaders } from 'node:http'
import type { EventKind, StreamSink, Tap } from '@proxy/core'
import { Connection } from './connection.js'

export interface SseSinkOptions {
  /** Extra response headers (session id, CORS headers set by the hooks). */
  headers: OutgoingHttpHeaders
  /** Interval of `: keep-alive` comments; 0 = none. */
  keepAliveMs: number
  /** Bytes that may wait for a slow client; past that the connection is closed (its events stay replayable). */
  maxQueuedBytes: number
  /** The `retry` hint written with the priming event (an event with empty data). */
  retryMs: number
  /** Where streams opening and closing, bytes written and slow clients cut off are reported (metrics). */
  tap?: Tap
}

/** Messages longer than this (characters) are written in three pieces instead of one concatenated string. */
const LARGE_EVENT = 64 * 1024

/** A client with more than maxQueuedBytes waiting that has not caught up for this long is too slow. */
const STALL_MS = 1000
/** Whatever the client does, the queue never passes this many times maxQueuedBytes (plus one event). */
const STALL_CAP_FACTOR = 4

/** A stream silent for this long gets its head flushed alone (clients and proxies wait for headers). */
const HEAD_FLUSH_MS = 50

/** The comment written on a quiet stream (ASCII: its length is its size in bytes). */
const KEEP_ALIVE = ': keep-alive\n\n'

/** Response headers of every SSE stream: no caching or buffering by intermediaries, UTF-8. */
export const SSE_HEADERS: OutgoingHttpHeaders = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
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
  #connection: Connection
  #started = false
  #wrote = false
  /** What was written this tick and has not left yet: it leaves in one write next tick, or with `end`. */
  #tick: string[] = []
  #priming: string | undefined
  #timer: NodeJS.Timeout | undefined
  /** The largest event written since the queue last drained (a client reading at a normal pace still has it queued). */
  #largestQueued = 0
  /** When the queue was last empty: a client that drains now and then is reading, however large the events. */
  #drainedAt = Date.now()
  /** Events written since the queue last drained (what a client cut off for being slow had not read). */
  #queuedEvents = 0
  /** The tap heard this stream open, so it hears it close. */
  #announced = false
  /** `get`: a standing stream (Streamable HTTP GET, legacy SSE); `post`: the answer to a POST. */
  readonly #kind: string

  constructor(res: ServerResponse, options: SseSinkOptions) {
    this.#res = res
    this.#options = options
    this.#connection = new Connection(res)
    this.#kind = (res.req as typeof res.req | undefined)?.method === 'GET' ? 'get' : 'post'
    this.#connection.onClose(() => {
      clearTimeout(this.#timer)
      if (this.#announced && options.tap?.active) options.tap.emit({ type: 'stream-closed', kind: this.#kind })
    })
    res.on('drain', () => {
      this.#largestQueued = 0
      this.#queuedEvents = 0
      this.#drainedAt = Date.now()
    })
  }

  /**
   * Commit to an SSE answer. The head is not flushed on its own: it leaves with the first event, in the
   * same packet, unless nothing is written within HEAD_FLUSH_MS (a long call), when it is flushed alone.
   */
  start(): void {
    if (this.#started || !this.#connection.open) return
    this.#started = true
    this.#res.writeHead(200, { ...SSE_HEADERS, ...this.#options.headers })
    this.#timer = setTimeout(this.#idle, HEAD_FLUSH_MS)
    this.#timer.unref()
    const tap = this.#options.tap
    if (tap?.active) {
      this.#announced = true
      tap.emit({ type: 'stream-opened', kind: this.#kind })
    }
  }

  // First the head (and priming event) of a stream that is still silent, then keep-alive comments.
  #idle = (): void => {
    if (!this.#connection.open) return
    if (this.#priming) this.#write('')
    else if (!this.#wrote) this.#res.flushHeaders()
    else {
      this.#res.write(KEEP_ALIVE)
      if (this.#options.tap?.active) this.#options.tap.emit({ type: 'bytes', direction: 'out', bytes: KEEP_ALIVE.length })
    }
    this.#wrote = true
    const interval = this.#options.keepAliveMs
    if (interval > 0) {
      this.#timer = setTimeout(this.#idle, interval)
      this.#timer.unref()
    }
  }

  // Writes of one tick leave together (one syscall for head, events and end): kept here, written next tick
  // or by end(). The sink buffers them itself rather than corking the response: on Node >= 22 a response
  // ended while corked drops what the cork held, and uncorking first costs the end its own syscall.
  #write(chunk: string): void {
    if (this.#tick.length === 0) process.nextTick(this.#flush)
    this.#wrote = true
    if (this.#priming) {
      this.#tick.push(this.#priming)
      this.#priming = undefined
    }
    if (chunk !== '') this.#tick.push(chunk)
  }

  /** What this tick wrote, as one string (and counted for the tap); empty once taken. */
  #take(): string {
    const tick = this.#tick
    if (tick.length === 0) return ''
    this.#tick = []
    const data = tick.length === 1 ? tick[0]! : tick.join('')
    if (this.#options.tap?.active) this.#options.tap.emit({ type: 'bytes', direction: 'out', bytes: Buffer.byteLength(data) })
    return data
  }

  #flush = (): void => {
    const data = this.#take()
    if (data !== '' && this.#connection.open) this.#res.write(data)
  }

  /**
   * Send the head now if nothing is on its way (a GET stream: the client learns at once that it is open,
   * and does not open another while it waits).
   */
  flushHead(): void {
    if (!this.#started || this.#wrote || this.#tick.length > 0 || !this.#connection.open) return
    this.#res.flushHeaders()
    this.#wrote = true
  }

  /** Nothing was written yet (an error can still be answered instead). */
  get started(): boolean {
    return this.#started
  }

  get open(): boolean {
    return this.#connection.open
  }

  send(eventId: string | undefined, data: string, _kind: EventKind, replay = false): void {
    if (!this.#connection.open) return
    if (!this.#started) this.start()
    const res = this.#res
    // Counted also within a tick's burst of writes (corked). What a client missed (backlog, replay) is
    // bounded where it is kept and leaves in one burst; the bound is for live events on a slow client.
    if (!replay && this.#stalled(res.writableLength + this.#tickLength())) {
      // A client that does not read: drop the connection, not the events (they are in the event store).
      const tap = this.#options.tap
      if (tap?.active) tap.emit({ type: 'events-dropped', events: this.#queuedEvents + 1, bytes: res.writableLength + Buffer.byteLength(data), why: 'slow-client' })
      res.destroy()
      return this.#connection.closed()
    }
    if (data.length > this.#largestQueued) this.#largestQueued = data.length
    if (data !== '') this.#queuedEvents++
    if (data.length > LARGE_EVENT) {
      // A large message is written as is, between its frame lines: no concatenated copy of it.
      this.#write(eventId === undefined ? 'event: message\ndata: ' : `event: message\nid: ${eventId}\ndata: `)
      this.#flush()
      res.write(data)
      if (this.#options.tap?.active) this.#options.tap.emit({ type: 'bytes', direction: 'out', bytes: Buffer.byteLength(data) })
      this.#write('\n\n')
    } else if (eventId === undefined) this.#write(`event: message\ndata: ${data}\n\n`)
    // The priming event (an id, empty data) leaves with the first real event or when the stream goes quiet.
    else if (data === '') this.#priming = `id: ${eventId}\nretry: ${this.#options.retryMs}\ndata: \n\n`
    else this.#write(`event: message\nid: ${eventId}\ndata: ${data}\n\n`)
  }

  // Characters written this tick and not yet handed to the response (an approximation of their bytes).
  #tickLength(): number {
    let length = 0
    for (const chunk of this.#tick) length += chunk.length
    return length
  }

  // A client is too slow when more than maxQueuedBytes wait for it and it has not caught up for a while,
  // or when the queue passes a hard cap whatever it does. Right after large events the queue holds them
  // whole, however fast the client reads: a client that drains now and then is not cut off for that.
  #stalled(queued: number): boolean {
    const max = this.#options.maxQueuedBytes
    if (queued === 0) {
      this.#queuedEvents = 0
      this.#drainedAt = Date.now()
      return false
    }
    if (queued <= max) return false
    return queued > STALL_CAP_FACTOR * max + this.#largestQueued || Date.now() - this.#drainedAt > STALL_MS
  }

  /** Write one event with a custom name (the legacy `endpoint` event). */
  sendNamed(event: string, data: string): void {
    if (!this.#connection.open) return
    this.start()
    this.#write(`event: ${event}\ndata: ${data}\n\n`)
  }

  end(): void {
    if (!this.#connection.open) return
    this.start()
    if (this.#priming) this.#write('')
    // The last events and the end of the body leave together (end corks the socket around both).
    const data = this.#take()
    if (data === '') this.#res.end()
    else this.#res.end(data)
    this.#connection.closed()
  }

  onClose(listener: () => void): void {
    this.#connection.onClose(listener)
  }
}
