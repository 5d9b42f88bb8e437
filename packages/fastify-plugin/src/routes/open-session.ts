import type { FastifyReply, FastifyRequest } from 'fastify'
import { ProxyError, type JsonRpcId, type Session, type SessionRegistry, type SessionStart, type SessionTransport } from '@proxy/core'
import { envFromClaims } from '../auth/child-env.js'
import { ownerOf } from '../auth/principal.js'
import type { ResolvedOptions } from '../options.js'
import { HttpError, replyError } from '../errors.js'

/**
 * What a new session is bound to and given: the request's principal (only it reaches the session again) and,
 * with `childEnvFromClaims`, that principal's claims for its child's environment.
 */
export function sessionStart(request: FastifyRequest, options: ResolvedOptions, start: SessionStart = {}): SessionStart {
  const owner = ownerOf(request)
  if (Object.keys(options.childEnvFromClaims).length === 0) return { ...start, owner }
  return { ...start, owner, env: envFromClaims(request.principal, options.childEnvFromClaims) }
}

/**
 * Start a session (at the cap, the session idle longest gives way; a child of a closed session that is
 * still stopping is waited for briefly), or answer 503 (too many sessions, with Retry-After; or shutting
 * down; draining, with Retry-After) and return undefined.
 */
export async function openSession(
  registry: SessionRegistry,
  transport: SessionTransport,
  reply: FastifyReply,
  id: JsonRpcId | null = null,
  start: SessionStart = {},
): Promise<Session | undefined> {
  try {
    return await registry.open(transport, start)
  } catch (error) {
    if (!(error instanceof ProxyError)) throw error
    if (error.code === 'MCP_PROXY_SESSION_LIMIT') return void replyError(reply.header('retry-after', '5'), HttpError.SessionLimit, id)
    // Retry at once: through a balancer, the retry reaches an instance that is not draining.
    if (error.code === 'MCP_PROXY_DRAINING') return void replyError(reply.header('retry-after', '1'), HttpError.Draining, id)
    if (error.code === 'MCP_PROXY_CLOSED') return void replyError(reply, HttpError.ShuttingDown, id)
    throw error
  }
}
