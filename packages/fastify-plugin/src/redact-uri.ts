/**
 * A resource URI as it may be shown in spans and audit lines: a URI may carry credentials, in its user
 * info (`https://user:pw@host`) or its query (`?token=…`). User info is replaced by `***`, every query value
 * by `***` (names kept), the fragment dropped. A URI without an authority (`mailto:user:pw@x`) keeps only
 * its scheme. Unparseable text is shown as `***`.
 */
export function redactUri(uri: string): string {
  let url: URL
  try {
    url = new URL(uri)
  } catch {
    return '***'
  }
  if (!uri.slice(url.protocol.length).startsWith('//')) return `${url.protocol}***`
  const userInfo = url.username !== '' || url.password !== ''
  url.username = ''
  url.password = ''
  url.hash = ''
  const names = [...new Set(url.searchParams.keys())]
  const query = names.length === 0 ? '' : `?${names.map((name) => `${encodeURIComponent(name)}=***`).join('&')}`
  url.search = ''
  const shown = `${url.href}${query}`
  return userInfo ? shown.replace('://', '://***@') : shown
}
