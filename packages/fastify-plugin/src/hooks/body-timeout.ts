import { PassThrough } from 'node:stream'
import type { preParsingHookHandler } from 'fastify'
import { HttpError } from '../errors.js'
import { BodyError } from '../http/body.js'

/**
 * A body that is not fully received within `ms` is cut: the body parser fails with 408 (a JSON-RPC
 * error, `Connection: close`), and the connection is closed after the answer. A request without a body
 * (no Content-Length, no Transfer-Encoding) is not timed. Done in `preParsing` by handing the parser a
 * stream that the timer can fail, so it works whatever server the plugin is registered on.
 */
export function bodyTimeout(ms: number): preParsingHookHandler {
  return (request, reply, payload, done) => {
    const { headers } = request
    if (ms === 0 || (headers['content-length'] === undefined && headers['transfer-encoding'] === undefined)) return done(null, payload)
    const body = new PassThrough()
    // The parser may stop listening early (413 from Content-Length): a late error must not go unheard.
    body.on('error', () => {})
    const timer = setTimeout(() => {
      payload.unpipe(body)
      if (reply.sent || reply.raw.headersSent) return
      reply.header('connection', 'close')
      body.destroy(new BodyError(HttpError.BodyTimeout))
    }, ms)
    timer.unref()
    const finished = (): void => clearTimeout(timer)
    payload.once('end', finished)
    payload.once('close', finished)
    payload.once('error', (error) => {
      finished()
      body.destroy(error)
    })
    payload.pipe(body)
    done(null, body)
  }
}
