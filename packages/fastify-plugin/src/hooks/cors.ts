import type { onRequestHookHandler } from 'fastify'
import { originAllowed } from './origin-guard.js'

const ALLOW_METHODS = 'GET, POST, DELETE, OPTIONS'
const ALLOW_HEADERS = 'Content-Type, Accept, Authorization, X-API-Key, Mcp-Session-Id, Mcp-Protocol-Version, Last-Event-ID, Mcp-Method, Mcp-Name'
const EXPOSE_HEADERS = 'Mcp-Session-Id, Mcp-Protocol-Version, WWW-Authenticate'

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
      .header('access-control-allow-headers', ALLOW_HEADERS)
      .header('access-control-max-age', '86400')
      .send()
  }
}
