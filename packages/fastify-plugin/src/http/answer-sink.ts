import type { ServerResponse } from 'node:http'
import type { EventKind, StreamSink } from '@proxy/core'
import { Connection } from './connection.js'
import { SseSink, type SseSinkOptions } from './sse-sink.js'

/**
 * The answer to a POST of requests with `jsonResponse`: one `application/json` body while the responses
 * are all there is to send (an array for a batch), an SSE stream as soon as anything else comes first.
 * It starts undecided and collects responses. The first other message of the call (progress, a
 * server→client request such as sampling, elicitation or roots, a log notification) commits it to SSE: an
 * SseSink made at that moment writes the responses collected so far, then every event after. The priming
 * event of a resumable stream decides nothing: it leads the stream if there is one, and never reaches a
 * JSON body. A message that arrives after the JSON body was written goes where the session sends it (the
 * GET stream), as for a finished SSE answer.
 */
export class AnswerSink implements StreamSink {
  /** It can carry anything, so the session routes the call's progress and server requests here. */
  readonly streaming = true
  #connection: Connection
  #options: SseSinkOptions
  #batch: boolean
  #responses: Array<[eventId: string | undefined, data: string]> = []
  #priming: string | undefined
  // Typed as the interface: whatever `send` takes (e.g. the replay flag) passes through unchanged.
  #sse: StreamSink | undefined

  /** `options.headers` go on either answer (session id, CORS headers); `batch`: a JSON answer is an array. */
  constructor(res: ServerResponse, options: SseSinkOptions, batch: boolean) {
    this.#connection = new Connection(res)
    this.#options = options
    this.#batch = batch
  }

  get open(): boolean {
    return this.#connection.open
  }

  send(eventId: string | undefined, data: string, kind: EventKind, replay?: boolean): void {
    if (!this.#connection.open) return
    if (this.#sse) this.#sse.send(eventId, data, kind, replay)
    else if (eventId !== undefined && data === '') this.#priming = eventId
    else if (kind === 'response') this.#responses.push([eventId, data])
    else this.#switchToSse(eventId, data, kind)
  }

  end(): void {
    const connection = this.#connection
    if (!connection.open) return
    if (this.#sse) return this.#sse.end()
    const responses = this.#responses.map(([, data]) => data)
    const body = this.#batch ? `[${responses.join(',')}]` : (responses[0] ?? '')
    const bytes = Buffer.byteLength(body)
    connection.res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', ...this.#options.headers, 'content-length': bytes })
    connection.res.end(body)
    if (this.#options.tap?.active) this.#options.tap.emit({ type: 'bytes', direction: 'out', bytes })
    connection.closed()
  }

  onClose(listener: () => void): void {
    this.#connection.onClose(listener)
  }

  // From now on an SSE stream. What was held back (the priming event, a batch's answers) leaves in one burst
  // with the message that decided, exempt from the slow-client bound: the client had no chance to read yet.
  #switchToSse(eventId: string | undefined, data: string, kind: EventKind): void {
    const sse: StreamSink = new SseSink(this.#connection.res, this.#options)
    this.#sse = sse
    // The stream may close itself (a client that does not read): this answer is closed with it.
    sse.onClose(() => this.#connection.closed())
    if (this.#priming !== undefined) sse.send(this.#priming, '', 'message', true)
    for (const [heldId, held] of this.#responses) sse.send(heldId, held, 'response', true)
    this.#responses = []
    sse.send(eventId, data, kind, true)
  }
}
