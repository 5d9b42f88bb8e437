import type { LineEdges } from '../framing/line-splitter.js'
import type { JsonRpcId } from '../jsonrpc/schemas.js'

/** What the edges of a dropped line say about it. */
export type OversizedLine = { kind: 'other' } | { kind: 'response'; id: JsonRpcId | undefined }

const VALUE = String.raw`("(?:[^"\\]|\\.)*"|-?\d+)`
// `{"jsonrpc":"2.0","id":7,…` or `{"id":7,…`: the id as the first or second key (Python SDK, most servers).
const ID_FIRST = new RegExp(String.raw`^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*${VALUE}`)
// `…,"jsonrpc":"2.0","id":7}` or `…,"id":7,"jsonrpc":"2.0"}`: the id as the last key (TypeScript SDK).
const ID_LAST = new RegExp(String.raw`"id"\s*:\s*${VALUE}\s*(?:,\s*"jsonrpc"\s*:\s*"2\.0"\s*)?\}\s*$`)
// A JSON object whose first key is one an answer starts with (`{"result":…` is how the TypeScript SDK
// writes one); anything else (a notification, `{"method":…`, or a line that is not JSON) is not an answer.
const ANSWER_START = /^\s*\{\s*"(?:jsonrpc|id|result|error)"\s*:/
// A top-level "method" key before any nested object: a request or a notification.
const METHOD_FIRST = /^\s*\{[^{[]*?"method"\s*:/

function parseId(raw: string | undefined): JsonRpcId | undefined {
  if (raw === undefined) return undefined
  try {
    return JSON.parse(raw) as JsonRpcId
  } catch {
    return undefined
  }
}

/**
 * Read the id of an over-long line from its edges, without the line itself: an answer whose id is its
 * first or last key (as the SDKs write them) names the request that waits for it.
 */
export function readOversizedLine(edges: LineEdges): OversizedLine {
  if (!ANSWER_START.test(edges.head) || METHOD_FIRST.test(edges.head)) return { kind: 'other' }
  const id = parseId(ID_FIRST.exec(edges.head)?.[1]) ?? parseId(ID_LAST.exec(edges.tail)?.[1])
  return { kind: 'response', id }
}
