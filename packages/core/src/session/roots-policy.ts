import { ErrorCode, errorResponse } from '../jsonrpc/errors.js'
import type { JsonRpcId, JsonRpcRequest, JsonRpcResponse } from '../jsonrpc/schemas.js'

/** One filesystem root as MCP describes it (`roots/list`). */
export interface Root {
  uri: string
  name?: string
}

/**
 * What the child learns about the client's roots. A remote client's roots name directories on *its*
 * machine, and servers such as server-filesystem replace their allowed directories with them, so a
 * client could widen what the server may touch. `forward`: the client's roots capability and answers go
 * through (right for a client on the same machine). `deny`: the child is told the client has no roots
 * capability, and a `roots/list` it sends anyway is refused. `fixed`: the child is told the client has
 * roots, and the proxy answers `roots/list` itself with these.
 */
export type RootsPolicy = { mode: 'forward' } | { mode: 'deny' } | { mode: 'fixed'; roots: Root[] }

export const FORWARD_ROOTS: RootsPolicy = { mode: 'forward' }

/** The client's `initialize` as the child should see it under the policy (the same object when unchanged). */
export function initializeForChild(policy: RootsPolicy, request: JsonRpcRequest): JsonRpcRequest {
  if (policy.mode === 'forward') return request
  const params = (request.params ?? {}) as Record<string, unknown>
  const declared = params.capabilities
  const capabilities = typeof declared === 'object' && declared !== null ? { ...(declared as Record<string, unknown>) } : {}
  if (policy.mode === 'deny') delete capabilities.roots
  else capabilities.roots = { listChanged: false }
  return { ...request, params: { ...params, capabilities } }
}

/** A client notification the child must not see under the policy (its roots changed: not ours to tell). */
export function dropsClientNotification(policy: RootsPolicy, method: string): boolean {
  return policy.mode !== 'forward' && method === 'notifications/roots/list_changed'
}

/** The proxy's own answer to the child's `roots/list`, or undefined when the client should answer. */
export function answerRootsList(policy: RootsPolicy, id: JsonRpcId): JsonRpcResponse | undefined {
  if (policy.mode === 'forward') return undefined
  if (policy.mode === 'fixed') return { jsonrpc: '2.0', id, result: { roots: policy.roots } }
  return errorResponse(id, ErrorCode.MethodNotFound, 'roots/list is not available: the proxy does not forward the client’s roots (--roots deny)')
}
