// `Mcp-Param-*` headers (2026-07-28, "Custom Headers from Tool Parameters"): a tool marks arguments with
// `x-mcp-header` so intermediaries can route on them; the client mirrors each value into a header, and the
// server that executes the body must prove the two agree. A legacy child knows nothing of this, so the
// proxy checks on its behalf against the tool's inputSchema from `tools/list`.
import type { IncomingHttpHeaders } from 'node:http'
import { decodeHeaderValue, headerValue } from './standard-headers.js'

/** One `x-mcp-header` annotation: where its value sits in `arguments`, its header name, its JSON Schema type. */
interface Declaration {
  path: readonly string[]
  name: string
  type: string | undefined
}

/** RFC 9110 §5.1 `token`: what a header name may be. Anything else could not be sent (nor allowed by CORS). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
/** The spec permits string, integer and boolean; `number` is forbidden but still checked, as the SDK does. */
const CHECKED_TYPES: ReadonlySet<string> = new Set(['string', 'integer', 'boolean', 'number'])
/** Keywords an annotation must not sit under: only a chain of `properties` is statically reachable. */
const UNREACHABLE_KEYWORDS = [
  'items', 'prefixItems', 'contains', 'additionalProperties', 'unevaluatedProperties', 'unevaluatedItems',
  'propertyNames', 'patternProperties', 'dependentSchemas', 'oneOf', 'anyOf', 'allOf', 'not', 'if', 'then',
  'else', '$defs', 'definitions',
] as const
/** Of those, the ones whose value maps names to subschemas (rather than being one subschema or a list). */
const NAMED_SUBSCHEMAS: ReadonlySet<string> = new Set(['patternProperties', 'dependentSchemas', '$defs', 'definitions'])
// Strict decimal for the header side of a numeric comparison, so `0x2a`, `4.2e1` or `' 42'` never equal 42.
const DECIMAL = /^-?\d+(\.\d+)?$/

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The subschemas under one non-`properties` keyword, whatever shape the keyword takes. */
function subschemasOf(keyword: string, value: unknown): unknown[] {
  if (Array.isArray(value)) return value
  return NAMED_SUBSCHEMAS.has(keyword) && isObject(value) ? Object.values(value) : [value]
}

/**
 * The annotations of one inputSchema, or undefined when the schema is invalid for `x-mcp-header` (an
 * annotation off the `properties` chain or on the root, a name that is not a token, a non-primitive type, a
 * case-insensitive duplicate). The spec makes such a tool invalid and clients drop it, so, like the SDK, we
 * check no header for it and advertise none.
 */
function declarationsOf(inputSchema: unknown): Declaration[] | undefined {
  const found: Declaration[] = []
  const seen = new Set<string>()
  let valid = true
  const visit = (node: unknown, path: readonly string[], reachable: boolean): void => {
    if (!valid || !isObject(node)) return
    if ('x-mcp-header' in node) {
      const name = node['x-mcp-header']
      const type = typeof node.type === 'string' ? node.type : undefined
      if (!reachable || path.length === 0 || typeof name !== 'string' || !TOKEN.test(name) ||
        type === undefined || !CHECKED_TYPES.has(type) || seen.has(name.toLowerCase())) {
        valid = false
        return
      }
      seen.add(name.toLowerCase())
      found.push({ path, name, type })
    }
    if (isObject(node.properties)) {
      for (const [key, child] of Object.entries(node.properties)) visit(child, [...path, key], reachable)
    }
    for (const keyword of UNREACHABLE_KEYWORDS) {
      if (node[keyword] === undefined) continue
      for (const sub of subschemasOf(keyword, node[keyword])) visit(sub, [...path, `<${keyword}>`], false)
    }
  }
  visit(inputSchema, [], true)
  return valid ? found : undefined
}

/** The value at a `properties` path in `arguments`, or undefined if any step is missing. */
function valueAt(args: unknown, path: readonly string[]): unknown {
  let node = args
  for (const key of path) {
    if (!isObject(node) || !Object.hasOwn(node, key)) return undefined
    node = node[key]
  }
  return node
}

/** A body value as its header text (decimal, `true`/`false`, the string itself); undefined for anything else. */
function asHeaderText(value: unknown): string | undefined {
  if (typeof value === 'string') return value
  if (typeof value === 'boolean') return value ? 'true' : 'false'
  if (typeof value === 'number' && Number.isFinite(value) && (!Number.isInteger(value) || Number.isSafeInteger(value))) {
    return String(value)
  }
  return undefined
}

/** Header and body agree: numerically for integer (and number) types, so `42.0` equals 42; otherwise as text. */
function agrees(declaration: Declaration, decoded: string, bodyValue: unknown, bodyText: string): boolean {
  const numeric = (declaration.type === 'integer' || declaration.type === 'number') && typeof bodyValue === 'number'
  if (numeric && DECIMAL.test(decoded)) return Number(decoded) === bodyValue
  return decoded === bodyText
}

/** One annotation against the body: undefined when fine, else why not. */
function checkDeclaration(declaration: Declaration, args: unknown, headers: IncomingHttpHeaders): string | undefined {
  const header = `Mcp-Param-${declaration.name}`
  const at = declaration.path.join('.')
  const raw = headerValue(headers, header)
  const bodyValue = valueAt(args, declaration.path)
  if (bodyValue === undefined || bodyValue === null) {
    // The client must omit the header here; one that is sent anyway vouches for a value the body does not
    // hold, which is exactly the header/body split the check exists to prevent.
    return raw === undefined ? undefined : `the ${header} header is present but the body carries no value at ${at}`
  }
  const bodyText = asHeaderText(bodyValue)
  // An object where the schema says primitive (or an unsafe integer) cannot be mirrored; the child's own
  // argument validation answers that, as the SDK leaves it to dispatch.
  if (bodyText === undefined) return undefined
  if (raw === undefined) return `the body carries ${at}=${JSON.stringify(bodyValue)} but the ${header} header is absent`
  const decoded = decodeHeaderValue(raw)
  if (decoded === undefined) return `the ${header} header carries a malformed =?base64?…?= value`
  if (!agrees(declaration, decoded, bodyValue, bodyText)) {
    return `the ${header} header says ${JSON.stringify(decoded)} but the body carries ${at}=${JSON.stringify(bodyValue)}`
  }
  return undefined
}

/**
 * Check the Mcp-Param-* headers of a tools/call against the tool's inputSchema (properties carrying
 * `x-mcp-header`): a present, non-null argument value at a statically reachable `properties` path needs its
 * header with an equal value (integers compare numerically so 42 == 42.0, booleans as true/false, strings
 * after sentinel decoding); a header given for a value the body lacks, or a mismatch, fails. Returns
 * undefined when fine, else the reason (answered 400 -32020).
 */
export function checkParamHeaders(inputSchema: unknown, args: unknown, headers: IncomingHttpHeaders): string | undefined {
  for (const declaration of declarationsOf(inputSchema) ?? []) {
    const reason = checkDeclaration(declaration, args, headers)
    if (reason !== undefined) return reason
  }
  return undefined
}

/**
 * The lower-case `mcp-param-*` header names the tools declare, for the CORS allow list: a browser client
 * cannot send a header the preflight did not allow, and a prefix cannot be wildcarded there. Tools whose
 * annotations are invalid contribute nothing, so no non-token ever reaches a response header.
 */
export function paramHeaderNames(tools: readonly unknown[]): string[] {
  const names = new Set<string>()
  for (const tool of tools) {
    if (!isObject(tool)) continue
    for (const declaration of declarationsOf(tool.inputSchema) ?? []) names.add(`mcp-param-${declaration.name.toLowerCase()}`)
  }
  return [...names]
}
