// Accept header checks, by media range (RFC 9110).

// Does `accept` list `type` with a non-zero q, by name or (with `wildcards`) as `*/*` or `major/*`?
function accepts(accept: string | undefined, type: string, wildcards: boolean): boolean {
  if (!accept) return false
  const [major] = type.split('/')
  for (const part of accept.split(',')) {
    const [rawRange = '', ...params] = part.split(';')
    const range = rawRange.trim().toLowerCase()
    if (range !== type && !(wildcards && (range === '*/*' || range === `${major}/*`))) continue
    // `q=0` means "not acceptable" (RFC 9110).
    if (!params.some((p) => /^\s*q\s*=\s*0(\.0*)?\s*$/i.test(p))) return true
  }
  return false
}

/** A POST must accept both an SSE stream and a JSON body (the server picks); wildcards count. */
export function acceptsPostAnswers(accept: string | undefined): boolean {
  return accepts(accept, 'application/json', true) && accepts(accept, 'text/event-stream', true)
}

/**
 * A GET that opens an SSE stream must name `text/event-stream`: a wildcard alone (any type, or `text/*`)
 * is what an `<img>` tag or a browser navigation sends, and such a request must not open a stream (or
 * spawn a child).
 */
export function acceptsEventStream(accept: string | undefined): boolean {
  return accepts(accept, 'text/event-stream', false)
}
