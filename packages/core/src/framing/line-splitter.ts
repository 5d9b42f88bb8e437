import { StringDecoder } from 'node:string_decoder'

export interface LineSplitterOptions {
  /** Longest line kept, in characters (UTF-16 code units) excluding the terminator. */
  maxLineLength: number
  onLine: (line: string) => void
  /**
   * A line longer than maxLineLength was dropped; `length` = characters seen for it (at least
   * maxLineLength+1, terminator excluded). Called once per dropped line, when its end (or end of
   * input) is reached.
   */
  onOverflow: (length: number, edges: LineEdges) => void
}

/** The first and last characters of a dropped line (at most EDGE_LENGTH each), kept to tell what it was. */
export interface LineEdges {
  head: string
  tail: string
}

/** Characters kept of each end of a dropped line. */
export const EDGE_LENGTH = 256

const LF = '\n'
const CR = 13

function stripCR(text: string): string {
  return text.charCodeAt(text.length - 1) === CR ? text.slice(0, -1) : text
}

// Splits a UTF-8 byte stream into lines (`\n` or `\r\n`), skipping empty lines and dropping over-long
// ones without ever buffering much more than maxLineLength characters.
export class LineSplitter {
  readonly #decoder = new StringDecoder('utf8')
  readonly #max: number
  readonly #onLine: (line: string) => void
  readonly #onOverflow: (length: number, edges: LineEdges) => void
  /** Pieces of the current unterminated line, joined once when its `\n` arrives. */
  #parts: string[] = []
  #pending = 0
  /** While > 0 the current line is over-long: its characters are counted, not kept. */
  #dropped = 0
  #droppedEndsWithCR = false
  #droppedHead = ''
  #droppedTail = ''

  constructor(options: LineSplitterOptions) {
    const max = options.maxLineLength
    if (!Number.isSafeInteger(max) || max < 1) {
      throw Object.assign(new RangeError(`maxLineLength must be a positive integer, got ${String(max)}`), {
        code: 'ERR_INVALID_OPTION',
      })
    }
    this.#max = max
    this.#onLine = options.onLine
    this.#onOverflow = options.onOverflow
  }

  /** Characters currently buffered for the unterminated line (0 while an over-long line is being skipped). */
  get pendingLength(): number {
    return this.#pending
  }

  // Feeds bytes (decoded as UTF-8, a character split across chunks is kept) or already-decoded text.
  push(chunk: Buffer | string): void {
    const text = typeof chunk === 'string' ? chunk : this.#decoder.write(chunk)
    if (text.length > 0) this.#feed(text)
  }

  // Ends the input: flushes the decoder and delivers (or reports) a final unterminated line.
  end(): void {
    const rest = this.#decoder.end()
    if (rest.length > 0) this.#feed(rest)
    if (this.#dropped > 0) {
      const length = this.#dropped - (this.#droppedEndsWithCR ? 1 : 0)
      this.#dropped = 0
      this.#onOverflow(length, this.#droppedEdges(''))
    } else if (this.#pending > 0) {
      const line = this.#take('')
      this.#emit(line)
    }
  }

  #feed(text: string): void {
    let start = 0
    let nl = text.indexOf(LF)
    while (nl !== -1) {
      const segment = nl - start
      if (this.#dropped > 0) {
        const length = this.#dropped + segment - (this.#endsWithCR(text, start, nl) ? 1 : 0)
        this.#dropped = 0
        this.#onOverflow(length, this.#droppedEdges(text.slice(Math.max(start, nl - EDGE_LENGTH - 1), nl)))
      } else if (this.#pending + segment > this.#max + 1) {
        // Too long even after stripping a `\r`: report without building the string.
        const length = this.#pending + segment - (text.charCodeAt(nl - 1) === CR ? 1 : 0)
        const head = stripCR(this.#headOf(text, start, nl))
        const lineTail = stripCR(this.#tailOf(text, start, nl)).slice(-EDGE_LENGTH)
        this.#parts.length = 0
        this.#pending = 0
        this.#onOverflow(length, { head, tail: lineTail })
      } else if (this.#pending === 0) {
        this.#emit(text.slice(start, nl))
      } else {
        this.#emit(this.#take(text.slice(start, nl)))
      }
      start = nl + 1
      nl = text.indexOf(LF, start)
    }
    const tail = text.length - start
    if (tail === 0) return
    if (this.#dropped > 0) {
      this.#dropped += tail
      this.#droppedEndsWithCR = text.charCodeAt(text.length - 1) === CR
      this.#keepTail(text.slice(Math.max(start, text.length - EDGE_LENGTH - 1)))
    } else if (this.#pending + tail > this.#max + 1) {
      // +1 leaves room for the `\r` of a `\r\n` that has not arrived yet.
      this.#droppedHead = this.#headOf(text, start, text.length)
      this.#droppedTail = this.#tailOf(text, start, text.length)
      this.#dropped = this.#pending + tail
      this.#droppedEndsWithCR = text.charCodeAt(text.length - 1) === CR
      this.#parts.length = 0
      this.#pending = 0
    } else {
      this.#parts.push(start === 0 ? text : text.slice(start))
      this.#pending += tail
    }
  }

  /** The first EDGE_LENGTH characters of the line made of the buffered parts and `text` from `start` to `end`. */
  #headOf(text: string, start: number, end: number): string {
    let head = ''
    for (const part of this.#parts) {
      head += part.slice(0, EDGE_LENGTH - head.length)
      if (head.length >= EDGE_LENGTH) return head
    }
    return head + text.slice(start, Math.min(end, start + EDGE_LENGTH - head.length))
  }

  /** The last EDGE_LENGTH + 1 characters of the buffered parts followed by `text` from `start` to `end`. */
  #tailOf(text: string, start: number, end: number): string {
    let tail = text.slice(Math.max(start, end - EDGE_LENGTH - 1), end)
    for (let i = this.#parts.length - 1; i >= 0 && tail.length <= EDGE_LENGTH; i--) {
      const part = this.#parts[i]!
      tail = part.slice(Math.max(0, part.length - (EDGE_LENGTH + 1 - tail.length))) + tail
    }
    return tail
  }

  #keepTail(piece: string): void {
    this.#droppedTail = (this.#droppedTail + piece).slice(-EDGE_LENGTH - 1)
  }

  /** The edges of the line being dropped, ending with `last`; resets them. */
  #droppedEdges(last: string): LineEdges {
    this.#keepTail(last)
    const edges = { head: this.#droppedHead, tail: stripCR(this.#droppedTail).slice(-EDGE_LENGTH) }
    this.#droppedHead = ''
    this.#droppedTail = ''
    return edges
  }

  #endsWithCR(text: string, start: number, nl: number): boolean {
    return nl > start ? text.charCodeAt(nl - 1) === CR : this.#droppedEndsWithCR
  }

  /** Joins the buffered parts with `last` and resets the buffer. */
  #take(last: string): string {
    if (last.length > 0) this.#parts.push(last)
    const line = this.#parts.length === 1 ? (this.#parts[0] ?? '') : this.#parts.join('')
    this.#parts.length = 0
    this.#pending = 0
    return line
  }

  #emit(raw: string): void {
    const line = raw.charCodeAt(raw.length - 1) === CR ? raw.slice(0, -1) : raw
    if (line.length > this.#max) this.#onOverflow(line.length, { head: line.slice(0, EDGE_LENGTH), tail: line.slice(-EDGE_LENGTH) })
    else if (line.length > 0) this.#onLine(line)
  }
}
