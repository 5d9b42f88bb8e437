// The sealed requestState of an MRTR round: what it carries, what it refuses and in which order, and that no
// string a client can send makes `open` throw.
import { createHash, createHmac } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MAX_REQUEST_STATE_LENGTH, RequestStateCodec, newHandle, requestDigest, type OpenedState } from '../src/modern/request-state.js'

const KEY = Buffer.alloc(32, 7)
const OTHER_KEY = Buffer.alloc(32, 8)
const NOW = 1_800_000_000_000
const DIGEST = requestDigest('tools/call', { name: 'book', arguments: { city: 'Paris', nights: 2 } })
const CLAIMS = { expiresAt: NOW + 60_000, principal: 'token:abc', digest: DIGEST }
const EXPECT = { principal: 'token:abc', digest: DIGEST, now: NOW }
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

const codec = (key: Buffer | undefined = KEY, instance = 'proxy-1') => new RequestStateCodec(key, instance)

/** The JSON inside a state (signed, not encrypted: anyone can read it). */
function bodyOf(state: string): Record<string, unknown> {
  const body = state.split('.')[1] ?? ''
  return JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<string, unknown>
}

/** A state whose body is `bytes`, correctly MACed with `key`: what only a holder of the key can make. */
function forge(bytes: Buffer | string, key: Buffer = KEY): string {
  const body = Buffer.from(bytes).toString('base64url')
  return `v1.${body}.${createHmac('sha256', key).update(`v1.${body}`).digest('base64url')}`
}

/** A different base64url character than `char`. */
const otherChar = (char: string): string => (char === 'A' ? 'B' : 'A')

const refused = (reason: string): OpenedState => ({ ok: false, reason }) as OpenedState

describe('RequestStateCodec: round trip', () => {
  it('opens what it sealed, giving back the handle and the instance', () => {
    const { state, handle } = codec().seal(CLAIMS)
    expect(codec().open(state, EXPECT)).toEqual({ ok: true, handle, instance: 'proxy-1' })
  })

  it('has the SDK codec shape: v1.<b64url json>.<b64url HMAC-SHA256>', () => {
    const { state } = codec().seal(CLAIMS)
    const [version, body, mac] = state.split('.')
    expect(version).toBe('v1')
    expect(body).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(Buffer.from(mac ?? '', 'base64url')).toHaveLength(32)
    expect(state.length).toBeLessThan(400)
  })

  it('carries h, exp, d, i and a tag of the principal, never the principal itself', () => {
    const { state, handle } = codec().seal({ ...CLAIMS, principal: 'alice@example.com' })
    const body = bodyOf(state)
    expect(Object.keys(body).sort()).toEqual(['b', 'd', 'exp', 'h', 'i'])
    expect(body).toMatchObject({ h: handle, exp: CLAIMS.expiresAt, d: DIGEST, i: 'proxy-1' })
    expect(body.b).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(state).not.toContain('alice')
    expect(Buffer.from(state.split('.')[1] ?? '', 'base64url').toString()).not.toContain('alice')
  })

  it('mints a new 128-bit handle on every seal (R2 state differs from R1)', () => {
    const c = codec()
    const first = c.seal(CLAIMS)
    const second = c.seal(CLAIMS)
    expect(first.handle).not.toBe(second.handle)
    expect(first.state).not.toBe(second.state)
    expect(Buffer.from(first.handle, 'base64url')).toHaveLength(16)
    expect(first.handle).toMatch(/^[A-Za-z0-9_-]{22}$/)
  })

  it('seals a handle it is given', () => {
    const { state, handle } = codec().seal({ ...CLAIMS, handle: 'given-handle' })
    expect(handle).toBe('given-handle')
    expect(codec().open(state, EXPECT)).toEqual({ ok: true, handle: 'given-handle', instance: 'proxy-1' })
  })

  it('newHandle gives distinct 22-character base64url strings', () => {
    const handles = new Set(Array.from({ length: 1000 }, () => newHandle()))
    expect(handles.size).toBe(1000)
    for (const handle of handles) expect(handle).toMatch(/^[A-Za-z0-9_-]{22}$/)
  })

  it('accepts a state opened by another codec with the same key and instance (a restart with a configured key)', () => {
    const { state, handle } = codec().seal(CLAIMS)
    expect(new RequestStateCodec(Buffer.from(KEY), 'proxy-1').open(state, EXPECT)).toEqual({ ok: true, handle, instance: 'proxy-1' })
  })

  it('keeps its own copy of the key', () => {
    const key = Buffer.alloc(32, 9)
    const c = new RequestStateCodec(key, 'proxy-1')
    const { state } = c.seal(CLAIMS)
    key.fill(0)
    expect(c.open(state, EXPECT).ok).toBe(true)
  })
})

describe('RequestStateCodec: refusals', () => {
  it('refuses a change to any character of the payload or the MAC as bad-mac', () => {
    const c = codec()
    const { state } = c.seal(CLAIMS)
    let checked = 0
    for (let index = 'v1.'.length; index < state.length; index++) {
      if (state[index] === '.') continue
      const tampered = state.slice(0, index) + otherChar(state[index] ?? '') + state.slice(index + 1)
      expect(c.open(tampered, EXPECT), `position ${index}`).toEqual(refused('bad-mac'))
      checked++
    }
    expect(checked).toBe(state.length - 4)
  })

  it('refuses the conformance suite\'s "-TAMPERED" suffix, a truncated MAC and a swapped body as bad-mac', () => {
    const c = codec()
    const first = c.seal(CLAIMS).state
    const second = c.seal({ ...CLAIMS, principal: 'someone-else' }).state
    expect(c.open(`${first}-TAMPERED`, EXPECT)).toEqual(refused('bad-mac'))
    expect(c.open(first.slice(0, -1), EXPECT)).toEqual(refused('bad-mac'))
    const [, body] = second.split('.')
    const [, , mac] = first.split('.')
    expect(c.open(`v1.${body}.${mac}`, EXPECT)).toEqual(refused('bad-mac'))
  })

  it('refuses a state sealed under another key as bad-mac', () => {
    const { state } = new RequestStateCodec(OTHER_KEY, 'proxy-1').seal(CLAIMS)
    expect(codec().open(state, EXPECT)).toEqual(refused('bad-mac'))
  })

  it('refuses an expired state from expiresAt on', () => {
    const c = codec()
    const { state, handle } = c.seal(CLAIMS)
    expect(c.open(state, { ...EXPECT, now: CLAIMS.expiresAt - 1 })).toEqual({ ok: true, handle, instance: 'proxy-1' })
    expect(c.open(state, { ...EXPECT, now: CLAIMS.expiresAt })).toEqual(refused('expired'))
    expect(c.open(state, { ...EXPECT, now: Number.NaN })).toEqual(refused('expired'))
  })

  it('reads the clock when no `now` is given', () => {
    const c = codec()
    const past = c.seal({ ...CLAIMS, expiresAt: Date.now() - 1 }).state
    const future = c.seal({ ...CLAIMS, expiresAt: Date.now() + 60_000 }).state
    expect(c.open(past, { principal: EXPECT.principal, digest: DIGEST })).toEqual(refused('expired'))
    expect(c.open(future, { principal: EXPECT.principal, digest: DIGEST }).ok).toBe(true)
  })

  it('refuses another principal, including "anonymous" for a state bound to a credential', () => {
    const c = codec()
    const { state } = c.seal(CLAIMS)
    expect(c.open(state, { ...EXPECT, principal: 'token:abd' })).toEqual(refused('wrong-principal'))
    expect(c.open(state, { ...EXPECT, principal: 'anonymous' })).toEqual(refused('wrong-principal'))
    const anonymous = c.seal({ ...CLAIMS, principal: 'anonymous' }).state
    expect(c.open(anonymous, { ...EXPECT, principal: 'anonymous' }).ok).toBe(true)
  })

  it('refuses a retry whose arguments changed as changed-request', () => {
    const c = codec()
    const { state } = c.seal(CLAIMS)
    const changed = requestDigest('tools/call', { name: 'book', arguments: { city: 'Lyon', nights: 2 } })
    expect(c.open(state, { ...EXPECT, digest: changed })).toEqual(refused('changed-request'))
    const reordered = requestDigest('tools/call', { arguments: { nights: 2, city: 'Paris' }, name: 'book' })
    expect(c.open(state, { ...EXPECT, digest: reordered }).ok).toBe(true)
  })

  it('refuses a state parked by another instance sharing the key as other-instance', () => {
    const { state } = new RequestStateCodec(KEY, 'proxy-2').seal(CLAIMS)
    expect(codec().open(state, EXPECT)).toEqual(refused('other-instance'))
  })

  it('checks in order: MAC, expiry, principal, digest, instance', () => {
    const c = codec()
    const late = { ...EXPECT, now: CLAIMS.expiresAt + 1 }
    const stranger = { ...EXPECT, principal: 'mallory' }
    const changed = { ...EXPECT, digest: 'x' }
    const elsewhere = new RequestStateCodec(KEY, 'proxy-2').seal(CLAIMS).state
    const { state } = c.seal(CLAIMS)
    expect(c.open(`${state}x`, { ...late, principal: 'mallory', digest: 'x' })).toEqual(refused('bad-mac'))
    expect(c.open(state, { ...late, principal: 'mallory', digest: 'x' })).toEqual(refused('expired'))
    expect(c.open(state, { ...stranger, digest: 'x' })).toEqual(refused('wrong-principal'))
    expect(c.open(elsewhere, { ...changed })).toEqual(refused('changed-request'))
    expect(c.open(elsewhere, EXPECT)).toEqual(refused('other-instance'))
  })
})

describe('RequestStateCodec: keys', () => {
  it('refuses a key shorter than 32 bytes with an error that says how to make one', () => {
    expect(() => new RequestStateCodec(Buffer.alloc(31), 'proxy-1')).toThrow(/at least 32 bytes \(got 31\)/)
    expect(() => new RequestStateCodec(Buffer.alloc(0), 'proxy-1')).toThrow(RangeError)
    expect(() => new RequestStateCodec(Buffer.alloc(32), 'proxy-1')).not.toThrow()
    expect(() => new RequestStateCodec(Buffer.alloc(64), 'proxy-1')).not.toThrow()
  })

  it('refuses a key that is not bytes, and an empty or oversized instance id', () => {
    expect(() => new RequestStateCodec('x'.repeat(40) as unknown as Buffer, 'proxy-1')).toThrow(TypeError)
    expect(() => new RequestStateCodec(KEY, '')).toThrow(RangeError)
    expect(() => new RequestStateCodec(KEY, 'i'.repeat(129))).toThrow(RangeError)
  })

  it('without a key uses one random key for the whole process, unknown to anyone else', () => {
    const a = new RequestStateCodec(undefined, 'proxy-1')
    const b = new RequestStateCodec(undefined, 'proxy-1')
    const { state } = a.seal(CLAIMS)
    expect(b.open(state, EXPECT).ok).toBe(true)
    expect(codec().open(state, EXPECT)).toEqual(refused('bad-mac'))
    expect(new RequestStateCodec(Buffer.alloc(32), 'proxy-1').open(state, EXPECT)).toEqual(refused('bad-mac'))
  })

  it('refuses to seal claims no state could be opened with', () => {
    const c = codec()
    expect(() => c.seal({ ...CLAIMS, expiresAt: Number.POSITIVE_INFINITY })).toThrow(RangeError)
    expect(() => c.seal({ ...CLAIMS, expiresAt: Number.NaN })).toThrow(RangeError)
    expect(() => c.seal({ ...CLAIMS, handle: '' })).toThrow(RangeError)
    expect(() => c.seal({ ...CLAIMS, principal: 1 as unknown as string })).toThrow(TypeError)
  })
})

describe('RequestStateCodec: hostile input', () => {
  const c = codec()
  const { state: genuine } = c.seal(CLAIMS)

  it('never throws and never accepts an arbitrary string (property)', () => {
    const base64url = fc.string({ unit: fc.constantFrom(...B64URL), maxLength: 200 })
    const anyString = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.string({ unit: 'grapheme', maxLength: 100 }),
      fc.tuple(base64url, base64url).map(([body, mac]) => `v1.${body}.${mac}`),
      fc.tuple(base64url, base64url, base64url).map(([a, b, d]) => `v1.${a}.${b}.${d}`),
      fc.tuple(fc.nat({ max: genuine.length - 1 }), fc.string({ maxLength: 3 })).map(([at, text]) => genuine.slice(0, at) + text + genuine.slice(at + 1)),
      fc.jsonValue({ maxDepth: 4 }).map((value) => forge(JSON.stringify(value), OTHER_KEY)),
    )
    fc.assert(
      fc.property(anyString, (state) => {
        fc.pre(state !== genuine)
        const opened = c.open(state, EXPECT)
        expect(opened.ok).toBe(false)
      }),
      { numRuns: 2000 },
    )
  })

  it('never throws on values that are not strings', () => {
    for (const value of [undefined, null, 0, 1n, true, {}, [], ['v1.a.b'], { toString: () => genuine }, Symbol('s')]) {
      expect(c.open(value, EXPECT)).toEqual(refused('malformed'))
    }
  })

  it('refuses shapes that are not v1.<body>.<mac> as malformed', () => {
    for (const state of ['', 'v1', 'v1.', 'v1..', 'v1.abc', 'v1.abc.', 'v1..abc', 'v2.abc.def', 'V1.abc.def', 'v1.ab c.def', 'v1.abc.de=f', 'v1.a.b.c', genuine.replace('v1.', 'v2.')]) {
      expect(c.open(state, EXPECT), state).toEqual(refused('malformed'))
    }
  })

  it('bounds the length it reads: a huge string, and even a correctly MACed one over 4 KiB, are malformed', () => {
    expect(c.open(`v1.${'A'.repeat(10_000_000)}.${'B'.repeat(43)}`, EXPECT)).toEqual(refused('malformed'))
    const oversized = forge(JSON.stringify({ h: 'h', exp: NOW + 1000, b: 'b', d: DIGEST, i: 'proxy-1', pad: 'x'.repeat(MAX_REQUEST_STATE_LENGTH) }))
    expect(oversized.length).toBeGreaterThan(MAX_REQUEST_STATE_LENGTH)
    expect(c.open(oversized, EXPECT)).toEqual(refused('malformed'))
  })

  it('fails closed on a correctly MACed body that is not what seal writes (wrong types, not JSON, not UTF-8, a JSON bomb)', () => {
    const good = bodyOf(genuine)
    // The forging helper is right: an exact copy of a genuine body opens.
    expect(c.open(forge(JSON.stringify(good)), EXPECT).ok).toBe(true)
    const bodies: (string | Buffer)[] = [
      'null',
      '[]',
      '"v1"',
      '42',
      'not json',
      '{',
      Buffer.from([0xff, 0xfe, 0xfd]),
      '['.repeat(3000) + ']'.repeat(3000),
      JSON.stringify({ ...good, h: 1 }),
      JSON.stringify({ ...good, exp: String(good.exp) }),
      JSON.stringify({ ...good, exp: null }),
      JSON.stringify({ ...good, b: ['x'] }),
      JSON.stringify({ ...good, d: { x: 1 } }),
      JSON.stringify({ ...good, i: undefined }),
      JSON.stringify({ h: good.h }),
    ]
    for (const body of bodies) expect(c.open(forge(body), EXPECT), String(body).slice(0, 40)).toEqual(refused('malformed'))
  })

  it('does not let a prototype key in the body stand in for a claim', () => {
    const good = bodyOf(genuine)
    const { h, ...withoutHandle } = good
    expect(typeof h).toBe('string')
    const body = `{"__proto__":{"h":"x"},${JSON.stringify(withoutHandle).slice(1)}`
    expect(c.open(forge(body), EXPECT)).toEqual(refused('malformed'))
  })
})

describe('requestDigest', () => {
  it('is a base64url SHA-256', () => {
    expect(DIGEST).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })

  it('is the same for the same call whatever the key order, at any depth', () => {
    const a = requestDigest('tools/call', { name: 't', arguments: { x: 1, y: { p: [1, { q: 2, r: 3 }], o: null } } })
    const b = requestDigest('tools/call', { arguments: { y: { o: null, p: [1, { r: 3, q: 2 }] }, x: 1 }, name: 't' })
    expect(a).toBe(b)
  })

  it('ignores everything but name, uri and arguments (the envelope, the retry members, progress tokens)', () => {
    const plain = requestDigest('tools/call', { name: 't', arguments: { x: 1 } })
    const retry = requestDigest('tools/call', {
      name: 't',
      arguments: { x: 1 },
      _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', progressToken: 7 },
      inputResponses: { k: { action: 'accept' } },
      requestState: 'v1.a.b',
    })
    expect(retry).toBe(plain)
  })

  it('changes with the method, the name, the uri, any argument, array order and types', () => {
    const base = requestDigest('tools/call', { name: 't', arguments: { x: 1, list: [1, 2] } })
    const variants = [
      requestDigest('prompts/get', { name: 't', arguments: { x: 1, list: [1, 2] } }),
      requestDigest('tools/call', { name: 'u', arguments: { x: 1, list: [1, 2] } }),
      requestDigest('tools/call', { name: 't', uri: 'file:///a', arguments: { x: 1, list: [1, 2] } }),
      requestDigest('tools/call', { name: 't', arguments: { x: 2, list: [1, 2] } }),
      requestDigest('tools/call', { name: 't', arguments: { x: '1', list: [1, 2] } }),
      requestDigest('tools/call', { name: 't', arguments: { x: 1, list: [2, 1] } }),
      requestDigest('tools/call', { name: 't', arguments: { x: 1, list: [1, 2], extra: null } }),
      requestDigest('tools/call', { name: 't' }),
      requestDigest('tools/call', { name: 't', arguments: {} }),
    ]
    expect(new Set([base, ...variants]).size).toBe(variants.length + 1)
  })

  it('tells resources apart by uri', () => {
    expect(requestDigest('resources/read', { uri: 'file:///a' })).not.toBe(requestDigest('resources/read', { uri: 'file:///b' }))
    expect(requestDigest('resources/read', { uri: 'file:///a' })).toBe(requestDigest('resources/read', { uri: 'file:///a', _meta: {} }))
  })

  it('does not confuse a key with a string containing the separators', () => {
    expect(requestDigest('tools/call', { name: 't', arguments: { 'a":1,"b': 2 } })).not.toBe(requestDigest('tools/call', { name: 't', arguments: { a: 1, b: 2 } }))
  })

  it('does not throw on odd params or very deep arguments', () => {
    for (const params of [undefined, null, 'x', 42, [], { name: 1, arguments: 'str' }]) expect(requestDigest('tools/call', params)).toMatch(/^[A-Za-z0-9_-]{43}$/)
    let deep: unknown = 'leaf'
    for (let depth = 0; depth < 200_000; depth++) deep = depth % 2 === 0 ? [deep] : { k: deep }
    expect(requestDigest('tools/call', { name: 't', arguments: deep })).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })

  it('agrees with a recursive canonical JSON on ordinary values (property)', () => {
    // Built as text: an object cannot hold sorted keys in order when some look like integers ("0" before "").
    const canonical = (value: unknown): string => {
      if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
      if (typeof value === 'object' && value !== null) {
        const entries = Object.keys(value).sort().map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
        return `{${entries.join(',')}}`
      }
      return JSON.stringify(value)
    }
    fc.assert(
      fc.property(fc.string(), fc.jsonValue({ maxDepth: 4 }), (name, args) => {
        const text = canonical({ method: 'tools/call', name, arguments: args })
        expect(requestDigest('tools/call', { name, arguments: args })).toBe(createHash('sha256').update(text).digest('base64url'))
      }),
      { numRuns: 300 },
    )
  })
})

