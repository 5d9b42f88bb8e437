import type { ServerResponse } from 'node:http'
import type { ModernAnswer } from '@proxy/core'
import { Connection } from './connection.js'
import { SseSink, type SseSinkOptions } from './sse-sink.js'

/**
 * The answer to one 2026-07-28 request: a JSON body with the status the final response warrants (404 for
 * an unknown method, 400 for the ladder's codes) while the response is all there is; an SSE stream
 * (status 200, no event ids, no priming: nothing in 2026-07-28 resumes) from the first progress or log
 * event on.
 */
export class ModernResponse implements ModernAnswer {
  #connection: Connection
  #options: SseSinkOptions
  #sse: SseSink | undefined

  /** `options.headers` go on either answer (CORS headers the hooks set). */
  constructor(res: ServerResponse, options: SseSinkOptions) {
    this.#connection = new Connection(res)
    this.#options = options
  }

  get open(): boolean {
    return this.#connection.open
  }

  event(text: string): void {
    if (!this.#connection.open) return
    if (!this.#sse) {
      const sse = new SseSink(this.#connection.res, this.#options)
      // The stream may close itself (a client that does not read): this answer is closed with it.
      sse.onClose(() => this.#connection.closed())
      sse.start()
      this.#sse = sse
    }
    this.#sse.send(undefined, text, 'message')
  }

  finish(text: string, status: number): void {
    if (!this.#connection.open) return
    if (this.#sse) {
      this.#sse.send(undefined, text, 'response')
      this.#sse.end()
      return
    }
    const { res } = this.#connection
    const bytes = Buffer.byteLength(text)
    res.writeHead(status, { ...this.#options.headers, 'content-type': 'application/json; charset=utf-8', 'content-length': bytes })
    res.end(text)
    if (this.#options.tap?.active) this.#options.tap.emit({ type: 'bytes', direction: 'out', bytes })
    this.#connection.closed()
  }

  onClose(listener: () => void): void {
    this.#connection.onClose(listener)
  }
}
