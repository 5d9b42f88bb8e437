import { UsageError } from '../parse-args.js'

/**
 * JSON with comments, as VS Code writes it: blank out `//` and `/* *\/` comments and trailing commas before
 * `}` or `]`, outside strings. Every removed character becomes a space (newlines stay), so a position in
 * the result is the same position in the original and JSON.parse's error offsets point into the file.
 * A leading byte-order mark becomes a space too. Throws JsoncCommentError on an unterminated block comment.
 */
export function stripJsonc(text: string): string {
  const out = text.split('')
  const blank = (from: number, to: number): void => {
    for (let k = from; k < to; k++) if (out[k] !== '\n' && out[k] !== '\r') out[k] = ' '
  }
  /** The last character that is not blank, a comment or inside a string (a string counts as its `"`). */
  let last = ''
  /** Index of a comma after a value, with only blanks and comments since: trailing if `}` or `]` comes next. */
  let comma = -1
  let i = 0
  if (text.startsWith('\uFEFF')) blank(0, (i = 1))
  while (i < text.length) {
    const c = text[i]!
    if (c === '/' && text[i + 1] === '/') {
      const end = text.indexOf('\n', i)
      const stop = end === -1 ? text.length : end
      blank(i, stop)
      i = stop
      continue
    }
    if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2)
      if (end === -1) throw new JsoncCommentError(i)
      blank(i, end + 2)
      i = end + 2
      continue
    }
    if (c === '"') {
      i++
      while (i < text.length && text[i] !== '"' && text[i] !== '\n') i += text[i] === '\\' ? 2 : 1
    }
    i++
    if (/\s/.test(c)) continue
    if ((c === '}' || c === ']') && comma !== -1) blank(comma, comma + 1)
    // Only a comma after a value can be trailing: `{,}` and `[1,,]` are left for JSON.parse to refuse.
    comma = c === ',' && !['{', '[', ',', ':'].includes(last) ? i - 1 : -1
    last = c
  }
  return out.join('')
}

/** An unterminated block comment, at `offset` of the text. */
class JsoncCommentError extends Error {
  constructor(readonly offset: number) {
    super('unterminated /* comment')
  }
}

/**
 * Parse a JSONC file's text; a syntax error becomes a UsageError naming the file and, when the offset is
 * known (Node 20 reports most but not all), its line and column.
 */
export function parseJsonc(text: string, file: string): unknown {
  let stripped: string
  try {
    stripped = stripJsonc(text)
  } catch (error) {
    if (error instanceof JsoncCommentError) throw syntaxError(file, text, error.message, error.offset)
    throw error
  }
  try {
    return JSON.parse(stripped)
  } catch (error) {
    const message = (error as Error).message
    const position = /at position (\d+)/.exec(message)?.[1]
    if (position !== undefined) throw syntaxError(file, text, message.replace(/ in JSON at position \d+.*$/s, ''), Number(position))
    if (message.includes('end of JSON input')) throw syntaxError(file, text, 'unexpected end of the file', text.length)
    throw syntaxError(file, text, message.replace(/, ".*" is not valid JSON$/s, ''), undefined)
  }
}

function syntaxError(file: string, text: string, message: string, offset: number | undefined): UsageError {
  if (offset === undefined) return new UsageError(`${file}: not valid JSON: ${message}`)
  const lines = text.slice(0, offset).split('\n')
  return new UsageError(`${file}:${lines.length}:${lines.at(-1)!.length + 1}: not valid JSON: ${message}`)
}
