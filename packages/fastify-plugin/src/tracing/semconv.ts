// The OpenTelemetry MCP semantic conventions (open-telemetry/semantic-conventions-genai, model/mcp/), as far
// as a proxy's `mcp.server` span uses them. Spelled out here rather than imported: the MCP attributes are
// still "Development", and @opentelemetry/semantic-conventions only has them in its incubating entry point.
import type { Attributes } from '@opentelemetry/api'
import type { JsonRpcRequest, RequestOutcome, TapScope } from '@proxy/core'
import { redactUri } from '../redact-uri.js'

export const ATTR_MCP_METHOD_NAME = 'mcp.method.name'
export const ATTR_MCP_SESSION_ID = 'mcp.session.id'
export const ATTR_MCP_PROTOCOL_VERSION = 'mcp.protocol.version'
export const ATTR_MCP_RESOURCE_URI = 'mcp.resource.uri'
export const ATTR_JSONRPC_REQUEST_ID = 'jsonrpc.request.id'
export const ATTR_GEN_AI_TOOL_NAME = 'gen_ai.tool.name'
export const ATTR_GEN_AI_PROMPT_NAME = 'gen_ai.prompt.name'
export const ATTR_GEN_AI_OPERATION_NAME = 'gen_ai.operation.name'
export const ATTR_RPC_RESPONSE_STATUS_CODE = 'rpc.response.status_code'
export const ATTR_ERROR_TYPE = 'error.type'
export const ATTR_NETWORK_TRANSPORT = 'network.transport'
export const ATTR_NETWORK_PROTOCOL_NAME = 'network.protocol.name'
export const ATTR_NETWORK_PROTOCOL_VERSION = 'network.protocol.version'
export const ATTR_CLIENT_ADDRESS = 'client.address'
export const ATTR_CLIENT_PORT = 'client.port'
/** The proxy's own word for how a request ended (`child-gone` is told apart from other -32603 errors). */
export const ATTR_PROXY_OUTCOME = 'mcp_proxy.outcome'
/** The server's name when one process serves several (`mcp-proxy --config`). */
export const ATTR_PROXY_SERVER_NAME = 'mcp_proxy.server.name'

/** Methods whose `params.uri` names a resource (`mcp.resource.uri` is conditionally required on them). */
const RESOURCE_METHODS: ReadonlySet<string> = new Set(['resources/read', 'resources/subscribe', 'resources/unsubscribe'])

/**
 * JSON-RPC codes a server span does not count as errors (the caller's mistake, answered as it should be):
 * parse error, invalid request, method not found, invalid params, and the old "resource not found".
 */
const NOT_SERVER_ERRORS: ReadonlySet<number> = new Set([-32700, -32600, -32601, -32602, -32002])

/** Client-chosen strings longer than this are cut (a 10 MB tool name must not make a 10 MB span). */
const MAX_VALUE = 256

function cut(text: string): string {
  return text.length <= MAX_VALUE ? text : `${text.slice(0, MAX_VALUE)}…`
}

function stringParam(message: JsonRpcRequest, key: 'name' | 'uri'): string | undefined {
  const params = message.params as Record<string, unknown> | undefined
  const value = params?.[key]
  return typeof value === 'string' ? cut(value) : undefined
}

/**
 * `{mcp.method.name} {target}`: the target is the tool or prompt name, never a resource URI (unbounded
 * cardinality; the convention makes it opt-in), so `resources/read` spans are named by the method alone.
 */
export function spanName(message: JsonRpcRequest): string {
  const target = message.method === 'tools/call' || message.method === 'prompts/get' ? stringParam(message, 'name') : undefined
  return target === undefined ? message.method : `${message.method} ${target}`
}

/** The attributes known when the request leaves for the child: what it is, whose it is, where it came from. */
export function requestAttributes(message: JsonRpcRequest, scope: TapScope, http: Attributes | undefined): Attributes {
  const attributes: Attributes = {
    [ATTR_MCP_METHOD_NAME]: message.method,
    // Served over HTTP: to its client the proxy is an MCP server on TCP (`pipe` is the child's side).
    [ATTR_NETWORK_TRANSPORT]: 'tcp',
    [ATTR_NETWORK_PROTOCOL_NAME]: 'http',
    ...http,
  }
  if (message.id !== null) attributes[ATTR_JSONRPC_REQUEST_ID] = cut(String(message.id))
  // Sessions exist in 2025 only; the convention forbids the attribute on 2026-07-28 traffic.
  if (scope.session !== undefined) attributes[ATTR_MCP_SESSION_ID] = scope.session
  if (scope.protocolVersion !== undefined) attributes[ATTR_MCP_PROTOCOL_VERSION] = scope.protocolVersion
  if (message.method === 'tools/call') {
    const tool = stringParam(message, 'name')
    if (tool !== undefined) attributes[ATTR_GEN_AI_TOOL_NAME] = tool
    attributes[ATTR_GEN_AI_OPERATION_NAME] = 'execute_tool'
  } else if (message.method === 'prompts/get') {
    const prompt = stringParam(message, 'name')
    if (prompt !== undefined) attributes[ATTR_GEN_AI_PROMPT_NAME] = prompt
  } else if (RESOURCE_METHODS.has(message.method)) {
    const uri = stringParam(message, 'uri')
    if (uri !== undefined) attributes[ATTR_MCP_RESOURCE_URI] = redactUri(uri)
  }
  return attributes
}

/** How a finished request shows on its span: extra attributes, and the error (for the status) if it failed. */
export interface Ending {
  attributes: Attributes
  /** The `error.type` of a failed request (the span's status becomes ERROR); undefined = not an error. */
  error: string | undefined
}

/**
 * The end of a request in the convention's terms: `rpc.response.status_code` for every JSON-RPC error,
 * `error.type` (the code as a string, or `timeout` / `cancelled`) and ERROR status for a failure on the
 * server side. A refusal of the caller's own mistake (-32601, -32602, …) is answered correctly: not an error.
 */
export function ending(outcome: RequestOutcome | 'not-forwarded', errorCode: number | undefined): Ending {
  const attributes: Attributes = { [ATTR_PROXY_OUTCOME]: outcome }
  if (errorCode !== undefined) attributes[ATTR_RPC_RESPONSE_STATUS_CODE] = String(errorCode)
  if (outcome === 'ok') return { attributes, error: undefined }
  if (outcome === 'error' && errorCode !== undefined && NOT_SERVER_ERRORS.has(errorCode)) return { attributes, error: undefined }
  const error =
    outcome === 'timeout' ? 'timeout' : outcome === 'cancelled' ? 'cancelled' : outcome === 'not-forwarded' ? 'not_forwarded' : errorCode !== undefined ? String(errorCode) : '_OTHER'
  attributes[ATTR_ERROR_TYPE] = error
  return { attributes, error }
}
