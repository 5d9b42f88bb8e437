import type { OutgoingHttpHeaders, ServerResponse } from 'node:http'
import type { FastifyReply } from 'fastify'
import { ErrorCode, errorResponse, type JsonRpcId } from '@proxy/core'
import { MAX_JSON_DEPTH } from './http/limits.js'

/** The HTTP answers of the proxy: a status, a JSON-RPC error code, and a message that says what to do. */
export const HttpError = {
  ParseError: { status: 400, code: ErrorCode.ParseError, message: 'Parse error: the body is not valid JSON' },
  InvalidRequest: { status: 400, code: ErrorCode.InvalidRequest, message: 'Invalid Request' },
  EmptyBody: { status: 400, code: ErrorCode.ParseError, message: 'Parse error: the body is empty' },
  NestedTooDeep: { status: 400, code: ErrorCode.InvalidRequest, message: `Invalid Request: the body is nested too deeply (limit ${MAX_JSON_DEPTH})` },
  MalformedHost: { status: 400, code: ErrorCode.ConnectionClosed, message: 'Bad Request: malformed Host header (expected name, name:port, IPv4 or [IPv6], port 1-65535)' },
  MissingSession: {
    status: 400,
    code: ErrorCode.ConnectionClosed,
    message: 'Bad Request: Mcp-Session-Id header is required; send initialize first (this server speaks MCP 2024-11-05 to 2025-11-25)',
  },
  UnknownSession: { status: 404, code: ErrorCode.RequestTimeout, message: 'Session not found: it ended or never existed; send initialize again without a session id' },
  AlreadyInitialized: { status: 400, code: ErrorCode.InvalidRequest, message: 'Invalid Request: this session is already initialized' },
  InitializeInBatch: { status: 400, code: ErrorCode.InvalidRequest, message: 'Invalid Request: initialize must not be part of a batch' },
  BatchNotAllowed: { status: 400, code: ErrorCode.InvalidRequest, message: 'Invalid Request: batches are only allowed in protocol 2025-03-26' },
  BadProtocolVersion: { status: 400, code: ErrorCode.ConnectionClosed, message: 'Bad Request: unsupported MCP-Protocol-Version' },
  NotAcceptable: {
    status: 406,
    code: ErrorCode.ConnectionClosed,
    message: 'Not Acceptable: the Accept header must list application/json and text/event-stream',
  },
  NotAcceptableSse: {
    status: 406,
    code: ErrorCode.ConnectionClosed,
    message: 'Not Acceptable: the Accept header must name text/event-stream (a wildcard such as */* is not enough)',
  },
  UnsupportedMediaType: { status: 415, code: ErrorCode.ConnectionClosed, message: 'Unsupported Media Type: Content-Type must be application/json' },
  BodyTimeout: { status: 408, code: ErrorCode.ConnectionClosed, message: 'Request Timeout: the body was not received in time; send the request again' },
  BodyTooLarge: { status: 413, code: ErrorCode.InvalidRequest, message: 'Payload Too Large: the body is over the size limit' },
  StreamConflict: { status: 409, code: ErrorCode.ConnectionClosed, message: 'Conflict: this session already has as many open GET streams as it may; close one first' },
  NoStreamWithoutSession: {
    status: 405,
    code: ErrorCode.ConnectionClosed,
    message: 'Method Not Allowed: there is no GET stream without a session; POST initialize first, then GET with its Mcp-Session-Id',
  },
  UnknownEventId: { status: 404, code: ErrorCode.ConnectionClosed, message: 'Unknown Last-Event-ID: the event was never issued or is no longer kept; reconnect without it' },
  MethodNotAllowed: { status: 405, code: ErrorCode.ConnectionClosed, message: 'Method Not Allowed' },
  StatelessNoStream: { status: 405, code: ErrorCode.ConnectionClosed, message: 'Method Not Allowed: this server is stateless (no sessions, no GET stream)' },
  SessionLimit: { status: 503, code: ErrorCode.ConnectionClosed, message: 'Service Unavailable: too many sessions; retry later' },
  ChildUnavailable: { status: 503, code: ErrorCode.ConnectionClosed, message: 'Service Unavailable: the MCP server is restarting; retry later' },
  ShuttingDown: { status: 503, code: ErrorCode.ConnectionClosed, message: 'Service Unavailable: the proxy is shutting down' },
  Unauthorized: { status: 401, code: ErrorCode.ConnectionClosed, message: 'Unauthorized: send the API key as X-API-Key or Authorization: Bearer' },
  ForbiddenOrigin: { status: 403, code: ErrorCode.ConnectionClosed, message: 'Forbidden: Origin not allowed' },
  ForbiddenHost: { status: 403, code: ErrorCode.ConnectionClosed, message: 'Forbidden: Host not allowed' },
  MissingSessionId: { status: 400, code: ErrorCode.ConnectionClosed, message: 'Bad Request: the sessionId query parameter is required' },
  SseNotConnected: { status: 409, code: ErrorCode.ConnectionClosed, message: 'Conflict: the SSE stream of this session is not connected' },
  Internal: { status: 500, code: ErrorCode.InternalError, message: 'Internal error' },
} as const

export type HttpErrorKind = (typeof HttpError)[keyof typeof HttpError]

/** Answer with an HTTP error whose body is a JSON-RPC error (echoing the request id where there is one). */
export function replyError(reply: FastifyReply, error: HttpErrorKind, id: JsonRpcId | null = null, detail?: string): FastifyReply {
  const message = detail ? `${error.message}: ${detail}` : error.message
  return reply
    .code(error.status)
    .header('content-type', 'application/json; charset=utf-8')
    .send(JSON.stringify(errorResponse(id, error.code, message)))
}

/** The same answer on a hijacked raw response (nothing written to it yet). */
export function writeRawError(res: ServerResponse, headers: OutgoingHttpHeaders, error: HttpErrorKind, id: JsonRpcId | null = null): void {
  const body = JSON.stringify(errorResponse(id, error.code, error.message))
  res.writeHead(error.status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) })
  res.end(body)
}
