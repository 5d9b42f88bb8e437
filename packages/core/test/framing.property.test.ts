import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { JsonLineReader } from '../src/framing/index.js'
import type { NoiseEvent } from '../src/framing/index.js'

/** Cuts `bytes` at the given positions (taken modulo its length + 1). */
function chunk(bytes: Uint8Array, cuts: number[]): Buffer[] {
  const positions = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
  const chunks: Buffer[] = []
  let start = 0
  for (const p of positions) {
    chunks.push(Buffer.from(bytes.subarray(start, p)))
    start = p
  }
  chunks.push(Buffer.from(bytes.subarray(start)))
  return chunks
}

function collect(chunks: Buffer[], maxLineLength = 1 << 20) {
  const values: unknown[] = []
  const texts: string[] = []
  const noise: NoiseEvent[] = []
  const reader = new JsonLineReader({
    maxLineLength,
    onValue: (value, text) => {
      values.push(value)
      texts.push(text)
    },
    onNoise: (event) => noise.push(event),
  })
  for (const c of chunks) reader.push(c)
  reader.end()
  return { values, texts, noise }
}

const jsonObject = fc.dictionary(fc.string({ unit: 'binary', maxLength: 8 }), fc.jsonValue({ stringUnit: 'binary', maxDepth: 3 }), {
  maxKeys: 5,
})
/** A message: an object, or a batch (array of objects). */
const message = fc.oneof({ arbitrary: jsonObject, weight: 4 }, { arbitrary: fc.array(jsonObject, { maxLength: 4 }), weight: 1 })
/** A log line that cannot be mistaken for JSON (no `{` or `[`, no line break). */
const noiseLine = fc
  .string({ unit: 'binary', minLength: 1, maxLength: 40 })
  .filter((s) => !/[{[\r\n]/.test(s))
const terminator = fc.constantFrom('\n', '\r\n')
const cuts = fc.array(fc.nat(), { maxLength: 12 })

describe('JsonLineReader properties', () => {
  it('delivers exactly the serialized messages, in order, however the bytes are chunked', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(message, terminator, fc.option(fc.tuple(noiseLine, terminator), { freq: 3 })), {
          maxLength: 12,
        }),
        fc.boolean(),
        cuts,
        (items, lastTerminated, cutPoints) => {
          let text = ''
          const expected: unknown[] = []
          const expectedTexts: string[] = []
          items.forEach(([value, eol, noise], i) => {
            if (noise !== null) text += noise[0] + noise[1]
            const json = JSON.stringify(value)
            expected.push(JSON.parse(json))
            expectedTexts.push(json)
            text += json + (i === items.length - 1 && !lastTerminated ? '' : eol)
          })
          const out = collect(chunk(Buffer.from(text, 'utf8'), cutPoints))
          expect(out.values).toEqual(expected)
          expect(out.texts).toEqual(expectedTexts)
          expect(out.noise.every((e) => e.reason === 'not-json' || e.reason === 'invalid-utf8')).toBe(true)
        },
      ),
      { numRuns: 200 },
    )
  })

  it('never throws on arbitrary bytes and only delivers objects or arrays', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        cuts,
        fc.integer({ min: 1, max: 64 }),
        (bytes, cutPoints, maxLineLength) => {
          const out = collect(chunk(bytes, cutPoints), maxLineLength)
          for (const [i, value] of out.values.entries()) {
            expect(typeof value === 'object' && value !== null).toBe(true)
            expect(JSON.parse(out.texts[i] ?? '')).toEqual(value)
            expect((out.texts[i] ?? '').length).toBeLessThanOrEqual(maxLineLength)
          }
        },
      ),
      { numRuns: 200 },
    )
  })

  it('never throws on bytes made of JSON fragments and noise', () => {
    const fragment = fc.constantFrom('{', '}', '[', ']', '"', ':', ',', '1', 'a', ' ', '\n', '\r', '€', '\\', 'null')
    fc.assert(
      fc.property(fc.array(fragment, { maxLength: 80 }), cuts, (parts, cutPoints) => {
        const out = collect(chunk(Buffer.from(parts.join(''), 'utf8'), cutPoints))
        for (const value of out.values) expect(typeof value === 'object' && value !== null).toBe(true)
      }),
      { numRuns: 200 },
    )
  })
})
