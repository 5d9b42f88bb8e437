import type { OutgoingHttpHeaders, ServerResponse } from 'node:http'
import type { FastifyReply } from 'fastify'
import { ErrorCode, errorResponse, type JsonRpcId } from '@proxy/core'
import { MAX_JSON_DEPTH } from './http/limits.js'

/**
 * The HTTP answers of the proxy: a stable name (logged, and sent as `error.data.reason`), a status, a
 * JSON-RPC error code, and a message that says what to do.
 */
export const HttpError = {
  ParseError: { name: 'MCP_PROXY_PARSE_ERROR', status: 400, code: ErrorCode.ParseError, message: 'Parse error: the body is not valid JSON' },
  InvalidRequest: { name: 'MCP_PROXY_INVALID_REQUEST', status: 400, code: ErrorCode.InvalidRequest, message: 'Invalid Request' },
  EmptyBody: { name: 'MCP_PROXY_EMPTY_BODY', status: 400, code: ErrorCode.ParseError, message: 'Parse error: the body is empty' },
  NestedTooDeep: { name: 'MCP_PROXY_NESTED_TOO_DEEP', status: 400, code: ErrorCode.InvalidRequest, message: `Invalid Request: the body is nested too deeply (limit ${MAX_JSON_DEPTH})` },
  MalformedHost: { name: 'MCP_PROXY_MALFORMED_HOST', status: 400, code: ErrorCode.ServerError, message: 'Bad Request: malformed Host header (expected name, name:port, IPv4 or [IPv6], port 1-65535)' },
  MissingSession: {
    name: 'MCP_PROXY_MISSING_SESSION',
    status: 400,
    code: ErrorCode.ServerError,
    message: 'Bad Request: Mcp-Session-Id header is required; send initialize first (this server speaks MCP 2024-11-05 to 2025-11-25)',
  },
  UnknownSession: { name: 'MCP_PROXY_UNKNOWN_SESSION', status: 404, code: ErrorCode.SessionNotFound, message: 'Session not found: it ended or never existed; send initialize again without a session id' },
  AlreadyInitialized: { name: 'MCP_PROXY_ALREADY_INITIALIZED', status: 400, code: ErrorCode.InvalidRequest, message: 'Invalid Request: this session is already initialized' },
  InitializeInBatch: { name: 'MCP_PROXY_INITIALIZE_IN_BATCH', status: 400, code: ErrorCode.InvalidRequest, message: 'Invalid Request: initialize must not be part of a batch' },
  BatchNotAllowed: { name: 'MCP_PROXY_BATCH_NOT_ALLOWED', status: 400, code: ErrorCode.InvalidRequest, message: 'Invalid Request: batches are only allowed in protocol 2025-03-26' },
  BadProtocolVersion: { name: 'MCP_PROXY_BAD_PROTOCOL_VERSION', status: 400, code: ErrorCode.ServerError, message: 'Bad Request: unsupported MCP-Protocol-Version' },
  NotAcceptable: {
    name: 'MCP_PROXY_NOT_ACCEPTABLE',
    status: 406,
    code: ErrorCode.ServerError,
    message: 'Not Acceptable: the Accept header must list application/json and text/event-stream',
  },
  NotAcceptableSse: {
    name: 'MCP_PROXY_NOT_ACCEPTABLE_SSE',
    status: 406,
    code: ErrorCode.ServerError,
    message: 'Not Acceptable: the Accept header must name text/event-stream (a wildcard such as */* is not enough)',
  },
  UnsupportedMediaType: { name: 'MCP_PROXY_UNSUPPORTED_MEDIA_TYPE', status: 415, code: ErrorCode.ServerError, message: 'Unsupported Media Type: Content-Type must be application/json' },
  BodyTimeout: { name: 'MCP_PROXY_BODY_TIMEOUT', status: 408, code: ErrorCode.ServerError, message: 'Request Timeout: the body was not received in time; send the request again' },
  BodyTooLarge: { name: 'MCP_PROXY_BODY_TOO_LARGE', status: 413, code: ErrorCode.InvalidRequest, message: 'Payload Too Large: the body is over the size limit' },
  StreamConflict: { name: 'MCP_PROXY_STREAM_CONFLICT', status: 409, code: ErrorCode.ServerError, message: 'Conflict: this session already has as many open GET streams as it may; close one first' },
  NoStreamWithoutSession: {
    name: 'MCP_PROXY_NO_STREAM_WITHOUT_SESSION',
    status: 405,
    code: ErrorCode.ServerError,
    message: 'Method Not Allowed: there is no GET stream without a session; POST initialize first, then GET with its Mcp-Session-Id',
  },
  UnknownEventId: { name: 'MCP_PROXY_UNKNOWN_EVENT_ID', status: 404, code: ErrorCode.ServerError, message: 'Unknown Last-Event-ID: the event was never issued or is no longer kept; reconnect without it' },
  MethodNotAllowed: { name: 'MCP_PROXY_METHOD_NOT_ALLOWED', status: 405, code: ErrorCode.ServerError, message: 'Method Not Allowed' },
  StatelessNoStream: { name: 'MCP_PROXY_STATELESS_NO_STREAM', status: 405, code: ErrorCode.ServerError, message: 'Method Not Allowed: this server is stateless (no sessions, no GET stream)' },
  SessionLimit: { name: 'MCP_PROXY_SESSION_LIMIT', status: 503, code: ErrorCode.ServerError, message: 'Service Unavailable: too many sessions; retry later' },
  ChildUnavailable: { name: 'MCP_PROXY_CHILD_UNAVAILABLE', status: 503, code: ErrorCode.ServerError, message: 'Service Unavailable: the MCP server is restarting; retry later' },
  Draining: {
    name: 'MCP_PROXY_DRAINING',
    status: 503,
    code: ErrorCode.ServerError,
    message: 'Service Unavailable: this instance is draining and takes no new sessions; retry (a load balancer sends you to another instance)',
  },
  ShuttingDown: { name: 'MCP_PROXY_SHUTTING_DOWN', status: 503, code: ErrorCode.ServerError, message: 'Service Unavailable: the proxy is shutting down' },
  Unauthorized: { name: 'MCP_PROXY_UNAUTHORIZED', status: 401, code: ErrorCode.ServerError, message: 'Authentication required' },
  // 403, not 401, and no "Unauthorized" in the text: MCP clients start an OAuth login on any 401 (and
  // mcp-remote on that word), which cannot succeed against an API key.
  ApiKeyRequired: { name: 'MCP_PROXY_API_KEY_REQUIRED', status: 403, code: ErrorCode.ServerError, message: 'API key required' },
  /** A refusal of the library user's own `authenticate` (no OAuth configured): 403 for the same reason. */
  AuthRefused: { name: 'MCP_PROXY_AUTH_REFUSED', status: 403, code: ErrorCode.ServerError, message: 'Forbidden' },
  InsufficientScope: { name: 'MCP_PROXY_INSUFFICIENT_SCOPE', status: 403, code: ErrorCode.ServerError, message: 'Forbidden: insufficient scope' },
  AuthUnavailable: { name: 'MCP_PROXY_AUTH_UNAVAILABLE', status: 503, code: ErrorCode.ServerError, message: 'Service Unavailable: credentials cannot be checked now' },
  AdminUnauthorized: { name: 'MCP_PROXY_ADMIN_UNAUTHORIZED', status: 401, code: ErrorCode.ServerError, message: 'Unauthorized: send the admin token as Authorization: Bearer' },
  ForbiddenOrigin: { name: 'MCP_PROXY_FORBIDDEN_ORIGIN', status: 403, code: ErrorCode.ServerError, message: 'Forbidden: Origin not allowed' },
  ForbiddenHost: { name: 'MCP_PROXY_FORBIDDEN_HOST', status: 403, code: ErrorCode.ServerError, message: 'Forbidden: Host not allowed' },
  MissingSessionId: { name: 'MCP_PROXY_MISSING_SESSION_ID', status: 400, code: ErrorCode.ServerError, message: 'Bad Request: the sessionId query parameter is required' },
  SseNotConnected: { name: 'MCP_PROXY_SSE_NOT_CONNECTED', status: 409, code: ErrorCode.ServerError, message: 'Conflict: the SSE stream of this session is not connected' },
  Internal: { name: 'MCP_PROXY_INTERNAL', status: 500, code: ErrorCode.InternalError, message: 'Internal error' },
} as const

export type HttpErrorKind = (typeof HttpError)[keyof typeof HttpError]

declare module 'fastify' {
  interface FastifyReply {
    /** The stable reason of a refusal, for the tap (reported once the response is sent). */
    mcpRefusal: string | null
  }
}

/** Name the refusal this reply carries; the plugin's onResponse hook reports it to the tap. */
export function markRefusal(reply: FastifyReply, reason: string): void {
  reply.mcpRefusal = reason
}

/** The JSON-RPC error body of a refusal: the message (with the detail, if any) and the stable name in `data`. */
function refusalBody(error: HttpErrorKind, id: JsonRpcId | null, detail?: string): string {
  const message = detail ? `${error.message}: ${detail}` : error.message
  return JSON.stringify(errorResponse(id, error.code, message, { reason: error.name }))
}

/** Answer with an HTTP error whose body is a JSON-RPC error (echoing the request id where there is one). */
export function replyError(reply: FastifyReply, error: HttpErrorKind, id: JsonRpcId | null = null, detail?: string): FastifyReply {
  reply.log.info({ reason: error.name, status: error.status }, 'request refused')
  markRefusal(reply, error.name)
  return reply.code(error.status).header('content-type', 'application/json; charset=utf-8').send(refusalBody(error, id, detail))
}

/** The same answer on a hijacked raw response (nothing written to it yet). */
export function writeRawError(res: ServerResponse, headers: OutgoingHttpHeaders, error: HttpErrorKind, id: JsonRpcId | null = null): void {
  const body = refusalBody(error, id)
  res.writeHead(error.status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) })
  res.end(body)
}
