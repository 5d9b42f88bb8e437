/** What the proxy uses of an authorization server's metadata (RFC 8414 / OpenID Connect Discovery). */
export interface AuthorizationServerMetadata {
  issuer: string
  jwks_uri?: string
  introspection_endpoint?: string
}

/**
 * The spellings of one issuer: as configured, and with its trailing slash toggled. Identity providers
 * differ (`https://id.example.com/` in one's metadata, without the slash in another's tokens), and users
 * copy whichever they saw; nothing else is leniently compared.
 */
export function issuerSpellings(issuer: string): [string, string] {
  return [issuer, issuer.endsWith('/') ? issuer.slice(0, -1) : `${issuer}/`]
}

/** How long a request to the authorization server may take. */
export const AS_TIMEOUT_MS = 5000
/** Largest metadata or introspection answer read from the authorization server. */
export const AS_MAX_BYTES = 256 * 1024

/** Where an issuer's metadata may be, in the order RFC 8414 §3.1 and OpenID Discovery give. */
export function metadataCandidates(issuer: string): string[] {
  const url = new URL(issuer)
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '')
  const origin = `${url.protocol}//${url.host}`
  return [
    `${origin}/.well-known/oauth-authorization-server${path}`,
    ...(path === '' ? [] : [`${origin}/.well-known/openid-configuration${path}`]),
    `${origin}${path}/.well-known/openid-configuration`,
  ]
}

/** The body as text, read no further than AS_MAX_BYTES (a body without a length cannot make the proxy buffer more). */
async function boundedText(response: Response, url: string): Promise<string> {
  const reader = response.body?.getReader()
  if (!reader) return ''
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > AS_MAX_BYTES) {
      await reader.cancel()
      throw new Error(`${url} answered with more than ${AS_MAX_BYTES} bytes`)
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** GET or POST to the authorization server, bounded in time and size; the parsed JSON object. */
export async function fetchJson(url: string, init: RequestInit = {}): Promise<Record<string, unknown>> {
  const response = await fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(AS_TIMEOUT_MS) })
  if (!response.ok) {
    await response.body?.cancel()
    throw new Error(`${url} answered HTTP ${response.status}`)
  }
  const value: unknown = JSON.parse(await boundedText(response, url))
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${url} did not answer a JSON object`)
  return value as Record<string, unknown>
}

/**
 * The issuer's metadata, from the first well-known address that has it. Its `issuer` must be the
 * configured one exactly (RFC 8414 §3.3), or a document served elsewhere could name other keys.
 */
export async function discoverAuthorizationServer(issuer: string): Promise<AuthorizationServerMetadata> {
  const failures: string[] = []
  for (const candidate of metadataCandidates(issuer)) {
    let document: Record<string, unknown>
    try {
      document = await fetchJson(candidate, { headers: { accept: 'application/json' } })
    } catch (error) {
      failures.push(`${candidate}: ${(error as Error).message}`)
      continue
    }
    if (typeof document.issuer !== 'string' || !issuerSpellings(issuer).includes(document.issuer)) {
      throw new Error(`the metadata at ${candidate} names issuer ${JSON.stringify(document.issuer)}, not ${issuer}`)
    }
    const url = (key: string): string | undefined => (typeof document[key] === 'string' ? (document[key] as string) : undefined)
    const jwks = url('jwks_uri')
    const introspection = url('introspection_endpoint')
    return { issuer, ...(jwks ? { jwks_uri: jwks } : {}), ...(introspection ? { introspection_endpoint: introspection } : {}) }
  }
  throw new Error(`no authorization server metadata for ${issuer}: ${failures.join('; ')}`)
}
