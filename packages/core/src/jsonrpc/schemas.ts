import { Type, type Static } from 'typebox'

// The JSON-RPC 2.0 envelope as MCP uses it. Only the envelope is described: params, results and
// unknown keys pass through untouched (additionalProperties stays open on purpose).

export const JsonRpcId = Type.Union([Type.String(), Type.Number()])
export type JsonRpcId = Static<typeof JsonRpcId>

const Params = Type.Optional(Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Array(Type.Unknown())]))

export const JsonRpcRequest = Type.Object({
  jsonrpc: Type.Literal('2.0'),
  id: JsonRpcId,
  method: Type.String(),
  params: Params,
})
export type JsonRpcRequest = Static<typeof JsonRpcRequest>

export const JsonRpcNotification = Type.Object({
  jsonrpc: Type.Literal('2.0'),
  method: Type.String(),
  params: Params,
})
export type JsonRpcNotification = Static<typeof JsonRpcNotification>

export const JsonRpcErrorObject = Type.Object({
  code: Type.Integer(),
  message: Type.String(),
  data: Type.Optional(Type.Unknown()),
})
export type JsonRpcErrorObject = Static<typeof JsonRpcErrorObject>

export const JsonRpcResultResponse = Type.Object({
  jsonrpc: Type.Literal('2.0'),
  id: JsonRpcId,
  result: Type.Unknown(),
})
export type JsonRpcResultResponse = Static<typeof JsonRpcResultResponse>

export const JsonRpcErrorResponse = Type.Object({
  jsonrpc: Type.Literal('2.0'),
  id: Type.Union([JsonRpcId, Type.Null()]),
  error: JsonRpcErrorObject,
})
export type JsonRpcErrorResponse = Static<typeof JsonRpcErrorResponse>

export const JsonRpcResponse = Type.Union([JsonRpcResultResponse, JsonRpcErrorResponse])
export type JsonRpcResponse = Static<typeof JsonRpcResponse>

export const JsonRpcMessage = Type.Union([JsonRpcRequest, JsonRpcNotification, JsonRpcResponse])
export type JsonRpcMessage = Static<typeof JsonRpcMessage>

export const JsonRpcBatch = Type.Array(JsonRpcMessage, { minItems: 1 })
export type JsonRpcBatch = Static<typeof JsonRpcBatch>
