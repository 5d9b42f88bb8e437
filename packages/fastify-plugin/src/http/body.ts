import type { FastifyInstance } from 'fastify'
import type { Tap } from '@proxy/core'
import { HttpError } from '../errors.js'
import { MAX_JSON_DEPTH } from './limits.js'

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
 * Is `text` nested deeper than `limit` objects/arrays? One pass over the text, string contents skipped
 * (an escaped quote does not end a string). A text this short cannot be valid JSON that deep (every
 * level takes an opening and a closing bracket), so only longer texts are scanned.
 */
export function nestedDeeperThan(text: string, limit: number): boolean {
  if (text.length <= 2 * limit) return false
  let depth = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x22 /* " */) {
      // Jump to the closing quote: the first one preceded by an even number of backslashes.
      for (;;) {
        i = text.indexOf('"', i + 1)
        if (i === -1) return false // unterminated: JSON.parse says so
        let backslashes = 0
        while (text.charCodeAt(i - 1 - backslashes) === 0x5c /* \ */) backslashes++
        if (backslashes % 2 === 0) break
      }
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > limit) return true
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--
    }
  }
  return false
}

/**
 * Accept only JSON bodies, up to `maxBodySize` bytes (Fastify answers 413 from Content-Length before
 * reading, or as soon as a chunked body passes the limit), nested at most MAX_JSON_DEPTH levels. Any
 * other media type gets 415. The size of every body read is reported to `tap` while it listens.
 */
export function registerJsonBody(app: FastifyInstance, maxBodySize: number, tap?: Tap): void {
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: maxBodySize }, (request, body, done) => {
    const text = body as string
    if (tap?.active) {
      // Fastify checked that the body is as long as its Content-Length; a chunked body has none.
      const declared = Number(request.headers['content-length'])
      tap.emit({ type: 'bytes', direction: 'in', bytes: Number.isSafeInteger(declared) && declared > 0 ? declared : Buffer.byteLength(text) })
    }
    if (text.trim() === '') {
      // A DELETE (or GET) with a JSON Content-Type and no body is fine: only a POST needs one.
      return request.method === 'POST' ? done(new BodyError(HttpError.EmptyBody), undefined) : done(null, undefined)
    }
    if (nestedDeeperThan(text, MAX_JSON_DEPTH)) return done(new BodyError(HttpError.NestedTooDeep), undefined)
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch {
      return done(new BodyError(HttpError.ParseError), undefined)
    }
    done(null, { value, text } satisfies ParsedBody)
  })
}
