import type { OutgoingHttpHeaders, ServerResponse } from 'node:http'
import type { EventKind, StreamSink } from '@proxy/core'

/**
 * A plain `application/json` answer to a POST of requests (the `jsonResponse` option): collects the
 * responses and writes them as one body when the last one is in (an array for a batch). It cannot
 * carry server→client requests or notifications, so the session routes those elsewhere.
 */
export class JsonSink implements StreamSink {
  readonly streaming = false
  #res: ServerResponse
  #headers: OutgoingHttpHeaders
  #batch: boolean
  #responses: string[] = []
  #open = true
  #closeListeners: Array<() => void> = []

  constructor(res: ServerResponse, headers: OutgoingHttpHeaders, batch: boolean) {
    this.#res = res
    this.#headers = headers
    this.#batch = batch
    res.once('close', () => this.#closed())
  }

  get open(): boolean {
    return this.#open
  }

  send(_eventId: string | undefined, data: string, kind: EventKind): void {
    if (this.#open && kind === 'response') this.#responses.push(data)
  }

  end(): void {
    if (!this.#open) return
    const body = this.#batch ? `[${this.#responses.join(',')}]` : (this.#responses[0] ?? '')
    this.#res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', ...this.#headers, 'content-length': Buffer.byteLength(body) })
    this.#res.end(body)
    this.#closed()
  }

  onClose(listener: () => void): void {
    if (this.#open) this.#closeListeners.push(listener)
    else listener()
  }

  #closed(): void {
    if (!this.#open) return
    this.#open = false
    const listeners = this.#closeListeners
    this.#closeListeners = []
    for (const listener of listeners) listener()
  }
}
