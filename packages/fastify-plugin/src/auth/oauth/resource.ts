/**
 * Canonical resource URLs (RFC 8707 / MCP authorization): scheme and host lower-case (URL parsing does
 * that), no fragment, no trailing slash on a path (the form the spec asks clients to use). Two spellings
 * of one resource compare equal once canonical.
 */
export function canonicalResource(value: string): string {
  const url = new URL(value)
  url.hash = ''
  const path = url.pathname.length > 1 && url.pathname.endsWith('/') ? url.pathname.slice(0, -1) : url.pathname
  return `${url.protocol}//${url.host}${path === '/' ? '' : path}${url.search}`
}

/** Is this URL's host a loopback address (where plain `http:` is acceptable for an issuer)? */
export function isLoopbackUrl(url: URL): boolean {
  const host = url.hostname
  return host === 'localhost' || host === '[::1]' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)
}

/** The well-known path of Protected Resource Metadata (RFC 9728 §3). */
export const WELL_KNOWN = '/.well-known/oauth-protected-resource'

/** The address of a resource's metadata (RFC 9728 §3.1): the well-known segment between the authority and the path. */
export function metadataUrlOf(resource: string): string {
  const url = new URL(resource)
  const path = url.pathname === '/' ? '' : url.pathname
  return `${url.protocol}//${url.host}${WELL_KNOWN}${path}`
}

/** Replace the endpoint path a resource URL ends with by another endpoint's (the legacy `/sse` next to `/mcp`). */
export function siblingResource(resource: string, endpoint: string, sibling: string): string {
  const url = new URL(resource)
  if (!url.pathname.endsWith(endpoint)) return resource
  url.pathname = url.pathname.slice(0, url.pathname.length - endpoint.length) + sibling
  return canonicalResource(url.href)
}
