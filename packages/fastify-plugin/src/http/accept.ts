// Accept header checks, by media range (RFC 9110): `*/*` and `type/*` count as listing a type.

function accepts(accept: string | undefined, type: string): boolean {
  if (!accept) return false
  const [major] = type.split('/')
  for (const part of accept.split(',')) {
    const [rawRange = '', ...params] = part.split(';')
    const range = rawRange.trim().toLowerCase()
    if (range !== type && range !== '*/*' && range !== `${major}/*`) continue
    // `q=0` means "not acceptable" (RFC 9110).
    if (!params.some((p) => /^\s*q\s*=\s*0(\.0*)?\s*$/i.test(p))) return true
  }
  return false
}

/** A POST must accept both an SSE stream and a JSON body (the server picks). */
export function acceptsPostAnswers(accept: string | undefined): boolean {
  return accepts(accept, 'application/json') && accepts(accept, 'text/event-stream')
}

/** A GET must accept an SSE stream. */
export function acceptsEventStream(accept: string | undefined): boolean {
  return accepts(accept, 'text/event-stream')
}
