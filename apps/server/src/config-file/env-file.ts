import { readFileSync } from 'node:fs'
import { UsageError } from '../parse-args.js'

const KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/

/**
 * Read a VS Code `envFile`: a missing or unreadable file is a mistake in the config (VS Code refuses to start
 * the server too), reported with `where` ("FILE: server X, envFile").
 */
export function readEnvFile(path: string, where: string): Record<string, string> {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new UsageError(`${where}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`)
  }
  return parseEnvFile(text, path)
}

/**
 * The dotenv lines VS Code and Cursor accept: `KEY=VALUE`, `export KEY=VALUE`, `#` comments, blank lines,
 * 'single-quoted' (literal) and "double-quoted" values (`\n`, `\r`, `\t`, `\"`, `\\` escapes), a ` #` comment
 * after an unquoted value. Nothing is expanded; a value spans one line. The last of a repeated key wins.
 */
export function parseEnvFile(text: string, file: string): Record<string, string> {
  const values: Record<string, string> = {}
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) return
    const bad = (why: string): UsageError => new UsageError(`${file}:${index + 1}: ${why}`)
    const assignment = line.replace(/^export\s+/, '')
    const eq = assignment.indexOf('=')
    // Never quote the line: it may hold a secret (a key and its value with the `=` forgotten).
    if (eq === -1) throw bad('expected KEY=VALUE (the line has no "=")')
    const key = assignment.slice(0, eq).trim()
    if (!KEY.test(key)) throw bad('the part before "=" is not a variable name')
    values[key] = value(assignment.slice(eq + 1).trim(), bad)
  })
  return values
}

function value(text: string, bad: (why: string) => UsageError): string {
  const quote = text[0]
  if (quote !== '"' && quote !== "'") return text.replace(/\s+#.*$/, '')
  let end = 1
  while (end < text.length && text[end] !== quote) end += quote === '"' && text[end] === '\\' ? 2 : 1
  if (end >= text.length) throw bad(`the ${quote} quote is not closed on this line`)
  const rest = text.slice(end + 1).trim()
  if (rest !== '' && !rest.startsWith('#')) throw bad('unexpected text after the closing quote')
  const inner = text.slice(1, end)
  if (quote === "'") return inner
  const escapes: Record<string, string> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\' }
  return inner.replace(/\\(.)/g, (whole, c: string) => escapes[c] ?? whole)
}
