import type { OutgoingHttpHeaders } from 'node:http'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Backend, SessionRegistry, StatelessMode } from '@proxy/core'
import { ownerOf } from '../auth/principal.js'
import type { LegacyLeg } from '../context.js'
import type { ResolvedOptions } from '../options.js'
import { HttpError, replyError } from '../errors.js'
import { toleratesPriming } from '../http/client-quirks.js'
import type { Inbound } from './inbound.js'
import { openSession, sessionStart } from './open-session.js'
import { protocolVersionOk, sessionIdOf } from './protocol-version.js'

/** Where the messages of a 2025-era POST go, and the headers its answer carries. */
export interface LegacyTarget {
  backend: Backend
  headers: OutgoingHttpHeaders
}

/**
 * The backend of a 2025-era POST: its session (created by `initialize`), or the shared child in stateless
 * mode. Undefined once the refusal has been answered.
 */
export function legacyTarget(
  leg: LegacyLeg,
  options: ResolvedOptions,
  request: FastifyRequest,
  reply: FastifyReply,
  inbound: Inbound,
): Promise<LegacyTarget | undefined> | LegacyTarget | undefined {
  return leg.kind === 'sessions' ? sessionTarget(leg.registry, options, request, reply, inbound) : statelessTarget(leg.shared, request, reply, inbound)
}

/** Find (or, for initialize, create) the session a POST belongs to: only among its principal's sessions. */
async function sessionTarget(registry: SessionRegistry, options: ResolvedOptions, request: FastifyRequest, reply: FastifyReply, inbound: Inbound): Promise<LegacyTarget | undefined> {
  const id = sessionIdOf(request)
  const firstId = inbound.requests[0]?.message.id ?? null
  const owner = ownerOf(request)
  if (inbound.initialize) {
    if (inbound.batch) return void replyError(reply, HttpError.InitializeInBatch, firstId)
    if (id !== undefined && registry.lookup(id, owner)) return void replyError(reply, HttpError.AlreadyInitialized, inbound.initialize.id)
    const start = sessionStart(request, options, { priming: toleratesPriming(request.headers['user-agent']) })
    const session = await openSession(registry, 'streamable', reply, firstId, start)
    if (!session) return undefined
    // The client left while a slot was being freed for its new session: nobody will read the answer.
    if (reply.raw.destroyed) return void session.close()
    return { backend: session, headers: { 'mcp-session-id': session.id } }
  }
  if (id === undefined) return void replyError(reply, HttpError.MissingSession, firstId)
  const session = registry.lookup(id, owner)
  if (!session || session.transport !== 'streamable') return void replyError(reply, HttpError.UnknownSession, firstId)
  if (!protocolVersionOk(request)) return void replyError(reply, HttpError.BadProtocolVersion, firstId)
  if (inbound.batch && session.protocolVersion !== '2025-03-26') return void replyError(reply, HttpError.BatchNotAllowed, firstId)
  return { backend: session, headers: { 'mcp-session-id': session.id } }
}

/** Stateless mode: every POST stands alone and goes to the shared children; initialize is answered from their handshake. */
function statelessTarget(shared: StatelessMode, request: FastifyRequest, reply: FastifyReply, inbound: Inbound): LegacyTarget | undefined {
  const firstId = inbound.requests[0]?.message.id ?? null
  if (!protocolVersionOk(request)) return void replyError(reply, HttpError.BadProtocolVersion, firstId)
  if (inbound.initialize && inbound.batch) return void replyError(reply, HttpError.InitializeInBatch, firstId)
  if (shared.state !== 'up' && inbound.requests.some((r) => r.message.method !== 'initialize')) {
    return void replyError(reply.header('retry-after', '2'), HttpError.ChildUnavailable, firstId, shared.state)
  }
  return { backend: shared, headers: {} }
}
