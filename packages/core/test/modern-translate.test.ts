// The pure 2025 ↔ 2026-07-28 translations, one at a time, against the shapes of the 2026 schema and the
// SDK's encode seam (resultType, cache hints, serverInfo, deleted fields, -32002).
import * as sdk from '@modelcontextprotocol/server'
import { describe, expect, it } from 'vitest'
import type { JsonRpcRequest } from '../src/jsonrpc/schemas.js'
import * as keys from '../src/modern/meta-keys.js'
import { DEFAULT_CACHE, discoverResult, errorForModern, requestForChild, resultForModern, serverInfoOf } from '../src/modern/translate.js'

const SERVER_INFO = { name: 'child', version: '1.2.3' }
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'

const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 'client', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': { elicitation: {} },
  'io.modelcontextprotocol/logLevel': 'info',
}

function request(params: Record<string, unknown>): JsonRpcRequest {
  return { jsonrpc: '2.0', id: 1, method: 'tools/call', params }
}

describe('meta keys', () => {
  it('are the strings the SDK uses', () => {
    expect(keys.PROTOCOL_VERSION_META_KEY).toBe(sdk.PROTOCOL_VERSION_META_KEY)
    expect(keys.CLIENT_INFO_META_KEY).toBe(sdk.CLIENT_INFO_META_KEY)
    expect(keys.CLIENT_CAPABILITIES_META_KEY).toBe(sdk.CLIENT_CAPABILITIES_META_KEY)
    expect(keys.LOG_LEVEL_META_KEY).toBe(sdk.LOG_LEVEL_META_KEY)
    expect(keys.SERVER_INFO_META_KEY).toBe(sdk.SERVER_INFO_META_KEY)
    expect(keys.SUBSCRIPTION_ID_META_KEY).toBe(sdk.SUBSCRIPTION_ID_META_KEY)
  })
})

describe('requestForChild', () => {
  it('strips the four envelope keys and keeps the rest of _meta (trace context, progress token)', () => {
    const message = request({ name: 'echo', arguments: { a: 1 }, _meta: { ...ENVELOPE, traceparent: TRACEPARENT, progressToken: 'p1' } })
    expect(requestForChild(message)).toEqual(request({ name: 'echo', arguments: { a: 1 }, _meta: { traceparent: TRACEPARENT, progressToken: 'p1' } }))
  })

  it('removes inputResponses and requestState, and a _meta left empty', () => {
    const message = request({ name: 'echo', _meta: { ...ENVELOPE }, inputResponses: { user_name: {} }, requestState: 'v1.x.y' })
    expect(requestForChild(message)).toEqual(request({ name: 'echo' }))
  })

  it('returns the same object when there is nothing to strip', () => {
    const message = request({ name: 'echo', _meta: { traceparent: TRACEPARENT } })
    expect(requestForChild(message)).toBe(message)
    const bare: JsonRpcRequest = { jsonrpc: '2.0', id: 'x', method: 'tools/list' }
    expect(requestForChild(bare)).toBe(bare)
  })

  it('leaves the client message untouched', () => {
    const message = request({ name: 'echo', _meta: { ...ENVELOPE }, requestState: 's' })
    const before = structuredClone(message)
    requestForChild(message)
    expect(message).toEqual(before)
  })
})

describe('resultForModern', () => {
  it('stamps resultType "complete", also over a stray value from the child', () => {
    expect(resultForModern('tools/call', { content: [] }, SERVER_INFO, DEFAULT_CACHE).resultType).toBe('complete')
    expect(resultForModern('tools/call', { content: [], resultType: 'input_required' }, SERVER_INFO, DEFAULT_CACHE).resultType).toBe('complete')
  })

  it('adds serverInfo to _meta, keeping the other _meta keys', () => {
    const result = resultForModern('tools/call', { content: [], _meta: { 'example.com/trace': 1 } }, SERVER_INFO, DEFAULT_CACHE)
    expect(result._meta).toEqual({ 'example.com/trace': 1, 'io.modelcontextprotocol/serverInfo': SERVER_INFO })
  })

  it('keeps a serverInfo the child already put there', () => {
    const own = { name: 'own', version: '9' }
    const result = resultForModern('ping', { _meta: { 'io.modelcontextprotocol/serverInfo': own } }, SERVER_INFO, DEFAULT_CACHE)
    expect(result._meta).toEqual({ 'io.modelcontextprotocol/serverInfo': own })
  })

  it.each(['tools/list', 'prompts/list', 'resources/list', 'resources/templates/list', 'resources/read'])('fills default cache hints on %s', (method) => {
    const result = resultForModern(method, {}, SERVER_INFO, { ttlMs: 5000, cacheScope: 'public' })
    expect(result).toMatchObject({ ttlMs: 5000, cacheScope: 'public' })
  })

  it('adds no cache hints to results that are not cacheable', () => {
    const result = resultForModern('tools/call', { content: [] }, SERVER_INFO, DEFAULT_CACHE)
    expect(result).not.toHaveProperty('ttlMs')
    expect(result).not.toHaveProperty('cacheScope')
  })

  it('keeps valid cache hints from the child', () => {
    const result = resultForModern('resources/read', { contents: [], ttlMs: 60_000, cacheScope: 'public' }, SERVER_INFO, DEFAULT_CACHE)
    expect(result).toMatchObject({ ttlMs: 60_000, cacheScope: 'public' })
  })

  it.each([
    [-1, 'shared'],
    [1.5, 'PUBLIC'],
    ['10', null],
    [Number.MAX_SAFE_INTEGER + 2, 1],
  ])('replaces invalid cache hints (ttlMs %s, cacheScope %s) with the defaults', (ttlMs, cacheScope) => {
    const result = resultForModern('prompts/list', { prompts: [], ttlMs, cacheScope }, SERVER_INFO, DEFAULT_CACHE)
    expect(result).toMatchObject({ ttlMs: 0, cacheScope: 'private' })
  })

  it('strips tools[].execution from tools/list', () => {
    const tools = [
      { name: 'a', inputSchema: { type: 'object' }, execution: { taskSupport: 'optional' } },
      { name: 'b', inputSchema: { type: 'object' } },
    ]
    const result = resultForModern('tools/list', { tools }, SERVER_INFO, DEFAULT_CACHE)
    expect(result.tools).toEqual([
      { name: 'a', inputSchema: { type: 'object' } },
      { name: 'b', inputSchema: { type: 'object' } },
    ])
    expect(tools[0]).toHaveProperty('execution')
  })

  it('strips capabilities.tasks wherever a result carries capabilities', () => {
    const result = resultForModern('x/custom', { capabilities: { tools: {}, tasks: { list: {} } } }, SERVER_INFO, DEFAULT_CACHE)
    expect(result.capabilities).toEqual({ tools: {} })
  })

  it('never mutates the child result', () => {
    const child = { tools: [{ name: 'a', execution: {} }], _meta: {}, capabilities: { tasks: {} } }
    const before = structuredClone(child)
    resultForModern('tools/list', child, SERVER_INFO, DEFAULT_CACHE)
    expect(child).toEqual(before)
  })
})

describe('errorForModern', () => {
  const readParams = { uri: 'test://missing', _meta: ENVELOPE }

  it('turns -32002 into -32602 and adds data.uri from the request', () => {
    const out = errorForModern('resources/read', readParams, { code: -32002, message: 'Resource not found' })
    expect(out).toEqual({ error: { code: -32602, message: 'Resource not found', data: { uri: 'test://missing' } }, notFound: false })
  })

  it('keeps a data.uri the child sent, and the rest of its data', () => {
    const out = errorForModern('resources/read', readParams, { code: -32002, message: 'gone', data: { uri: 'test://other', why: 'x' } })
    expect(out.error).toEqual({ code: -32602, message: 'gone', data: { uri: 'test://other', why: 'x' } })
    const merged = errorForModern('resources/read', readParams, { code: -32002, message: 'gone', data: { why: 'x' } })
    expect(merged.error.data).toEqual({ why: 'x', uri: 'test://missing' })
  })

  it('adds data.uri to the -32602 a v1 SDK child sends for a missing resource', () => {
    const out = errorForModern('resources/read', readParams, { code: -32602, message: 'Resource test://missing not found' })
    expect(out.error.data).toEqual({ uri: 'test://missing' })
  })

  it('flags -32601 as notFound and leaves it as it is', () => {
    const error = { code: -32601, message: 'Method not found' }
    expect(errorForModern('x/unknown', {}, error)).toEqual({ error, notFound: true })
  })

  it('leaves other codes unchanged', () => {
    const error = { code: -32603, message: 'boom', data: 'detail' }
    expect(errorForModern('tools/call', { name: 'a' }, error)).toEqual({ error, notFound: false })
    const invalid = { code: -32602, message: 'bad arguments' }
    expect(errorForModern('tools/call', { name: 'a', uri: 'test://x' }, invalid)).toEqual({ error: invalid, notFound: false })
  })
})

describe('discoverResult', () => {
  const initialize = {
    protocolVersion: '2025-11-25',
    capabilities: { tools: { listChanged: true }, resources: { subscribe: true }, logging: {}, tasks: { list: {} } },
    serverInfo: SERVER_INFO,
    instructions: 'Use the tools.',
  }

  it('answers with the 2026 shape: versions, capabilities minus tasks, instructions, serverInfo in _meta, cache hints', () => {
    expect(discoverResult(initialize, { ttlMs: 1000, cacheScope: 'public' })).toEqual({
      resultType: 'complete',
      supportedVersions: ['2026-07-28'],
      capabilities: { tools: { listChanged: true }, resources: { subscribe: true }, logging: {} },
      instructions: 'Use the tools.',
      ttlMs: 1000,
      cacheScope: 'public',
      _meta: { 'io.modelcontextprotocol/serverInfo': SERVER_INFO },
    })
  })

  it('has no instructions, serverInfo or body-level protocolVersion when the child gave none', () => {
    const result = discoverResult({ protocolVersion: '2025-11-25', capabilities: {} }, DEFAULT_CACHE)
    expect(result).toEqual({ resultType: 'complete', supportedVersions: ['2026-07-28'], capabilities: {}, ttlMs: 0, cacheScope: 'private' })
  })

  it('reads serverInfo only when it is a valid Implementation', () => {
    expect(serverInfoOf(initialize)).toEqual(SERVER_INFO)
    expect(serverInfoOf({ serverInfo: { name: 'no-version' } })).toBeUndefined()
  })
})
