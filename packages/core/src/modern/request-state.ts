// The sealed `requestState` of an MRTR round (2026-07-28 `input_required`): an HMAC-signed, unencrypted
// envelope in the shape of the SDK's codec (`v1.<b64url json>.<b64url HMAC-SHA256>`, MAC over "v1." + body),
// carrying a handle to the parked call rather than the call itself. The state comes back as attacker-
// controlled input, so `open` never throws, bounds what it reads, and checks the MAC before anything else.
// Pure apart from the clock and the CSPRNG; parking, leases and single use belong to the caller.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { isPlainObject } from './translate.js'

/** What one sealed state says about its parked round. */
export interface StateClaims {
  /** 128-bit random handle of one parked round (base64url), rotated every round. */
  handle: string
  /** Expiry, ms since epoch: the state is refused from this instant on. */
  expiresAt: number
  /** Who may retry: 'anonymous' when auth is off, else an identifier of the credential (never the secret itself). */
  principal: string
  /** What the call was: {@link requestDigest} of the original request. */
  digest: string
  /** The proxy instance that parked it. */
  instance: string
}

/** Why `open` refused a state. Opaque on purpose: the client learns nothing it could use to forge one. */
export type StateRefusal = 'malformed' | 'bad-mac' | 'expired' | 'wrong-principal' | 'changed-request' | 'other-instance'

/** The outcome of {@link RequestStateCodec.open}. */
export type OpenedState = { ok: true; handle: string; instance: string } | { ok: false; reason: StateRefusal }

/** The longest state `open` looks at; a sealed one is about 300 characters. */
export const MAX_REQUEST_STATE_LENGTH = 4096

/** The shortest key accepted (256 bits), as the SDK's codec requires. */
export const MIN_REQUEST_STATE_KEY_BYTES = 32

const PREFIX = 'v1.'
/** Domain separation: the principal tag's HMAC input can never equal a body MAC's input (which starts "v1."). */
const PRINCIPAL_LABEL = 'stdio-proxy.requestState.principal:'
/** Caller-chosen strings sealed into a state (instance id, handle) stay short, so a state stays under the bound. */
const MAX_ID_LENGTH = 128
const BASE64URL = /^[A-Za-z0-9_-]+$/

/** The key used when none is configured: random, made once per process (parked calls die with the process anyway). */
let processKey: Buffer | undefined

/** Equality of two strings in time that depends only on their lengths (which are public here). */
function sameString(a: string, b: string): boolean {
  const left = Buffer.from(a)
  const right = Buffer.from(b)
  if (left.length !== right.length) {
    timingSafeEqual(left, left)
    return false
  }
  return timingSafeEqual(left, right)
}

/** A fresh 128-bit handle, base64url (22 characters). */
export function newHandle(): string {
  return randomBytes(16).toString('base64url')
}

/** Signs and checks the `requestState` of parked MRTR rounds for one proxy instance. */
export class RequestStateCodec {
  readonly #key: Buffer
  readonly #instance: string

  /**
   * @param key at least 32 bytes, the same on every instance that may receive a retry; `undefined` → a random
   *   key made once per process.
   * @param instance an identifier of this proxy instance (1–128 characters), sealed into every state.
   */
  constructor(key: Buffer | undefined, instance: string) {
    if (key !== undefined && !(key instanceof Uint8Array)) {
      throw new TypeError('requestState key must be a Buffer (at least 32 bytes), or undefined for a random per-process key')
    }
    if (key !== undefined && key.byteLength < MIN_REQUEST_STATE_KEY_BYTES) {
      throw new RangeError(
        `requestState key must be at least ${MIN_REQUEST_STATE_KEY_BYTES} bytes (got ${key.byteLength}); ` +
          'generate one with `openssl rand -base64 32`, or leave it unset for a random per-process key',
      )
    }
    if (typeof instance !== 'string' || instance.length === 0 || instance.length > MAX_ID_LENGTH) {
      throw new RangeError(`requestState instance id must be a string of 1 to ${MAX_ID_LENGTH} characters`)
    }
    // A copy: zeroing or reusing the caller's buffer later must not change the key.
    this.#key = key === undefined ? (processKey ??= randomBytes(MIN_REQUEST_STATE_KEY_BYTES)) : Buffer.from(key)
    this.#instance = instance
  }

  /** The instance id sealed into every state. */
  get instance(): string {
    return this.#instance
  }

  /**
   * A new state for a parked round: `v1.<b64url json>.<b64url HMAC-SHA256>`, the JSON holding h (handle),
   * exp (ms), b (an HMAC tag of the principal, never the principal itself), d (digest) and i (instance).
   * A new random handle unless one is given. Throws on arguments no state could be opened with.
   */
  seal(claims: Omit<StateClaims, 'instance' | 'handle'> & { handle?: string }): { state: string; handle: string } {
    const handle = claims.handle ?? newHandle()
    if (typeof handle !== 'string' || handle.length === 0 || handle.length > MAX_ID_LENGTH) {
      throw new RangeError(`requestState handle must be a string of 1 to ${MAX_ID_LENGTH} characters`)
    }
    if (!Number.isFinite(claims.expiresAt)) throw new RangeError('requestState expiresAt must be a finite number of ms since the epoch')
    if (typeof claims.principal !== 'string') throw new TypeError('requestState principal must be a string')
    if (typeof claims.digest !== 'string' || claims.digest.length > MAX_ID_LENGTH) {
      throw new TypeError('requestState digest must be a string (use requestDigest)')
    }
    const body = Buffer.from(
      JSON.stringify({ h: handle, exp: claims.expiresAt, b: this.#principalTag(claims.principal), d: claims.digest, i: this.#instance }),
    ).toString('base64url')
    const state = `${PREFIX}${body}.${this.#mac(body)}`
    return { state, handle }
  }

  /**
   * Checks a state a client sent back, in order: its shape; the MAC (first, in constant time); expiry;
   * principal; digest; instance. Returns the parked round's handle, or an opaque reason. Never throws,
   * whatever `state` is.
   */
  open(state: unknown, expect: { principal: string; digest: string; now?: number }): OpenedState {
    if (typeof state !== 'string' || state.length > MAX_REQUEST_STATE_LENGTH || !state.startsWith(PREFIX)) return refuse('malformed')
    const parts = state.slice(PREFIX.length).split('.')
    if (parts.length !== 2) return refuse('malformed')
    const [body = '', mac = ''] = parts
    if (!BASE64URL.test(body) || !BASE64URL.test(mac)) return refuse('malformed')
    // Compared as text, so a non-canonical encoding of the right bytes is a bad MAC too.
    if (!sameString(mac, this.#mac(body))) return refuse('bad-mac')

    // Past the MAC the body is JSON this codec wrote (or someone holding the key did): still checked, fail closed.
    const claims = decodeBody(body)
    if (claims === undefined) return refuse('malformed')
    const now = expect.now ?? Date.now()
    if (!(now < claims.exp)) return refuse('expired')
    if (typeof expect.principal !== 'string' || !sameString(claims.b, this.#principalTag(expect.principal))) return refuse('wrong-principal')
    if (typeof expect.digest !== 'string' || !sameString(claims.d, expect.digest)) return refuse('changed-request')
    if (claims.i !== this.#instance) return refuse('other-instance')
    return { ok: true, handle: claims.h, instance: claims.i }
  }

  #mac(body: string): string {
    return createHmac('sha256', this.#key).update(PREFIX + body).digest('base64url')
  }

  /** An HMAC tag of the principal, truncated to 128 bits: binds the state without revealing who holds it. */
  #principalTag(principal: string): string {
    return createHmac('sha256', this.#key).update(PRINCIPAL_LABEL + principal).digest().subarray(0, 16).toString('base64url')
  }
}

function refuse(reason: StateRefusal): OpenedState {
  return { ok: false, reason }
}

interface SealedBody {
  h: string
  exp: number
  b: string
  d: string
  i: string
}

/** The claims of a MAC-checked body, or undefined when it is not the JSON object `seal` writes. */
function decodeBody(body: string): SealedBody | undefined {
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(body, 'base64url')))
  } catch {
    return undefined
  }
  if (!isPlainObject(value)) return undefined
  const { h, exp, b, d, i } = value
  if (typeof h !== 'string' || typeof b !== 'string' || typeof d !== 'string' || typeof i !== 'string') return undefined
  if (typeof exp !== 'number' || !Number.isFinite(exp)) return undefined
  return { h, exp, b, d, i }
}

// ---------------------------------------------------------------------------------------------------
// The digest of a call

/** Marks text already in canonical form on the work stack of {@link requestDigest}. */
class Raw {
  constructor(readonly text: string) {}
}

/**
 * SHA-256 (base64url) of a canonical JSON of {method, name, uri, arguments} (those of name/uri/arguments that
 * `params` has): object keys sorted at every depth, so the same call gives the same digest whatever its key
 * order. Iterative, so deeply nested arguments cannot overflow the stack. `params` is parsed JSON.
 */
export function requestDigest(method: string, params: unknown): string {
  const call: Record<string, unknown> = { method }
  if (isPlainObject(params)) {
    for (const key of ['name', 'uri', 'arguments']) {
      if (Object.hasOwn(params, key) && params[key] !== undefined) call[key] = params[key]
    }
  }
  const hash = createHash('sha256')
  const stack: unknown[] = [call]
  while (stack.length > 0) {
    const item = stack.pop()
    if (item instanceof Raw) {
      hash.update(item.text)
    } else if (Array.isArray(item)) {
      // Pushed in reverse, so they pop in order: "[", a, ",", b, "]".
      stack.push(new Raw(']'))
      for (let index = item.length - 1; index >= 0; index--) {
        stack.push(item[index] === undefined ? null : item[index])
        if (index > 0) stack.push(new Raw(','))
      }
      stack.push(new Raw('['))
    } else if (isPlainObject(item)) {
      const keys = Object.keys(item)
        .filter((key) => item[key] !== undefined)
        .sort()
      stack.push(new Raw('}'))
      for (let index = keys.length - 1; index >= 0; index--) {
        const key = keys[index] as string
        stack.push(item[key])
        stack.push(new Raw(`${index > 0 ? ',' : ''}${JSON.stringify(key)}:`))
      }
      stack.push(new Raw('{'))
    } else if (typeof item === 'string' || typeof item === 'boolean') {
      hash.update(JSON.stringify(item))
    } else if (typeof item === 'number') {
      hash.update(Number.isFinite(item) ? JSON.stringify(item) : 'null')
    } else {
      hash.update('null')
    }
  }
  return hash.digest('base64url')
}
