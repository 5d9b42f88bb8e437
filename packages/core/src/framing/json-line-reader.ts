import { LineSplitter, type LineEdges } from './line-splitter.js'

export type NoiseReason = 'not-json' | 'prefix-trimmed' | 'line-too-long' | 'invalid-utf8'

/** Output that was not (entirely) a JSON message. */
export interface NoiseEvent {
  reason: NoiseReason
  /** At most 200 chars of the offending line (for 'prefix-trimmed': of the prefix; for 'line-too-long': ''), for logs. */
  preview: string
  /** Characters dropped: the whole line, or the prefix for 'prefix-trimmed'. */
  length: number
  /** For 'line-too-long': its first and last characters (to find the id of an answer). */
  edges?: LineEdges
}

export interface JsonLineReaderOptions {
  /** Longest line kept, in characters (UTF-16 code units) excluding the terminator. */
  maxLineLength: number
  /**
   * A parsed JSON object or array. `text` is the exact JSON text (a prefix before the first `{` or
   * `[`, and surrounding whitespace, already trimmed), so it can be forwarded without re-serializing.
   */
  onValue: (value: unknown, text: string) => void
  onNoise: (event: NoiseEvent) => void
}

const PREVIEW_LENGTH = 200
const OPEN_BRACE = 0x7b // {
const OPEN_BRACKET = 0x5b // [
const CLOSE_BRACKET = 0x5d // ]
const REPLACEMENT_CHAR = '\uFFFD'

function isJsonWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0d || code === 0x0a
}

/** Parses `text`, returning it only if it is a JSON object or array (primitives count as noise). */
function parseStructured(text: string): object | undefined {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  return typeof value === 'object' && value !== null ? value : undefined
}

/** Index of the first `{`, or of a `[` that opens an array of objects or an empty array; -1 if none. */
function findJsonStart(line: string, from: number): number {
  const brace = line.indexOf('{', from)
  let bracket = line.indexOf('[', from)
  while (bracket !== -1 && (brace === -1 || bracket < brace)) {
    let next = bracket + 1
    while (next < line.length && isJsonWhitespace(line.charCodeAt(next))) next++
    const code = line.charCodeAt(next)
    if (code === OPEN_BRACE || code === CLOSE_BRACKET) return bracket
    bracket = line.indexOf('[', bracket + 1)
  }
  return brace
}

// A raw CR in valid JSON can only be whitespace (inside a string it must be escaped). It is removed:
// the text is forwarded as one SSE `data:` line, and SSE takes a CR for the end of a line.
function withoutCR(text: string): string {
  return text.includes('\r') ? text.replaceAll('\r', '') : text
}

function preview(text: string): string {
  if (text.length <= PREVIEW_LENGTH) return text
  // Do not cut a surrogate pair in half.
  const code = text.charCodeAt(PREVIEW_LENGTH - 1)
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? PREVIEW_LENGTH - 1 : PREVIEW_LENGTH)
}

// Reads newline-delimited JSON from a child's stdout: delivers each JSON object or array (a batch stays
// one array) with its exact text, and reports everything else (banners, log lines, bad bytes) as noise.
export class JsonLineReader {
  readonly #splitter: LineSplitter
  readonly #onValue: (value: unknown, text: string) => void
  readonly #onNoise: (event: NoiseEvent) => void

  constructor(options: JsonLineReaderOptions) {
    this.#onValue = options.onValue
    this.#onNoise = options.onNoise
    this.#splitter = new LineSplitter({
      maxLineLength: options.maxLineLength,
      onLine: (line) => {
        this.#line(line)
      },
      onOverflow: (length, edges) => {
        this.#onNoise({ reason: 'line-too-long', preview: '', length, edges })
      },
    })
  }

  /** Characters currently buffered for an unterminated line. */
  get pendingLength(): number {
    return this.#splitter.pendingLength
  }

  // Feeds a chunk of the child's output.
  push(chunk: Buffer | string): void {
    this.#splitter.push(chunk)
  }

  // Ends the input, delivering a final unterminated line if any.
  end(): void {
    this.#splitter.end()
  }

  #line(line: string): void {
    let first = 0
    while (first < line.length && isJsonWhitespace(line.charCodeAt(first))) first++
    if (first === line.length) {
      this.#noise('not-json', line)
      return
    }
    let last = line.length
    while (isJsonWhitespace(line.charCodeAt(last - 1))) last--
    const code = line.charCodeAt(first)
    if (code === OPEN_BRACE || code === OPEN_BRACKET) {
      const text = first === 0 && last === line.length ? line : line.slice(first, last)
      const value = parseStructured(text)
      if (value !== undefined) {
        this.#onValue(value, withoutCR(text))
        return
      }
    }
    const start = findJsonStart(line, first + 1)
    if (start !== -1 && start < last) {
      const text = line.slice(start, last)
      const value = parseStructured(text)
      if (value !== undefined) {
        const prefix = line.slice(0, start)
        this.#onNoise({ reason: 'prefix-trimmed', preview: preview(prefix), length: prefix.length })
        this.#onValue(value, withoutCR(text))
        return
      }
    }
    this.#noise(line.includes(REPLACEMENT_CHAR) ? 'invalid-utf8' : 'not-json', line)
  }

  #noise(reason: NoiseReason, line: string): void {
    this.#onNoise({ reason, preview: preview(line), length: line.length })
  }
}
