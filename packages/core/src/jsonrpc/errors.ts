import type { JsonRpcErrorResponse, JsonRpcId } from './schemas.js'

/** JSON-RPC and MCP error codes the proxy answers with. */
export const ErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** The SDK's "connection closed" / server-side failure code. */
  ConnectionClosed: -32000,
  /** The SDK's "session not found" and "request timed out" code. */
  RequestTimeout: -32001,
} as const

/** Build a JSON-RPC error response. */
export function errorResponse(id: JsonRpcId | null, code: number, message: string, data?: unknown): JsonRpcErrorResponse {
  const error = data === undefined ? { code, message } : { code, message, data }
  return { jsonrpc: '2.0', id, error }
}
