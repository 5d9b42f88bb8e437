import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { Value } from 'typebox/value'
import { JsonRpcId, JsonRpcNotification, JsonRpcRequest, JsonRpcResponse, classify, classifyMessage } from '../src/index.js'

type Kind = 'request' | 'notification' | 'response' | 'invalid'

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

/**
 * What the TypeBox schemas say a value is. The schemas describe the envelope with open objects, so two
 * JSON-RPC rules they cannot express are added here: a message with a `method` member is never a
 * response, and a response never has both `result` and `error`.
 */
function expectedKind(value: unknown): Kind {
  if (Value.Check(JsonRpcRequest, value)) return 'request'
  if (!isObject(value)) return 'invalid'
  if (Value.Check(JsonRpcNotification, value) && !('id' in value)) return 'notification'
  if (Value.Check(JsonRpcResponse, value) && !('method' in value) && !('result' in value && 'error' in value)) return 'response'
  return 'invalid'
}

/** Parsed JSON only: what the classifier ever sees. */
const asJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value)) as unknown

const anyId = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string(),
  fc.constantFrom(null, true, 1.5, -0, '', '1'),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.dictionary(fc.string(), fc.integer(), { maxKeys: 2 }),
)

const anyParams = fc.oneof(
  fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
  fc.constantFrom(null, 'params', 0, false),
)

const anyError = fc.oneof(
  fc.record(
    {
      code: fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom('-32600', null)),
      message: fc.oneof(fc.string(), fc.constantFrom(null, 0)),
      data: fc.jsonValue({ maxDepth: 2 }),
    },
    { requiredKeys: [] },
  ),
  fc.constantFrom(null, 'error', [], [{ code: 1, message: 'm' }]),
)

/** Mostly valid, sometimes not: near-valid envelopes sit on the boundary between the kinds. */
const mostly = <T, U>(valid: fc.Arbitrary<T>, other: fc.Arbitrary<U>): fc.Arbitrary<T | U> =>
  fc.oneof({ weight: 4, arbitrary: valid }, { weight: 1, arbitrary: other })

const members = {
  jsonrpc: mostly(fc.constant('2.0'), fc.constantFrom('1.0', 2, null)),
  id: mostly(fc.oneof(fc.integer(), fc.string({ maxLength: 4 })), anyId),
  method: mostly(fc.oneof(fc.constantFrom('tools/call', 'notifications/progress', ''), fc.string()), fc.constantFrom(null, 1)),
  params: mostly(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }), anyParams),
  result: fc.jsonValue({ maxDepth: 2 }),
  error: mostly(fc.record({ code: fc.integer(), message: fc.string(), data: fc.jsonValue({ maxDepth: 1 }) }, { requiredKeys: ['code', 'message'] }), anyError),
  extra: fc.jsonValue({ maxDepth: 1 }),
}

type Member = keyof typeof members

/** An envelope with the `required` members, and any of the `optional` ones. */
function envelope(required: Member[], optional: Member[]) {
  const model: Partial<Record<Member, fc.Arbitrary<unknown>>> = {}
  for (const member of [...required, ...optional]) model[member] = members[member]
  return fc.record(model, { requiredKeys: required })
}

/** Objects built from the envelope's members around each kind of message, valid or nearly so. */
const nearEnvelope = fc
  .oneof(
    envelope(['jsonrpc', 'id', 'method'], ['params', 'extra']),
    envelope(['jsonrpc', 'method'], ['params', 'extra']),
    envelope(['jsonrpc', 'id', 'result'], ['extra']),
    envelope(['jsonrpc', 'id', 'error'], ['extra']),
    envelope([], ['jsonrpc', 'id', 'method', 'params', 'result', 'error', 'extra']),
  )
  .map(asJson)

describe('classifyMessage agrees with the TypeBox schemas', () => {
  const agrees = (value: unknown): void => {
    const classified = classifyMessage(value)
    expect({ value, kind: classified.kind }).toEqual({ value, kind: expectedKind(value) })
    if (classified.kind === 'invalid') {
      // The id to answer an invalid message with: its own when it has a valid one.
      const id = isObject(value) && Value.Check(JsonRpcId, value.id) ? value.id : null
      expect(classified.id).toEqual(id)
    } else {
      expect(classified.message).toBe(value)
    }
  }

  it('on arbitrary JSON values', () => {
    fc.assert(fc.property(fc.jsonValue().map(asJson), agrees), { numRuns: 1000 })
  })

  it('on near-valid envelopes', () => {
    fc.assert(fc.property(nearEnvelope, agrees), { numRuns: 5000 })
  })

  it('on the edge cases of the envelope', () => {
    const cases: unknown[] = [
      { jsonrpc: '2.0', id: 1, method: 'm' },
      { jsonrpc: '2.0', id: 'x', method: 'm', params: [] },
      { jsonrpc: '2.0', method: 'm', params: {} },
      { jsonrpc: '2.0', method: 'm', id: null },
      { jsonrpc: '2.0', method: 'm', params: null },
      { jsonrpc: '2.0', id: 1, result: null },
      { jsonrpc: '2.0', id: null, result: {} },
      { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } },
      { jsonrpc: '2.0', id: 1, error: { code: 1.5, message: 'x' } },
      { jsonrpc: '2.0', id: 1, result: 1, error: { code: 1, message: 'both' } },
      { jsonrpc: '2.0', id: 1, method: 5, result: 1 },
      { jsonrpc: '2.0', id: 1, method: 'm', result: 1 },
      { jsonrpc: '2.0', id: 1 },
      { jsonrpc: '2.0', id: true, method: 'm' },
      { jsonrpc: '2.0', id: 1.5, method: 'm' },
      { id: 1, method: 'm' },
      JSON.parse('{"jsonrpc":"2.0","method":"m","params":{"__proto__":{"x":1}}}'),
      null,
      'string',
      42,
      [],
    ]
    for (const value of cases) agrees(value)
  })
})

describe('classify', () => {
  it('classifies a non-empty array as a batch of single messages, and refuses an empty one', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(nearEnvelope, fc.jsonValue({ maxDepth: 2 })), { maxLength: 5 }), (values) => {
        const classified = classify(values)
        if (values.length === 0) {
          expect(classified).toMatchObject({ kind: 'invalid', id: null })
        } else {
          expect(classified).toEqual({ kind: 'batch', messages: values.map(classifyMessage) })
        }
      }),
      { numRuns: 300 },
    )
  })

  it('classifies anything else as one message', () => {
    fc.assert(
      fc.property(nearEnvelope, (value) => {
        expect(classify(value)).toEqual(classifyMessage(value))
      }),
      { numRuns: 300 },
    )
  })
})
