import { isIPv6 } from 'node:net'
import type { onRequestHookHandler } from 'fastify'
import { HttpError, replyError } from '../errors.js'

// A host name or IPv4 address: RFC 3986 unreserved characters (letters, digits, `-._~`).
const NAME = /^[A-Za-z0-9._~-]+$/

function portOk(text: string): boolean {
  if (!/^\d{1,5}$/.test(text)) return false
  const port = Number(text)
  return port >= 1 && port <= 65535
}

/** Is a `Host` header well formed: `name`, `name:port`, IPv4, `[IPv6]` or `[IPv6]:port`, a port being 1–65535? */
export function hostWellFormed(host: string): boolean {
  let rest: string
  if (host.startsWith('[')) {
    const close = host.indexOf(']')
    if (close === -1 || !isIPv6(host.slice(1, close))) return false
    rest = host.slice(close + 1)
  } else {
    const colon = host.indexOf(':')
    if (!NAME.test(colon === -1 ? host : host.slice(0, colon))) return false
    rest = colon === -1 ? '' : host.slice(colon)
  }
  return rest === '' || (rest.startsWith(':') && portOk(rest.slice(1)))
}

/**
 * A `Host` header that is present but malformed (`localhost:abc`, `[::1]:evil`, a port over 65535, an
 * empty value) gets 400 on every route, whatever hosts are allowed: it names no server at all. A missing
 * Host is the Origin/Host guard's business.
 */
export function hostShape(): onRequestHookHandler {
  return (request, reply, done) => {
    const host = request.headers.host
    if (host !== undefined && !hostWellFormed(host)) return replyError(reply, HttpError.MalformedHost)
    done()
  }
}
