import { describe, it, expect } from 'vitest'
import { JsonLineReader, LineSplitter } from '../src/framing/index.js'
import type { NoiseEvent } from '../src/framing/index.js'

function splitter(maxLineLength = 1024) {
  const lines: string[] = []
  const overflows: number[] = []
  const s = new LineSplitter({
    maxLineLength,
    onLine: (line) => lines.push(line),
    onOverflow: (length) => overflows.push(length),
  })
  return { s, lines, overflows }
}

function reader(maxLineLength = 1024) {
  const values: unknown[] = []
  const texts: string[] = []
  const noise: NoiseEvent[] = []
  const r = new JsonLineReader({
    maxLineLength,
    onValue: (value, text) => {
      values.push(value)
      texts.push(text)
    },
    onNoise: (event) => noise.push(event),
  })
  return { r, values, texts, noise }
}

/** Feeds `input` to a fresh reader in one go and ends it. */
function read(input: string | Buffer, maxLineLength = 1024) {
  const out = reader(maxLineLength)
  out.r.push(input)
  out.r.end()
  return out
}

describe('LineSplitter', () => {
  it('keeps a multibyte character split across chunks at every byte offset', () => {
    const text = 'a€b😀c\n€😀\n'
    const bytes = Buffer.from(text, 'utf8')
    for (let i = 0; i <= bytes.length; i++) {
      for (let j = i; j <= bytes.length; j++) {
        const { s, lines, overflows } = splitter()
        s.push(bytes.subarray(0, i))
        s.push(bytes.subarray(i, j))
        s.push(bytes.subarray(j))
        s.end()
        expect(lines).toEqual(['a€b😀c', '€😀'])
        expect(overflows).toEqual([])
      }
    }
  })

  it('feeds one byte at a time', () => {
    const bytes = Buffer.from('{"name":"€uro 😀"}\r\nsecond\n', 'utf8')
    const { s, lines } = splitter()
    for (const byte of bytes) s.push(Buffer.from([byte]))
    s.end()
    expect(lines).toEqual(['{"name":"€uro 😀"}', 'second'])
  })

  it('joins a line split across many chunks and splits several lines in one chunk', () => {
    const { s, lines } = splitter()
    s.push('hel')
    s.push('lo wo')
    s.push('rld\nfoo\nba')
    s.push('r\n')
    expect(lines).toEqual(['hello world', 'foo', 'bar'])
    expect(s.pendingLength).toBe(0)
  })

  it('strips \\r of \\r\\n, also when \\r and \\n arrive in different chunks', () => {
    const { s, lines } = splitter()
    s.push('one\r\ntwo\r')
    s.push('\nthree\r\n')
    s.end()
    expect(lines).toEqual(['one', 'two', 'three'])
  })

  it('keeps a \\r that is not at the end of the line', () => {
    const { s, lines } = splitter()
    s.push('a\rb\n')
    expect(lines).toEqual(['a\rb'])
  })

  it('skips empty lines', () => {
    const { s, lines } = splitter()
    s.push('\n\r\n\nx\n\n\r\ny\n')
    s.end()
    expect(lines).toEqual(['x', 'y'])
  })

  it('flushes an unterminated final line on end()', () => {
    const { s, lines } = splitter()
    s.push('first\nlast')
    expect(lines).toEqual(['first'])
    s.end()
    expect(lines).toEqual(['first', 'last'])
  })

  it('flushes a character cut at the end of input as U+FFFD', () => {
    const { s, lines } = splitter()
    s.push(Buffer.from('ok €', 'utf8').subarray(0, 5))
    s.end()
    expect(lines).toEqual(['ok \uFFFD'])
  })

  it('keeps lines of exactly maxLineLength, with or without \\r, and drops longer ones', () => {
    const { s, lines, overflows } = splitter(5)
    s.push('12345\n')
    s.push('1234')
    s.push('5\r')
    s.push('\n123456\n1234')
    s.push('56\r\n')
    s.push('ok\n')
    expect(lines).toEqual(['12345', '12345', 'ok'])
    expect(overflows).toEqual([6, 6])
  })

  it('drops an over-long line, reports it once with its length, and delivers the next line', () => {
    const { s, lines, overflows } = splitter(10)
    s.push('x'.repeat(7))
    s.push('x'.repeat(7))
    s.push('x'.repeat(7))
    s.push('\r')
    s.push('\nnext\n')
    expect(overflows).toEqual([21])
    expect(lines).toEqual(['next'])
  })

  it('drops an over-long line contained in a single chunk', () => {
    const { s, lines, overflows } = splitter(10)
    s.push(`before\n${'y'.repeat(50)}\r\nafter\n`)
    expect(lines).toEqual(['before', 'after'])
    expect(overflows).toEqual([50])
  })

  it('reports an over-long unterminated final line on end()', () => {
    const { s, lines, overflows } = splitter(10)
    s.push('z'.repeat(30))
    s.end()
    expect(lines).toEqual([])
    expect(overflows).toEqual([30])
  })

  it('keeps memory bounded by maxLineLength for a 10 MB line fed in 64 KiB chunks', () => {
    const max = 1024 * 1024
    const { s, lines, overflows } = splitter(max)
    const chunk = Buffer.alloc(64 * 1024, 0x61)
    const total = 10 * 1024 * 1024
    let maxPending = 0
    for (let sent = 0; sent < total; sent += chunk.length) {
      s.push(chunk)
      maxPending = Math.max(maxPending, s.pendingLength)
    }
    expect(maxPending).toBeLessThanOrEqual(max + 1)
    expect(s.pendingLength).toBe(0)
    s.push('\nsmall\n')
    expect(overflows).toEqual([total])
    expect(lines).toEqual(['small'])
  })

  it('joins a 1 MiB line arriving in 64 KiB chunks', () => {
    const max = 1024 * 1024
    const { s, lines, overflows } = splitter(max)
    const chunk = 'b'.repeat(64 * 1024)
    for (let i = 0; i < 16; i++) s.push(chunk)
    s.push('\n')
    expect(overflows).toEqual([])
    expect(lines).toHaveLength(1)
    expect(lines[0]).toHaveLength(max)
  })

  it('rejects an invalid maxLineLength with a code', () => {
    expect(() => new LineSplitter({ maxLineLength: 0, onLine: () => {}, onOverflow: () => {} })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTION' }),
    )
  })
})

describe('JsonLineReader', () => {
  it('forwards a JSON object with its exact text', () => {
    const { values, texts, noise } = read('{"hello":1}\n')
    expect(values).toEqual([{ hello: 1 }])
    expect(texts).toEqual(['{"hello":1}'])
    expect(noise).toEqual([])
  })

  it('forwards a batch as one array with its exact text', () => {
    const line = '[{"jsonrpc":"2.0","id":1,"result":{}},{"jsonrpc":"2.0","id":2,"result":{"a":[1,2]}}]'
    const { values, texts, noise } = read(`${line}\r\n`)
    expect(values).toEqual([
      [
        { jsonrpc: '2.0', id: 1, result: {} },
        { jsonrpc: '2.0', id: 2, result: { a: [1, 2] } },
      ],
    ])
    expect(texts).toEqual([line])
    expect(noise).toEqual([])
  })

  it('trims surrounding whitespace from the forwarded text', () => {
    const { values, texts, noise } = read('  \t{"a":1} \n')
    expect(values).toEqual([{ a: 1 }])
    expect(texts).toEqual(['{"a":1}'])
    expect(noise).toEqual([])
  })

  it('drops banner lines as not-json', () => {
    const { values, noise } = read('Secure MCP Filesystem Server running on stdio\nAllowed directories: /tmp\n{"id":1}\n')
    expect(values).toEqual([{ id: 1 }])
    expect(noise).toEqual([
      { reason: 'not-json', preview: 'Secure MCP Filesystem Server running on stdio', length: 45 },
      { reason: 'not-json', preview: 'Allowed directories: /tmp', length: 25 },
    ])
  })

  it('trims a log prefix, reports it and forwards the exact JSON text', () => {
    const { values, texts, noise } = read('LOG: {"jsonrpc":"2.0","id":7,"result":{"x":"{"}}\n')
    expect(values).toEqual([{ jsonrpc: '2.0', id: 7, result: { x: '{' } }])
    expect(texts).toEqual(['{"jsonrpc":"2.0","id":7,"result":{"x":"{"}}'])
    expect(noise).toEqual([{ reason: 'prefix-trimmed', preview: 'LOG: ', length: 5 }])
  })

  it('trims a prefix before a batch', () => {
    const { values, texts, noise } = read('out> [{"id":1},{"id":2}]\n')
    expect(values).toEqual([[{ id: 1 }, { id: 2 }]])
    expect(texts).toEqual(['[{"id":1},{"id":2}]'])
    expect(noise).toEqual([{ reason: 'prefix-trimmed', preview: 'out> ', length: 5 }])
  })

  it('does not take a [LEVEL] tag for JSON but still finds a following object', () => {
    const a = read('[INFO] x\n')
    expect(a.values).toEqual([])
    expect(a.noise).toEqual([{ reason: 'not-json', preview: '[INFO] x', length: 8 }])
    const b = read('[INFO] {"id":3}\n')
    expect(b.values).toEqual([{ id: 3 }])
    expect(b.texts).toEqual(['{"id":3}'])
    expect(b.noise).toEqual([{ reason: 'prefix-trimmed', preview: '[INFO] ', length: 7 }])
    const c = read('12:00:01 [INFO] {"id":4}\n')
    expect(c.values).toEqual([{ id: 4 }])
    expect(c.noise).toEqual([{ reason: 'prefix-trimmed', preview: '12:00:01 [INFO] ', length: 16 }])
    const d = read('batch: [ {"id":5} ]\n')
    expect(d.values).toEqual([[{ id: 5 }]])
    expect(d.texts).toEqual(['[ {"id":5} ]'])
  })

  it('reports broken JSON as not-json', () => {
    const { values, noise } = read('{"a":\n{"a":1} trailing\n')
    expect(values).toEqual([])
    expect(noise.map((e) => e.reason)).toEqual(['not-json', 'not-json'])
  })

  it('reports primitives as not-json', () => {
    const { values, noise } = read('42\n"str"\nnull\ntrue\n  \n"{x}"\n')
    expect(values).toEqual([])
    expect(noise.map((e) => [e.reason, e.preview])).toEqual([
      ['not-json', '42'],
      ['not-json', '"str"'],
      ['not-json', 'null'],
      ['not-json', 'true'],
      ['not-json', '  '],
      ['not-json', '"{x}"'],
    ])
  })

  it('reports invalid UTF-8 as invalid-utf8', () => {
    const bad = Buffer.concat([Buffer.from('{"a":'), Buffer.from([0xff, 0xfe]), Buffer.from('}\nok\xff\n', 'latin1')])
    const { values, noise } = read(bad)
    expect(values).toEqual([])
    expect(noise.map((e) => e.reason)).toEqual(['invalid-utf8', 'invalid-utf8'])
  })

  it('forwards JSON whose strings contain invalid UTF-8 (as U+FFFD)', () => {
    const bytes = Buffer.concat([Buffer.from('{"a":"x'), Buffer.from([0xc3]), Buffer.from('y"}\n')])
    const { values, noise } = read(bytes)
    expect(values).toEqual([{ a: 'x\uFFFDy' }])
    expect(noise).toEqual([])
  })

  it('reports an over-long line as line-too-long and reads on', () => {
    const { r, values, noise } = reader(16)
    r.push(`{"a":"${'x'.repeat(40)}"}\n`)
    r.push('{"b":2}\n')
    r.end()
    expect(noise).toEqual([{ reason: 'line-too-long', preview: '', length: 48, edges: { head: `{"a":"${'x'.repeat(40)}"}`, tail: `{"a":"${'x'.repeat(40)}"}` } }])
    expect(values).toEqual([{ b: 2 }])
  })

  it('caps the preview at 200 characters', () => {
    const { noise } = read(`${'n'.repeat(500)}\n`)
    expect(noise).toHaveLength(1)
    expect(noise[0]?.preview).toBe('n'.repeat(200))
    expect(noise[0]?.length).toBe(500)
  })

  it('delivers a final unterminated JSON line on end()', () => {
    const { r, values } = reader()
    r.push('{"id":1}\n{"id"')
    r.push(':2}')
    expect(values).toEqual([{ id: 1 }])
    r.end()
    expect(values).toEqual([{ id: 1 }, { id: 2 }])
  })
})

describe('LineSplitter edges of a dropped line', () => {
  it('keep the id written last even when the line ends in a short final chunk', () => {
    const dropped: Array<{ length: number; tail: string }> = []
    const splitter = new LineSplitter({ maxLineLength: 1000, onLine: () => {}, onOverflow: (length, edges) => dropped.push({ length, tail: edges.tail }) })
    const body = `{"result":{"text":"${'x'.repeat(960)}"},"jsonrpc":"2.0","id":`
    splitter.push(body)
    splitter.push('7}\n')
    expect(dropped).toHaveLength(1)
    expect(dropped[0]!.tail.endsWith('"jsonrpc":"2.0","id":7}')).toBe(true)
  })

  it('keep both edges across many chunks of a long line', () => {
    const dropped: Array<{ head: string; tail: string }> = []
    const splitter = new LineSplitter({ maxLineLength: 100, onLine: () => {}, onOverflow: (_length, edges) => dropped.push(edges) })
    splitter.push('{"id":"first",')
    for (let i = 0; i < 50; i++) splitter.push('"pad":"yyyyyyyyyy",')
    splitter.push('"id":"last"}')
    splitter.push('\n')
    expect(dropped[0]!.head.startsWith('{"id":"first",')).toBe(true)
    expect(dropped[0]!.tail.endsWith('"id":"last"}')).toBe(true)
  })
})

describe('JsonLineReader and raw carriage returns', () => {
  it('removes a CR used as JSON whitespace, so the text stays one SSE data line', () => {
    const texts: string[] = []
    const reader = new JsonLineReader({ maxLineLength: 1000, onValue: (_value, text) => texts.push(text), onNoise: () => {} })
    reader.push('{"jsonrpc":"2.0",\r"id":1,\r\r"result":{"text":"a\\rb"}}\n')
    expect(texts).toEqual(['{"jsonrpc":"2.0","id":1,"result":{"text":"a\\rb"}}'])
  })
})
