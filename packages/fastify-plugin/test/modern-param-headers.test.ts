// `Mcp-Param-*` headers against a tool's inputSchema (2026-07-28 "Custom Headers from Tool Parameters"),
// the `=?base64?…?=` sentinel they share with Mcp-Name, and the header names we hand to CORS. The last
// block replays the same cases through the SDK's createMcpHandler, which checks them for an McpServer.
import { createMcpHandler, fromJsonSchema, McpServer, type McpHttpHandler } from '@modelcontextprotocol/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkParamHeaders, paramHeaderNames } from '../src/modern/param-headers.js'
import { decodeHeaderValue } from '../src/modern/standard-headers.js'

const SCHEMA = {
  type: 'object',
  properties: {
    region: { type: 'string', 'x-mcp-header': 'Region' },
    count: { type: 'integer', 'x-mcp-header': 'Count' },
    dryRun: { type: 'boolean', 'x-mcp-header': 'Dry-Run' },
    target: {
      type: 'object',
      properties: { zone: { type: 'string', 'x-mcp-header': 'Zone' }, note: { type: 'string' } },
    },
    query: { type: 'string' },
  },
}

/** The verdict as a word, so a table reads at a glance. */
const verdict = (args: unknown, headers: Record<string, string>, schema: unknown = SCHEMA) =>
  checkParamHeaders(schema, args, headers) === undefined ? 'ok' : 'reject'

interface Case {
  name: string
  args: Record<string, unknown>
  headers: Record<string, string>
  expected: 'ok' | 'reject'
}

const cases: Case[] = [
  { name: 'no annotated value, no header', args: { query: 'q' }, headers: {}, expected: 'ok' },
  { name: 'a string that matches', args: { region: 'us-west1' }, headers: { 'mcp-param-region': 'us-west1' }, expected: 'ok' },
  { name: 'a string that differs', args: { region: 'us-west1' }, headers: { 'mcp-param-region': 'eu-west1' }, expected: 'reject' },
  { name: 'strings are case-sensitive', args: { region: 'us-west1' }, headers: { 'mcp-param-region': 'US-WEST1' }, expected: 'reject' },
  { name: 'the header is missing while the body holds the value', args: { region: 'us-west1' }, headers: {}, expected: 'reject' },
  { name: 'a header name in any case', args: { region: 'us-west1' }, headers: { 'MCP-PARAM-REGION': 'us-west1' }, expected: 'ok' },
  { name: '42 and 42', args: { count: 42 }, headers: { 'mcp-param-count': '42' }, expected: 'ok' },
  { name: '42 and 42.0 (compared numerically)', args: { count: 42 }, headers: { 'mcp-param-count': '42.0' }, expected: 'ok' },
  { name: '-7 and -7', args: { count: -7 }, headers: { 'mcp-param-count': '-7' }, expected: 'ok' },
  { name: '42 and 43', args: { count: 42 }, headers: { 'mcp-param-count': '43' }, expected: 'reject' },
  { name: '42 and 4.2e1 (not a plain decimal)', args: { count: 42 }, headers: { 'mcp-param-count': '4.2e1' }, expected: 'reject' },
  { name: '42 and 0x2a', args: { count: 42 }, headers: { 'mcp-param-count': '0x2a' }, expected: 'reject' },
  { name: 'true and true', args: { dryRun: true }, headers: { 'mcp-param-dry-run': 'true' }, expected: 'ok' },
  { name: 'false and false', args: { dryRun: false }, headers: { 'mcp-param-dry-run': 'false' }, expected: 'ok' },
  { name: 'true and True', args: { dryRun: true }, headers: { 'mcp-param-dry-run': 'True' }, expected: 'reject' },
  { name: 'true and 1', args: { dryRun: true }, headers: { 'mcp-param-dry-run': '1' }, expected: 'reject' },
  { name: 'a nested path that matches', args: { target: { zone: 'a' } }, headers: { 'mcp-param-zone': 'a' }, expected: 'ok' },
  { name: 'a nested path that differs', args: { target: { zone: 'a' } }, headers: { 'mcp-param-zone': 'b' }, expected: 'reject' },
  { name: 'a nested path without its header', args: { target: { zone: 'a' } }, headers: {}, expected: 'reject' },
  { name: 'a nested parent without the annotated child', args: { target: { note: 'n' } }, headers: {}, expected: 'ok' },
  { name: 'a null value needs no header', args: { region: null }, headers: {}, expected: 'ok' },
  {
    name: 'a base64 sentinel that decodes to the value',
    args: { region: 'Hello' },
    headers: { 'mcp-param-region': '=?base64?SGVsbG8=?=' },
    expected: 'ok',
  },
  {
    name: 'a base64 sentinel of non-ASCII text',
    args: { region: 'Hello, 世界' },
    headers: { 'mcp-param-region': '=?base64?SGVsbG8sIOS4lueVjA==?=' },
    expected: 'ok',
  },
  { name: 'a base64 sentinel of an integer', args: { count: 42 }, headers: { 'mcp-param-count': '=?base64?NDI=?=' }, expected: 'ok' },
  {
    name: 'without the prefix it is a literal',
    args: { region: 'SGVsbG8=?=' },
    headers: { 'mcp-param-region': 'SGVsbG8=?=' },
    expected: 'ok',
  },
  {
    name: 'without the suffix it is a literal',
    args: { region: '=?base64?SGVsbG8=' },
    headers: { 'mcp-param-region': '=?base64?SGVsbG8=' },
    expected: 'ok',
  },
  { name: 'a literal is not decoded', args: { region: 'Hello' }, headers: { 'mcp-param-region': 'SGVsbG8=' }, expected: 'reject' },
  { name: 'bad padding: SGVsbG8', args: { region: 'Hello' }, headers: { 'mcp-param-region': '=?base64?SGVsbG8?=' }, expected: 'reject' },
  {
    name: 'bad characters: SGVs!!!bG8=',
    args: { region: 'Hello' },
    headers: { 'mcp-param-region': '=?base64?SGVs!!!bG8=?=' },
    expected: 'reject',
  },
  { name: 'base64 of invalid UTF-8', args: { region: 'Hello' }, headers: { 'mcp-param-region': '=?base64?/w==?=' }, expected: 'reject' },
  { name: 'two values, one header missing', args: { region: 'us', count: 1 }, headers: { 'mcp-param-region': 'us' }, expected: 'reject' },
  {
    name: 'two values, both headers',
    args: { region: 'us', count: 1 },
    headers: { 'mcp-param-region': 'us', 'mcp-param-count': '1' },
    expected: 'ok',
  },
  { name: 'an unannotated header is ignored', args: {}, headers: { 'mcp-param-other': 'x' }, expected: 'ok' },
]

describe('checkParamHeaders', () => {
  it.each(cases)('$name → $expected', ({ args, headers, expected }) => {
    expect(verdict(args, headers)).toBe(expected)
  })

  // The spec says only that the server must not *expect* the header here; one sent anyway vouches for a
  // value the body lacks (the header/body split the check exists for), so we refuse it. The SDK ignores it.
  it('a header given for a value the body lacks fails', () => {
    expect(checkParamHeaders(SCHEMA, {}, { 'mcp-param-region': 'us-west1' })).toMatch(/Mcp-Param-Region.*no value at region/)
    expect(checkParamHeaders(SCHEMA, { region: null }, { 'mcp-param-region': 'us-west1' })).toMatch(/no value/)
    expect(checkParamHeaders(SCHEMA, undefined, { 'mcp-param-zone': 'a' })).toMatch(/target\.zone/)
  })

  it('the reason names the header and the value', () => {
    expect(checkParamHeaders(SCHEMA, { count: 42 }, { 'mcp-param-count': '43' })).toBe(
      'the Mcp-Param-Count header says "43" but the body carries count=42')
    expect(checkParamHeaders(SCHEMA, { region: 'x' }, {})).toBe('the body carries region="x" but the Mcp-Param-Region header is absent')
  })

  it('a value the header cannot mirror (an object where a string is declared) is left to the child', () => {
    expect(verdict({ region: { not: 'a string' } }, {})).toBe('ok')
  })

  it('no schema, or one without annotations, checks nothing', () => {
    expect(checkParamHeaders(undefined, { region: 'x' }, { 'mcp-param-region': 'y' })).toBeUndefined()
    expect(verdict({ region: 'x' }, {}, { type: 'object', properties: { region: { type: 'string' } } })).toBe('ok')
  })

  const region = { type: 'string', 'x-mcp-header': 'Region' }
  it.each([
    ['under items', { type: 'object', properties: { region, list: { type: 'array', items: { type: 'string', 'x-mcp-header': 'Item' } } } }],
    ['under anyOf', { type: 'object', properties: { region }, anyOf: [{ properties: { a: { type: 'string', 'x-mcp-header': 'A' } } }] }],
    ['not a token', { type: 'object', properties: { region: { type: 'string', 'x-mcp-header': 'Re gion' } } }],
    ['on an object', { type: 'object', properties: { region: { type: 'object', 'x-mcp-header': 'Region' } } }],
    ['duplicated in another case', { type: 'object', properties: { region, r2: { type: 'string', 'x-mcp-header': 'REGION' } } }],
    ['on the root', { type: 'object', 'x-mcp-header': 'Root', properties: { region } }],
  ])('an annotation %s makes the tool invalid: no header is checked for it', (_where, schema) => {
    // The spec has clients drop such a tool from tools/list; like the SDK, we check nothing for it.
    expect(verdict({ region: 'x' }, {}, schema)).toBe('ok')
  })
})

describe('decodeHeaderValue', () => {
  it.each([
    ['=?base64?SGVsbG8=?=', 'Hello'],
    ['=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=', '=?base64?literal?='],
    ['=?base64??=', ''],
    ['plain', 'plain'],
    ['SGVsbG8=?=', 'SGVsbG8=?='],
    ['=?base64?SGVsbG8=', '=?base64?SGVsbG8='],
    ['=?BASE64?SGVsbG8=?=', '=?BASE64?SGVsbG8=?='],
    ['=?base64?=', '=?base64?='],
  ])('%s → %s', (raw, decoded) => {
    expect(decodeHeaderValue(raw)).toBe(decoded)
  })

  const malformed = ['=?base64?SGVsbG8?=', '=?base64?SGVs!!!bG8=?=', '=?base64?SGVsbG8==?=', '=?base64?SGVs bG8=?=', '=?base64?/w==?=']
  it.each(malformed)('%s is malformed', (raw) => {
    expect(decodeHeaderValue(raw)).toBeUndefined()
  })
})

describe('paramHeaderNames', () => {
  it('lists each declared header once, lower-cased, nested ones included', () => {
    const tools = [
      { name: 'a', inputSchema: SCHEMA },
      {
        name: 'b',
        inputSchema: {
          type: 'object',
          properties: { region: { type: 'string', 'x-mcp-header': 'REGION' }, id: { type: 'integer', 'x-mcp-header': 'Tenant-Id' } },
        },
      },
      { name: 'c', inputSchema: { type: 'object', properties: {} } },
    ]
    expect(paramHeaderNames(tools)).toEqual([
      'mcp-param-region', 'mcp-param-count', 'mcp-param-dry-run', 'mcp-param-zone', 'mcp-param-tenant-id',
    ])
  })

  it('skips invalid tools and non-tools, so no non-token reaches a CORS header', () => {
    const tools = [
      null,
      'tool',
      { name: 'no-schema' },
      { name: 'bad', inputSchema: { type: 'object', properties: { x: { type: 'string', 'x-mcp-header': 'Bad\r\nSet-Cookie: a=b' } } } },
      { name: 'ok', inputSchema: { type: 'object', properties: { x: { type: 'string', 'x-mcp-header': 'Good' } } } },
    ]
    expect(paramHeaderNames(tools)).toEqual(['mcp-param-good'])
  })

  it('no tools, no names', () => {
    expect(paramHeaderNames([])).toEqual([])
  })
})

// The SDK checks Mcp-Param-* for an McpServer tool whose raw JSON Schema carries the annotations. Each case
// goes through its createMcpHandler as a conforming tools/call: 400 -32020 is its "reject"; anything else
// (200, even with an in-band argument error) means the headers passed.
describe('checkParamHeaders agrees with the SDK', () => {
  let handler: McpHttpHandler
  beforeAll(() => {
    handler = createMcpHandler(() => {
      const server = new McpServer({ name: 'oracle', version: '1.0.0' })
      server.registerTool('custom', { description: 'custom', inputSchema: fromJsonSchema(SCHEMA) }, async () => ({ content: [] }))
      return server
    }, { legacy: 'reject', onerror: () => {} })
  })
  afterAll(async () => {
    await handler.close()
  })

  async function sdkVerdict(args: Record<string, unknown>, headers: Record<string, string>): Promise<'ok' | 'reject'> {
    const body = {
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: {
        name: 'custom',
        arguments: args,
        _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} },
      },
    }
    const res = await handler.fetch(new Request('http://localhost/mcp', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2026-07-28',
        'mcp-method': 'tools/call',
        'mcp-name': 'custom',
        ...headers,
      },
      body: JSON.stringify(body),
    }))
    const answer = (await res.json()) as { error?: { code: number } }
    return res.status === 400 && answer.error?.code === -32020 ? 'reject' : 'ok'
  }

  // Request headers must be ASCII, so the non-ASCII body value is left out here.
  it.each(cases.filter((c) => !c.name.includes('non-ASCII')))('$name', async ({ args, headers }) => {
    expect(await sdkVerdict(args, headers)).toBe(verdict(args, headers))
  })

  it('differs on purpose: a header for a value the body lacks (we refuse, the SDK ignores it)', async () => {
    expect(await sdkVerdict({}, { 'mcp-param-region': 'us-west1' })).toBe('ok')
    expect(verdict({}, { 'mcp-param-region': 'us-west1' })).toBe('reject')
  })
})
