import type { OutgoingHttpHeaders, ServerResponse } from 'node:http'
import type { EventKind, StreamSink } from '@proxy/core'
import { Connection } from './connection.js'

/**
 * A plain `application/json` answer to a POST of requests (the `jsonResponse` option): collects the
 * responses and writes them as one body when the last one is in (an array for a batch). It cannot
 * carry server→client requests or notifications, so the session routes those elsewhere.
 */
export class JsonSink implements StreamSink {
  readonly streaming = false
  #connection: Connection
  #headers: OutgoingHttpHeaders
  #batch: boolean
  #responses: string[] = []

  constructor(res: ServerResponse, headers: OutgoingHttpHeaders, batch: boolean) {
    this.#connection = new Connection(res)
    this.#headers = headers
    this.#batch = batch
  }

  get open(): boolean {
    return this.#connection.open
  }

  send(_eventId: string | undefined, data: string, kind: EventKind): void {
    if (this.#connection.open && kind === 'response') this.#responses.push(data)
  }

  end(): void {
    const connection = this.#connection
    if (!connection.open) return
    const body = this.#batch ? `[${this.#responses.join(',')}]` : (this.#responses[0] ?? '')
    connection.res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', ...this.#headers, 'content-length': Buffer.byteLength(body) })
    connection.res.end(body)
    connection.closed()
  }

  onClose(listener: () => void): void {
    this.#connection.onClose(listener)
  }
}
