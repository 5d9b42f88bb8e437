import type { FastifyInstance } from 'fastify'
import { HttpError } from '../errors.js'

/** A request body parsed once: the JSON value and the exact text (forwarded as is when unchanged). */
export interface ParsedBody {
  value: unknown
  text: string
}

/** An error the body parser raises; the error handler turns it into a JSON-RPC error answer. */
export class BodyError extends Error {
  readonly kind: (typeof HttpError)[keyof typeof HttpError]
  constructor(kind: (typeof HttpError)[keyof typeof HttpError]) {
    super(kind.message)
    this.kind = kind
  }
}

/**
 * Accept only JSON bodies, up to `maxBodySize` bytes (Fastify answers 413 from Content-Length before
 * reading, or as soon as a chunked body passes the limit). Any other media type gets 415.
 */
export function registerJsonBody(app: FastifyInstance, maxBodySize: number): void {
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: maxBodySize }, (request, body, done) => {
    const text = body as string
    if (text.trim() === '') {
      // A DELETE (or GET) with a JSON Content-Type and no body is fine: only a POST needs one.
      return request.method === 'POST' ? done(new BodyError(HttpError.EmptyBody), undefined) : done(null, undefined)
    }
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch {
      return done(new BodyError(HttpError.ParseError), undefined)
    }
    done(null, { value, text } satisfies ParsedBody)
  })
}
