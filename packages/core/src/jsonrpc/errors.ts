import type { JsonRpcErrorResponse, JsonRpcId } from './schemas.js'

/** JSON-RPC and MCP error codes the proxy answers with. */
export const ErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** The child's connection is gone (it exited, or closed its stdout): the SDK's "connection closed". */
  ConnectionClosed: -32000,
  /** An HTTP-level refusal (bad headers, no session, limits): the implementation-defined server error the SDKs answer with. */
  ServerError: -32000,
  /** The MCP server did not answer in time (the SDK's "request timed out"). */
  RequestTimeout: -32001,
  /** The session named by Mcp-Session-Id is not known here (the SDK's "session not found"). */
  SessionNotFound: -32001,
  /** MCP: the resource does not exist (2025 era; 2026-07-28 answers InvalidParams instead). */
  ResourceNotFound: -32002,
  /** MCP 2026-07-28: an MCP header is missing or disagrees with the body. */
  HeaderMismatch: -32020,
  /** MCP 2026-07-28: the request needs a client capability the client did not declare. */
  MissingClientCapability: -32021,
  /** MCP 2026-07-28: the protocol revision the request claims is not supported. */
  UnsupportedProtocolVersion: -32022,
} as const

/** Build a JSON-RPC error response. */
export function errorResponse(id: JsonRpcId | null, code: number, message: string, data?: unknown): JsonRpcErrorResponse {
  const error = data === undefined ? { code, message } : { code, message, data }
  return { jsonrpc: '2.0', id, error }
}
