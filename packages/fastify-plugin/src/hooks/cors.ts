import type { onRequestHookHandler } from 'fastify'
import { originAllowed } from './origin-guard.js'

const ALLOW_METHODS = 'GET, POST, DELETE, OPTIONS'
const ALLOW_HEADERS = 'Content-Type, Accept, Authorization, X-API-Key, Mcp-Session-Id, Mcp-Protocol-Version, Last-Event-ID, Mcp-Method, Mcp-Name'
const EXPOSE_HEADERS = 'Mcp-Session-Id, Mcp-Protocol-Version, WWW-Authenticate, Mcp-Proxy-Instance, Retry-After'

/** A 2026-07-28 `Mcp-Param-<name>` header (the name a tool's schema gives it; a token, RFC 9110). */
const PARAM_HEADER = /^mcp-param-[!#$%&'*+.^_`|~0-9a-z-]+$/i

/**
 * The headers a preflight may allow: the MCP ones, plus the `Mcp-Param-*` headers the browser asks for
 * (their names come from tool schemas, and a prefix cannot be wildcarded in CORS).
 */
function allowHeaders(requested: string | undefined): string {
  const params = (requested ?? '').split(',').map((name) => name.trim()).filter((name) => PARAM_HEADER.test(name))
  return params.length === 0 ? ALLOW_HEADERS : `${ALLOW_HEADERS}, ${params.join(', ')}`
}

/**
 * CORS for browser clients (the MCP Inspector and web apps): an allowed Origin is echoed back (never `*`
 * with credentials), DELETE is allowed, the MCP headers are allowed and `Mcp-Session-Id` is exposed.
 * A preflight (OPTIONS) is answered here with 204. Disallowed origins never get here (the guard runs first).
 */
export function cors(allowedOrigins: Set<string> | undefined): onRequestHookHandler {
  return (request, reply, done) => {
    const origin = request.headers.origin
    if (origin === undefined || !originAllowed(origin, allowedOrigins)) return done()
    reply.header('access-control-allow-origin', origin)
    reply.header('vary', 'Origin')
    reply.header('access-control-expose-headers', EXPOSE_HEADERS)
    if (request.method !== 'OPTIONS') return done()
    reply
      .code(204)
      .header('access-control-allow-methods', ALLOW_METHODS)
      .header('access-control-allow-headers', allowHeaders(request.headers['access-control-request-headers']))
      .header('access-control-max-age', '86400')
      .send()
  }
}
