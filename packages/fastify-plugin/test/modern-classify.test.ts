// The era classifier at the HTTP edge (modern-leg.md §2.a), one row per cell of its table and per ladder
// rung, each checked twice: against what we expect, and against the SDK it must agree with
// (@modelcontextprotocol/server's classifyInboundRequest, then its createMcpHandler for the rungs after
// classification). Where we differ from the SDK on purpose, the row says what the SDK answers and why.
import {
  CLIENT_CAPABILITIES_META_KEY as SDK_CLIENT_CAPABILITIES_KEY,
  CLIENT_INFO_META_KEY as SDK_CLIENT_INFO_KEY,
  classifyInboundRequest,
  createMcpHandler,
  LOG_LEVEL_META_KEY as SDK_LOG_LEVEL_KEY,
  McpServer,
  PROTOCOL_VERSION_META_KEY as SDK_PROTOCOL_VERSION_KEY,
  type McpHttpHandler,
} from '@modelcontextprotocol/server'
import { classifyMessage, type JsonRpcNotification, type JsonRpcRequest } from '@proxy/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  CLIENT_CAPABILITIES_META_KEY as CC,
  CLIENT_INFO_META_KEY as CI,
  classifyEra,
  mayBeModern,
  LOG_LEVEL_META_KEY as LL,
  MODERN_PROTOCOL_VERSION,
  PROTOCOL_VERSION_META_KEY as PV,
  type EraOutcome,
} from '../src/modern/classify.js'
import { checkStandardHeaders } from '../src/modern/standard-headers.js'

const MODERN = MODERN_PROTOCOL_VERSION
const INVALID_REQUEST = -32600
const INVALID_PARAMS = -32602
const HEADER_MISMATCH = -32020
const UNSUPPORTED_VERSION = -32022

type Headers = Record<string, string>

const envelope = (extra: Record<string, unknown> = {}) => ({ [PV]: MODERN, [CC]: {}, ...extra })
const request = (method: string, params?: Record<string, unknown>, id: string | number = 1): JsonRpcRequest =>
  ({ jsonrpc: '2.0', id, method, ...(params !== undefined && { params }) })
const notification = (method: string, params?: Record<string, unknown>): JsonRpcNotification =>
  ({ jsonrpc: '2.0', method, ...(params !== undefined && { params }) })
/** The standard headers a conforming 2026 client sends for this method (and name). */
const std = (method: string, name?: string, version = MODERN): Headers =>
  ({ 'mcp-protocol-version': version, 'mcp-method': method, ...(name !== undefined && { 'mcp-name': name }) })
/** A modern request exactly as a conforming client sends it. */
const modern = (method: string, params: Record<string, unknown> = {}, meta: Record<string, unknown> = {}) =>
  request(method, { ...params, _meta: envelope(meta) })

/** What both classifiers are compared on: the era, and for a refusal its status, code and the key it names. */
type Verdict =
  | { era: 'legacy' }
  | { era: 'modern' }
  | { era: 'rejected'; status: number; code: number; envelope?: string; requested?: string }

interface Row {
  name: string
  body: unknown
  headers?: Headers
  /** Our outcome, in full where it matters (id echoed, envelope key named, kind of modern message). */
  expected: Partial<Extract<EraOutcome, { era: 'rejected' }>> | { era: 'legacy' } | { era: 'modern'; kind: 'request' | 'notification' }
  /** Where the SDK answers otherwise on purpose: its verdict, and why we differ. */
  sdkDiffers?: { verdict: Verdict; why: string }
}

const legacy = { era: 'legacy' } as const
const modernRequest = { era: 'modern', kind: 'request' } as const
const modernNotification = { era: 'modern', kind: 'notification' } as const
const rejected = (code: number, id: string | number | null, extra: Record<string, unknown> = {}) =>
  ({ era: 'rejected' as const, status: 400 as const, code, id, ...extra })
const badEnvelope = (key: string, id: string | number | null = 1) => rejected(INVALID_PARAMS, id, { data: { envelope: key } })

const rows: Row[] = [
  // array bodies
  { name: 'an empty batch', body: [], expected: rejected(INVALID_REQUEST, null) },
  { name: 'a batch with a claim', body: [request('ping'), modern('tools/list')], expected: rejected(INVALID_REQUEST, null) },
  { name: 'a batch with an invalid element', body: [request('ping'), { jsonrpc: '2.0' }], expected: rejected(INVALID_REQUEST, null) },
  { name: 'an all-legacy batch', body: [request('ping'), notification('notifications/initialized')], expected: legacy },
  { name: 'a single-element batch is still a batch', body: [request('ping')], expected: legacy },
  // posted responses
  { name: 'a posted result', body: { jsonrpc: '2.0', id: 5, result: {} }, expected: legacy },
  { name: 'a posted error', body: { jsonrpc: '2.0', id: 5, error: { code: -1, message: 'no' } }, expected: legacy },
  // initialize
  { name: 'initialize without a claim', body: request('initialize', { protocolVersion: '2025-11-25' }), expected: legacy },
  {
    name: 'initialize without a claim, 2025 header',
    body: request('initialize', { protocolVersion: '2025-11-25' }),
    headers: { 'mcp-protocol-version': '2025-11-25' },
    expected: legacy,
  },
  {
    name: 'initialize without a claim, modern header',
    body: request('initialize', { protocolVersion: '2025-11-25' }, 'init'),
    headers: { 'mcp-protocol-version': MODERN },
    expected: rejected(HEADER_MISMATCH, 'init'),
  },
  {
    name: 'initialize with a valid modern claim (404 is the routes\' job)',
    body: modern('initialize'),
    headers: std('initialize'),
    expected: modernRequest,
  },
  {
    name: 'initialize with an invalid claim stays the handshake',
    body: request('initialize', { _meta: { [PV]: MODERN } }),
    expected: legacy,
  },
  {
    name: 'initialize with a 2025 claim stays the handshake',
    body: request('initialize', { _meta: envelope({ [PV]: '2025-11-25' }) }),
    expected: legacy,
  },
  // a claim with a bad envelope: 400 -32602 naming the key
  {
    name: 'claim without clientCapabilities',
    body: request('server/discover', { _meta: { [PV]: MODERN } }),
    headers: std('server/discover'),
    expected: badEnvelope(CC),
  },
  {
    name: 'clientCapabilities null',
    body: modern('server/discover', {}, { [CC]: null }),
    headers: std('server/discover'),
    expected: badEnvelope(CC),
  },
  {
    name: 'clientCapabilities an array',
    body: modern('server/discover', {}, { [CC]: [] }),
    headers: std('server/discover'),
    expected: badEnvelope(CC),
  },
  {
    name: 'roots.listChanged not a boolean',
    body: modern('server/discover', {}, { [CC]: { roots: { listChanged: 'yes' } } }),
    headers: std('server/discover'),
    expected: badEnvelope(`${CC}.roots.listChanged`),
  },
  {
    name: 'sampling not an object',
    body: modern('server/discover', {}, { [CC]: { sampling: true } }),
    headers: std('server/discover'),
    expected: badEnvelope(`${CC}.sampling`),
  },
  {
    name: 'elicitation.form not an object',
    body: modern('server/discover', {}, { [CC]: { elicitation: { form: 1 } } }),
    headers: std('server/discover'),
    expected: badEnvelope(`${CC}.elicitation.form`),
  },
  {
    name: 'elicitation an array',
    body: modern('server/discover', {}, { [CC]: { elicitation: [] } }),
    headers: std('server/discover'),
    expected: badEnvelope(`${CC}.elicitation`),
  },
  {
    name: 'an experimental entry not an object',
    body: modern('server/discover', {}, { [CC]: { experimental: { a: 1 } } }),
    headers: std('server/discover'),
    expected: badEnvelope(`${CC}.experimental.a`),
  },
  {
    name: 'an unknown capability passes (even 2025 tasks)',
    body: modern('server/discover', {}, { [CC]: { tasks: 1, future: 'x' } }),
    headers: std('server/discover'),
    expected: modernRequest,
  },
  {
    name: 'protocolVersion not a string',
    body: modern('server/discover', {}, { [PV]: 20260728 }),
    headers: std('server/discover'),
    expected: badEnvelope(PV),
  },
  {
    name: 'clientInfo not an object',
    body: modern('server/discover', {}, { [CI]: 'me' }),
    headers: std('server/discover'),
    expected: badEnvelope(CI),
  },
  {
    name: 'clientInfo without a version',
    body: modern('server/discover', {}, { [CI]: { name: 'c' } }),
    headers: std('server/discover'),
    expected: badEnvelope(`${CI}.version`),
  },
  {
    name: 'clientInfo with a bad icon',
    body: modern('server/discover', {}, { [CI]: { name: 'c', version: '1', icons: [{ src: 1 }] } }),
    headers: std('server/discover'),
    expected: badEnvelope(`${CI}.icons.0.src`),
  },
  {
    name: 'elicitation.form.applyDefaults not a boolean',
    body: modern('server/discover', {}, { [CC]: { elicitation: { form: { applyDefaults: 'yes' } } } }),
    headers: std('server/discover'),
    expected: badEnvelope(`${CC}.elicitation.form.applyDefaults`),
  },
  {
    name: 'sampling.tools not an object',
    body: modern('server/discover', {}, { [CC]: { sampling: { tools: 1 } } }),
    headers: std('server/discover'),
    expected: badEnvelope(`${CC}.sampling.tools`),
  },
  {
    name: 'an extensions entry that is an array',
    body: modern('server/discover', {}, { [CC]: { extensions: { 'x/y': [] } } }),
    headers: std('server/discover'),
    expected: badEnvelope(`${CC}.extensions.x/y`),
  },
  {
    name: 'clientInfo null',
    body: modern('server/discover', {}, { [CI]: null }),
    headers: std('server/discover'),
    expected: badEnvelope(CI),
  },
  {
    name: 'clientInfo without name or version (name first)',
    body: modern('server/discover', {}, { [CI]: {} }),
    headers: std('server/discover'),
    expected: badEnvelope(`${CI}.name`),
  },
  {
    name: 'clientInfo.title not a string',
    body: modern('server/discover', {}, { [CI]: { name: 'c', version: '1', title: 5 } }),
    headers: std('server/discover'),
    expected: badEnvelope(`${CI}.title`),
  },
  {
    name: 'an icon with a bad theme',
    body: modern('server/discover', {}, { [CI]: { name: 'c', version: '1', icons: [{ src: 'i', theme: 'blue' }] } }),
    headers: std('server/discover'),
    expected: badEnvelope(`${CI}.icons.0.theme`),
  },
  {
    name: 'an icon with a bad size',
    body: modern('server/discover', {}, { [CI]: { name: 'c', version: '1', icons: [{ src: 'i' }, { src: 'j', sizes: ['1x1', 2] }] } }),
    headers: std('server/discover'),
    expected: badEnvelope(`${CI}.icons.1.sizes.1`),
  },
  {
    name: 'clientInfo before clientCapabilities',
    body: modern('server/discover', {}, { [CI]: 1, [CC]: 1 }),
    headers: std('server/discover'),
    expected: badEnvelope(CI),
  },
  {
    name: 'a missing key before any other issue',
    body: request('server/discover', { _meta: { [PV]: MODERN, [LL]: 'loud', [CI]: 1 } }),
    headers: std('server/discover'),
    expected: badEnvelope(CC),
  },
  {
    name: 'a bad logLevel',
    body: modern('server/discover', {}, { [LL]: 'verbose' }, ),
    headers: std('server/discover'),
    expected: badEnvelope(LL),
  },
  {
    name: 'a logLevel that is not a string',
    body: modern('server/discover', {}, { [LL]: 3 }),
    headers: std('server/discover'),
    expected: badEnvelope(LL),
  },
  {
    name: 'the envelope is judged before the headers',
    body: modern('tools/list', {}, { [CC]: null }),
    headers: { 'mcp-method': 'nope' },
    expected: badEnvelope(CC),
  },
  {
    name: 'a fractional progressToken',
    body: modern('tools/list', {}, { progressToken: 1.5 }),
    headers: std('tools/list'),
    expected: badEnvelope('progressToken'),
    sdkDiffers: {
      verdict: { era: 'rejected', status: 400, code: INVALID_REQUEST },
      why: 'the SDK\'s strict JSON-RPC schema refuses the whole message first; our shape check is core\'s, '
        + 'so the envelope rung names the key',
    },
  },
  // a claim whose headers disagree with the body: 400 -32020
  {
    name: 'header ≠ claim',
    body: modern('tools/list'),
    headers: std('tools/list', undefined, '2025-11-25'),
    expected: rejected(HEADER_MISMATCH, 1),
  },
  {
    name: 'header 2026-07-28, claim v999.0.0 (mismatch before -32022)',
    body: modern('server/discover', {}, { [PV]: 'v999.0.0' }),
    headers: std('server/discover'),
    expected: rejected(HEADER_MISMATCH, 1),
  },
  { name: 'Mcp-Method ≠ method', body: modern('tools/list'), headers: std('prompts/list'), expected: rejected(HEADER_MISMATCH, 1) },
  {
    name: 'Mcp-Method: TOOLS/LIST (values are case-sensitive)',
    body: modern('tools/list'),
    headers: std('TOOLS/LIST'),
    expected: rejected(HEADER_MISMATCH, 1),
  },
  // ladder rung 1: -32022
  {
    name: 'header and claim both v999.0.0',
    body: modern('server/discover', {}, { [PV]: 'v999.0.0' }, ),
    headers: std('server/discover', undefined, 'v999.0.0'),
    expected: rejected(UNSUPPORTED_VERSION, 1, { data: { supported: [MODERN], requested: 'v999.0.0' } }),
  },
  {
    name: 'a v999.0.0 claim with no headers at all (rung 1 before rung 2)',
    body: modern('server/discover', {}, { [PV]: 'v999.0.0' }),
    expected: rejected(UNSUPPORTED_VERSION, 1, { data: { supported: [MODERN], requested: 'v999.0.0' } }),
  },
  {
    name: 'a claim naming a 2025 revision',
    body: modern('tools/list', {}, { [PV]: '2025-11-25' }),
    headers: std('tools/list', undefined, '2025-11-25'),
    expected: rejected(UNSUPPORTED_VERSION, 1, { data: { supported: [MODERN], requested: '2025-11-25' } }),
  },
  // ladder rung 2: standard headers
  {
    name: 'missing MCP-Protocol-Version',
    body: modern('tools/list'),
    headers: { 'mcp-method': 'tools/list' },
    expected: rejected(HEADER_MISMATCH, 1),
  },
  {
    name: 'missing Mcp-Method',
    body: modern('tools/list'),
    headers: { 'mcp-protocol-version': MODERN },
    expected: rejected(HEADER_MISMATCH, 1),
  },
  { name: 'no standard headers at all', body: modern('tools/list', {}, {}), expected: rejected(HEADER_MISMATCH, 1) },
  {
    name: 'Mcp-Name missing on tools/call',
    body: modern('tools/call', { name: 'echo' }),
    headers: std('tools/call'),
    expected: rejected(HEADER_MISMATCH, 1),
  },
  {
    name: 'Mcp-Name: wrong_tool_name',
    body: modern('tools/call', { name: 'echo' }),
    headers: std('tools/call', 'wrong_tool_name'),
    expected: rejected(HEADER_MISMATCH, 1),
  },
  {
    name: 'Mcp-Name with spaces around it',
    body: modern('tools/call', { name: 'echo', arguments: {} }),
    headers: std('tools/call', '  echo\t'),
    expected: modernRequest,
  },
  {
    name: 'Mcp-Name in base64',
    body: modern('tools/call', { name: 'echo' }),
    headers: std('tools/call', '=?base64?ZWNobw==?='),
    expected: modernRequest,
  },
  {
    name: 'Mcp-Name in malformed base64',
    body: modern('tools/call', { name: 'echo' }),
    headers: std('tools/call', '=?base64?ZWNobw?='),
    expected: rejected(HEADER_MISMATCH, 1),
  },
  {
    name: 'Mcp-Name not needed when the body has no name',
    body: modern('tools/call', {}),
    headers: std('tools/call'),
    expected: modernRequest,
  },
  {
    name: 'Mcp-Name = params.uri for resources/read',
    body: modern('resources/read', { uri: 'file:///a.txt' }),
    headers: std('resources/read', 'file:///a.txt'),
    expected: modernRequest,
  },
  {
    name: 'Mcp-Name ≠ params.uri',
    body: modern('resources/read', { uri: 'file:///a.txt' }),
    headers: std('resources/read', 'file:///b.txt'),
    expected: rejected(HEADER_MISMATCH, 1),
  },
  {
    name: 'Mcp-Name ≠ params.name for prompts/get',
    body: modern('prompts/get', { name: 'greet' }),
    headers: std('prompts/get', 'other'),
    expected: rejected(HEADER_MISMATCH, 1),
  },
  {
    name: 'Mcp-Name is not checked on other methods',
    body: modern('tools/list'),
    headers: { ...std('tools/list'), 'mcp-name': 'anything' },
    expected: modernRequest,
  },
  // modern requests that pass
  { name: 'a modern request', body: modern('tools/list'), headers: std('tools/list'), expected: modernRequest },
  { name: 'discover without clientInfo', body: modern('server/discover'), headers: std('server/discover'), expected: modernRequest },
  {
    name: 'upper-case header names',
    body: modern('tools/call', { name: 'echo' }),
    headers: { 'MCP-PROTOCOL-VERSION': MODERN, 'MCP-METHOD': 'tools/call', 'MCP-NAME': 'echo' },
    expected: modernRequest,
  },
  {
    name: 'mixed-case header names',
    body: modern('tools/call', { name: 'echo' }),
    headers: { 'Mcp-Protocol-Version': MODERN, 'Mcp-Method': 'tools/call', 'mcp-NAME': 'echo' },
    expected: modernRequest,
  },
  {
    name: 'header values with OWS around them',
    body: modern('tools/list'),
    headers: std(' tools/list\t', undefined, `\t${MODERN} `),
    expected: modernRequest,
  },
  // requests without a claim
  { name: 'a legacy request', body: request('tools/list'), expected: legacy },
  {
    name: 'a legacy request with a 2025 header',
    body: request('tools/list'),
    headers: { 'mcp-protocol-version': '2025-06-18' },
    expected: legacy,
  },
  {
    name: 'a legacy request with a non-claim _meta',
    body: request('tools/list', { _meta: { progressToken: 't', [CC]: {} } }),
    expected: legacy,
  },
  {
    name: 'no claim, modern header, no _meta (conformance 101)',
    body: request('server/discover', {}, 101),
    headers: std('server/discover'),
    expected: rejected(INVALID_PARAMS, 101, { data: { envelope: '_meta', missing: ['_meta'] } }),
  },
  {
    name: 'no claim, modern header, _meta without protocolVersion (conformance 102)',
    body: request('server/discover', { _meta: { [CC]: {} } }, 102),
    headers: std('server/discover'),
    expected: rejected(INVALID_PARAMS, 102, { data: { envelope: PV, missing: [PV] } }),
  },
  {
    name: 'no claim, v999.0.0 header',
    body: request('tools/list', { _meta: {} }),
    headers: std('tools/list', undefined, 'v999.0.0'),
    expected: rejected(INVALID_PARAMS, 1, { data: { envelope: PV, missing: [PV, CC] } }),
  },
  // notifications
  {
    name: 'a modern notification (claim)',
    body: notification('notifications/custom', { _meta: { [PV]: MODERN } }),
    headers: std('notifications/custom'),
    expected: modernNotification,
  },
  {
    name: 'a modern notification (claim, no headers: presence is not required)',
    body: notification('notifications/custom', { _meta: { [PV]: MODERN } }),
    expected: modernNotification,
  },
  {
    name: 'a modern notification (header only)',
    body: notification('notifications/custom'),
    headers: { 'mcp-protocol-version': MODERN },
    expected: modernNotification,
  },
  { name: 'a legacy notification', body: notification('notifications/initialized'), expected: legacy },
  {
    name: 'a legacy notification with a wrong Mcp-Method (never checked)',
    body: notification('notifications/initialized'),
    headers: { 'mcp-method': 'x' },
    expected: legacy,
  },
  {
    name: 'a notification claim that is not a string',
    body: notification('notifications/custom', { _meta: { [PV]: 1 } }),
    expected: badEnvelope(PV, null),
  },
  {
    name: 'a notification claim ≠ header',
    body: notification('notifications/custom', { _meta: { [PV]: MODERN } }),
    headers: { 'mcp-protocol-version': '2025-11-25' },
    expected: rejected(HEADER_MISMATCH, null),
  },
  {
    name: 'a modern notification with Mcp-Method ≠ method',
    body: notification('notifications/custom'),
    headers: std('notifications/other'),
    expected: rejected(HEADER_MISMATCH, null),
  },
  {
    name: 'a notification under a v999.0.0 header',
    body: notification('notifications/custom'),
    headers: { 'mcp-protocol-version': 'v999.0.0' },
    expected: rejected(UNSUPPORTED_VERSION, null, { data: { supported: [MODERN], requested: 'v999.0.0' } }),
  },
  {
    name: 'a notification claiming 2025 with a wrong Mcp-Method (-32022 first, as the SDK)',
    body: notification('notifications/custom', { _meta: { [PV]: '2025-11-25' } }),
    headers: { 'mcp-method': 'x' },
    expected: rejected(UNSUPPORTED_VERSION, null),
  },
  // anything else
  { name: 'a number', body: 42, expected: rejected(INVALID_REQUEST, null) },
  { name: 'null', body: null, expected: rejected(INVALID_REQUEST, null) },
  { name: 'an object that is no message', body: { hello: 'world' }, expected: rejected(INVALID_REQUEST, null) },
  { name: 'jsonrpc 1.0 (the id is echoed)', body: { jsonrpc: '1.0', id: 7, method: 'ping' }, expected: rejected(INVALID_REQUEST, 7) },
]

/** Our outcome reduced to what the SDK can be compared on. */
function ourVerdict(outcome: EraOutcome): Verdict {
  if (outcome.era !== 'rejected') return { era: outcome.era }
  const data = (outcome.data ?? {}) as { envelope?: string; requested?: string }
  return {
    era: 'rejected',
    status: outcome.status,
    code: outcome.code,
    ...(data.envelope !== undefined && { envelope: data.envelope }),
    ...(data.requested !== undefined && { requested: data.requested }),
  }
}

/** A refusal's JSON-RPC error, reduced the same way (the SDK nests the envelope key as `{key, problem}` or `{missing}`). */
function sdkRejection(status: number, code: number, data: unknown): Verdict {
  const d = (data ?? {}) as { envelope?: { key?: string; missing?: string[] }; requested?: string }
  const envelope = d.envelope?.key ?? d.envelope?.missing?.[0]
  return {
    era: 'rejected',
    status,
    code,
    ...(envelope !== undefined && { envelope }),
    ...(d.requested !== undefined && { requested: d.requested }),
  }
}

/** A stand-in server the SDK's modern leg can dispatch to: one tool, one prompt, one resource. */
function sdkServer(): McpServer {
  const server = new McpServer({ name: 'oracle', version: '1.0.0' })
  server.registerTool('echo', { description: 'echo' }, async () => ({ content: [{ type: 'text', text: 'ok' }] }))
  server.registerPrompt('greet', { description: 'greet' }, async () => ({ messages: [] }))
  server.registerResource('a', 'file:///a.txt', {}, async (uri) => ({ contents: [{ uri: uri.href, text: 'a' }] }))
  return server
}

let handler: McpHttpHandler
beforeAll(() => {
  handler = createMcpHandler(sdkServer, { legacy: 'reject', onerror: () => {} })
})
afterAll(async () => {
  await handler.close()
})

/**
 * The SDK's verdict. Era and edge refusals come from classifyInboundRequest; a modern route then goes
 * through createMcpHandler, whose ladder adds -32022 and the standard-header rung. Its later 404 -32601
 * (`initialize` and the removed methods) is routing, the routes' job after us, so it counts as modern.
 */
async function sdkVerdict(body: unknown, headers: Headers): Promise<Verdict> {
  const h = new Headers(headers)
  const outcome = classifyInboundRequest({
    httpMethod: 'POST',
    body,
    ...(h.has('mcp-protocol-version') && { protocolVersionHeader: h.get('mcp-protocol-version') as string }),
    ...(h.has('mcp-method') && { mcpMethodHeader: h.get('mcp-method') as string }),
    ...(h.has('mcp-name') && { mcpNameHeader: h.get('mcp-name') as string }),
  })
  if (outcome.kind === 'legacy') return { era: 'legacy' }
  if (outcome.kind === 'reject') return sdkRejection(outcome.httpStatus, outcome.code, outcome.data)
  h.set('content-type', 'application/json')
  h.set('accept', 'application/json, text/event-stream')
  const res = await handler.fetch(new Request('http://localhost/mcp', { method: 'POST', headers: h, body: JSON.stringify(body) }))
  const text = await res.text()
  if (res.status !== 400) return { era: 'modern' }
  const { error } = JSON.parse(text) as { error: { code: number; data?: unknown } }
  return sdkRejection(res.status, error.code, error.data)
}

describe('classifyEra: the §2.a table and ladder rungs 1–2', () => {
  it.each(rows)('$name', ({ body, headers, expected }) => {
    expect(classifyEra(body, headers ?? {})).toMatchObject(expected)
  })
})

describe('mayBeModern: the route\'s cheap pre-test never hides a modern or refused body', () => {
  // Only a body the 2025 leg could take (valid JSON-RPC) reaches it; on every such row, false means legacy.
  it.each(rows.filter(({ body }) => (Array.isArray(body) ? body.length > 0 && body.every((m) => classifyMessage(m).kind !== 'invalid') : classifyMessage(body).kind !== 'invalid')))(
    '$name',
    ({ body, headers }) => {
      if (!mayBeModern(body, headers ?? {})) expect(classifyEra(body, headers ?? {})).toEqual({ era: 'legacy' })
    },
  )

  it('is false for 2025 traffic and true for a claim or a modern header', () => {
    expect(mayBeModern(request('tools/list'), { 'mcp-protocol-version': '2025-11-25' })).toBe(false)
    expect(mayBeModern(modern('tools/list'), {})).toBe(true)
    expect(mayBeModern(request('tools/list'), { 'mcp-protocol-version': ` ${MODERN} ` })).toBe(true)
    expect(mayBeModern([request('ping'), modern('tools/list')], {})).toBe(true)
  })
})

describe('classifyEra agrees with the SDK (classifyInboundRequest + createMcpHandler ladder)', () => {
  it.each(rows)('$name', async ({ body, headers, sdkDiffers }) => {
    const ours = ourVerdict(classifyEra(body, headers ?? {}))
    const sdk = await sdkVerdict(body, headers ?? {})
    expect(sdk).toEqual(sdkDiffers?.verdict ?? ours)
    // A documented difference must still be a difference, or the note is stale.
    if (sdkDiffers !== undefined) expect(sdk).not.toEqual(ours)
  })
})

describe('what a modern outcome carries', () => {
  it('the envelope: version, clientInfo, capabilities and logLevel as sent', () => {
    const info = { name: 'client', version: '2.0.0', title: 'Client', icons: [{ src: 'https://x/i.png', sizes: ['16x16'], theme: 'dark' }] }
    const caps = { sampling: { tools: {} }, elicitation: { form: { applyDefaults: true }, url: {} }, roots: { listChanged: true } }
    const outcome = classifyEra(modern('tools/list', {}, { [CI]: info, [CC]: caps, [LL]: 'warning' }), std('tools/list'))
    expect(outcome).toEqual({
      era: 'modern',
      kind: 'request',
      message: modern('tools/list', {}, { [CI]: info, [CC]: caps, [LL]: 'warning' }),
      envelope: { protocolVersion: MODERN, clientInfo: info, clientCapabilities: caps, logLevel: 'warning' },
    })
  })

  it('no clientInfo and no logLevel are undefined, not defaults', () => {
    const outcome = classifyEra(modern('server/discover'), std('server/discover'))
    expect(outcome).toMatchObject({
      envelope: { protocolVersion: MODERN, clientInfo: undefined, clientCapabilities: {}, logLevel: undefined },
    })
  })

  it('a rejection names its reason in the message', () => {
    expect(classifyEra(modern('tools/list'), std('TOOLS/LIST'))).toMatchObject({ message: expect.stringMatching(/TOOLS\/LIST/) })
    const badLevel = classifyEra(modern('tools/list', {}, { [LL]: 'loud' }), std('tools/list'))
    expect(badLevel).toMatchObject({ message: expect.stringContaining(LL) })
  })

  it('our envelope keys are the SDK\'s', () => {
    expect([PV, CI, CC, LL]).toEqual([SDK_PROTOCOL_VERSION_KEY, SDK_CLIENT_INFO_KEY, SDK_CLIENT_CAPABILITIES_KEY, SDK_LOG_LEVEL_KEY])
  })
})

describe('checkStandardHeaders on its own', () => {
  it('a notification need not carry the headers, but one it sends must agree', () => {
    const note = notification('notifications/custom', { _meta: { [PV]: MODERN } })
    expect(checkStandardHeaders(note, {})).toBeUndefined()
    expect(checkStandardHeaders(note, { 'mcp-method': 'notifications/other' })).toMatch(/Mcp-Method/)
    expect(checkStandardHeaders(note, { 'mcp-protocol-version': '2025-11-25' })).toMatch(/MCP-Protocol-Version/)
  })

  it('a request names the first missing header, in the spec\'s order', () => {
    const call = modern('tools/call', { name: 'echo' })
    expect(checkStandardHeaders(call, {})).toMatch(/MCP-Protocol-Version/)
    expect(checkStandardHeaders(call, { 'mcp-protocol-version': MODERN })).toMatch(/Mcp-Method/)
    expect(checkStandardHeaders(call, std('tools/call'))).toMatch(/Mcp-Name/)
    expect(checkStandardHeaders(call, std('tools/call', 'echo'))).toBeUndefined()
  })

  it('a repeated header is joined, so it never equals one body value', () => {
    const list = modern('tools/list')
    expect(checkStandardHeaders(list, { 'mcp-protocol-version': MODERN, 'mcp-method': ['tools/list', 'tools/list'] })).toMatch(/Mcp-Method/)
  })
})

describe('where we differ from the SDK on purpose', () => {
  it('a legacy request goes to our legacy leg; the SDK\'s modern-only endpoint refuses it with -32022', async () => {
    const body = request('tools/list')
    expect(classifyEra(body, {})).toEqual({ era: 'legacy' })
    // The SDK's classifier agrees it is legacy traffic (row "a legacy request"); only its legacy:'reject'
    // posture answers it, because that endpoint has no 2025 machinery. Ours does.
    const res = await handler.fetch(new Request('http://localhost/mcp', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify(body),
    }))
    expect(res.status).toBe(400)
    expect(((await res.json()) as { error: { code: number } }).error.code).toBe(UNSUPPORTED_VERSION)
  })

  it('an envelope error names the key as a string; the SDK nests {key, problem}', () => {
    const body = modern('server/discover', {}, { [LL]: 'loud' })
    const sdk = classifyInboundRequest({ httpMethod: 'POST', body, protocolVersionHeader: MODERN, mcpMethodHeader: 'server/discover' })
    expect(sdk).toMatchObject({ code: INVALID_PARAMS, data: { envelope: { key: LL, problem: expect.any(String) } } })
    expect(classifyEra(body, std('server/discover'))).toMatchObject({ code: INVALID_PARAMS, data: { envelope: LL } })
  })

  // The JSON-RPC shape check is @proxy/core's classifyMessage, the one the legacy leg already uses: it lets
  // unknown members through (STYLE §4: over-strict schemas reject spec-valid payloads). The SDK's zod schemas
  // are strict, so these reach our legacy leg untouched (as today) where the SDK answers 400 -32600.
  it.each([
    ['an unknown top-level member', { ...request('tools/list'), extra: true }],
    ['a fractional id', request('tools/list', undefined, 1.5)],
    ['array params', { jsonrpc: '2.0', id: 1, method: 'tools/list', params: [] }],
    ['a posted error with a null id', { jsonrpc: '2.0', id: null, error: { code: -1, message: 'no' } }],
  ])('%s: legacy for us, -32600 for the SDK', async (_name, body) => {
    expect(classifyEra(body, {})).toEqual({ era: 'legacy' })
    expect(await sdkVerdict(body, {})).toEqual({ era: 'rejected', status: 400, code: INVALID_REQUEST })
  })
})
