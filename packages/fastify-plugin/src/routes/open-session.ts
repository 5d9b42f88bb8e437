import type { FastifyReply } from 'fastify'
import { ProxyError, type JsonRpcId, type Session, type SessionRegistry, type SessionTransport } from '@proxy/core'
import { HttpError, replyError } from '../errors.js'

/** Start a session, or answer 503 (too many sessions, with Retry-After; or shutting down) and return undefined. */
export function openSession(registry: SessionRegistry, transport: SessionTransport, reply: FastifyReply, id: JsonRpcId | null = null): Session | undefined {
  try {
    return registry.create(transport)
  } catch (error) {
    if (!(error instanceof ProxyError)) throw error
    if (error.code === 'MCP_PROXY_SESSION_LIMIT') return void replyError(reply.header('retry-after', '5'), HttpError.SessionLimit, id)
    if (error.code === 'MCP_PROXY_CLOSED') return void replyError(reply, HttpError.ShuttingDown, id)
    throw error
  }
}
