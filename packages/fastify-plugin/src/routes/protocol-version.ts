import type { FastifyRequest } from 'fastify'
import { SUPPORTED_PROTOCOL_VERSIONS } from '@proxy/core'

const SUPPORTED: ReadonlySet<string> = new Set(SUPPORTED_PROTOCOL_VERSIONS)

/** The `MCP-Protocol-Version` header is absent (assume the session's) or names a supported revision. */
export function protocolVersionOk(request: FastifyRequest): boolean {
  const header = request.headers['mcp-protocol-version']
  return header === undefined || (typeof header === 'string' && SUPPORTED.has(header.trim()))
}

/** The `Mcp-Session-Id` header, if it is a single value. */
export function sessionIdOf(request: FastifyRequest): string | undefined {
  const header = request.headers['mcp-session-id']
  return typeof header === 'string' ? header : undefined
}
