import type { FastifyReply, FastifyRequest } from 'fastify'
import { errorResponse, ErrorCode, type JsonRpcId, type ModernLeg } from '@proxy/core'
import { hijack, sseOptions, sseSink, type ProxyContext } from '../context.js'
import { ownerOf } from '../auth/principal.js'
import { markRefusal } from '../errors.js'
import { acceptsPostAnswers } from '../http/accept.js'
import { ModernResponse } from '../http/modern-answer.js'
import type { EraOutcome } from '../modern/classify.js'
import { checkParamHeaders } from '../modern/param-headers.js'

type ModernOutcome = Exclude<EraOutcome, { era: 'legacy' }>

/** Methods 2026-07-28 removed (or that a per-request server has no use for): the proxy answers 404 -32601 itself. */
const REMOVED_METHODS = new Set(['initialize', 'ping', 'logging/setLevel', 'resources/subscribe', 'resources/unsubscribe'])

/** Answer a 2026-07-28 refusal: the status, and a JSON-RPC error exactly as that revision shapes it (no proxy fields in `data`). */
function refuse(reply: FastifyReply, status: number, code: number, message: string, id: JsonRpcId | null, data?: unknown): FastifyReply {
  reply.log.info({ status, code }, 'modern request refused')
  markRefusal(reply, `MCP_2026_${Math.abs(code)}`)
  return reply.code(status).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(errorResponse(id, code, message, data)))
}

/**
 * A POST the classifier gave to the 2026-07-28 leg (or refused on its ladder). No session: no
 * `Mcp-Session-Id` on the answer, `Last-Event-ID` ignored. The rungs after the classifier's, in order:
 * Accept (406), removed methods (404), readiness (503), then discover and listen answered here, and
 * `tools/call`'s `Mcp-Param-*` headers checked against the tool's schema before the child sees it.
 */
export async function serveModern(context: ProxyContext, leg: ModernLeg, request: FastifyRequest, reply: FastifyReply, outcome: ModernOutcome): Promise<FastifyReply> {
  if (outcome.era === 'rejected') return refuse(reply, outcome.status, outcome.code, outcome.message, outcome.id, outcome.data)
  if (outcome.kind === 'notification') return reply.code(202).send() // nothing in the 2026 era needs one; a shared child must not see it
  try {
    return await serveRequest(context, leg, request, reply, outcome)
  } catch (error) {
    // Whatever fails in here is still answered with the request's id, not Fastify's anonymous 500.
    if (reply.sent || reply.raw.headersSent) throw error
    request.log.error({ err: error }, 'unexpected error serving a 2026-07-28 request')
    return refuse(reply, 500, ErrorCode.InternalError, 'Internal error', outcome.message.id)
  }
}

async function serveRequest(context: ProxyContext, leg: ModernLeg, request: FastifyRequest, reply: FastifyReply, outcome: Extract<ModernOutcome, { kind: 'request' }>): Promise<FastifyReply> {
  const { message, envelope } = outcome
  if (!acceptsPostAnswers(request.headers.accept)) {
    return refuse(reply, 406, ErrorCode.ServerError, 'Not Acceptable: the Accept header must list application/json and text/event-stream', message.id)
  }
  if (REMOVED_METHODS.has(message.method) || message.method.startsWith('tasks/')) {
    return refuse(reply, 404, ErrorCode.MethodNotFound, `Method not found: ${message.method} does not exist in MCP 2026-07-28`, message.id)
  }
  if (!(await leg.ready())) {
    reply.header('retry-after', '2')
    return refuse(reply, 503, ErrorCode.ServerError, `Service Unavailable: the MCP server is ${leg.state}; retry later`, message.id)
  }
  switch (message.method) {
    case 'server/discover':
      leg.discover(message, new ModernResponse(reply.raw, sseOptions(context, hijack(reply))))
      return reply
    case 'subscriptions/listen': {
      const sink = sseSink(context, reply, hijack(reply))
      sink.start()
      sink.flushHead()
      await leg.listen(message, sink)
      return reply
    }
    case 'tools/call': {
      const params = (message.params ?? {}) as { name?: unknown; arguments?: unknown }
      const schema = typeof params.name === 'string' ? await leg.toolSchema(params.name) : undefined
      const mismatch = schema === undefined ? undefined : checkParamHeaders(schema, params.arguments ?? {}, request.headers)
      if (mismatch !== undefined) return refuse(reply, 400, ErrorCode.HeaderMismatch, `Bad Request: the request headers and body disagree: ${mismatch}`, message.id)
    }
  }
  const client = { capabilities: envelope.clientCapabilities, logLevel: envelope.logLevel, principal: ownerOf(request) }
  await leg.call(message, client, new ModernResponse(reply.raw, sseOptions(context, hijack(reply))))
  return reply
}
