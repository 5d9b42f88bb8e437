import type { FastifyRequest, onRequestHookHandler } from 'fastify'
import { HttpError, replyError } from '../errors.js'

const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443' }

/** Does an `Origin` header match the allowed set (`scheme://host` for any port, or `scheme://host:port`)? */
export function originAllowed(origin: string, allowed: Set<string> | undefined): boolean {
  if (!allowed) return true
  let url: URL
  try {
    url = new URL(origin)
  } catch {
    return false
  }
  const base = `${url.protocol}//${url.hostname}`.toLowerCase()
  const port = url.port || DEFAULT_PORTS[url.protocol]
  return allowed.has(base) || (port !== undefined && allowed.has(`${base}:${port}`))
}

/** Does a `Host` header match the allowed set (`name` for any port, or `name:port`)? */
export function hostAllowed(host: string | undefined, allowed: Set<string> | undefined): boolean {
  if (!allowed) return true
  if (!host) return false
  const lower = host.toLowerCase()
  if (allowed.has(lower)) return true
  const portAt = lower.startsWith('[') ? lower.indexOf(']:') + 1 : lower.lastIndexOf(':')
  return portAt > 0 && allowed.has(lower.slice(0, portAt))
}

/**
 * DNS-rebinding defence: a request whose `Host` is not allowed, or that carries an `Origin` that is not
 * allowed, gets 403 before anything else runs. Requests without an Origin (CLI and desktop clients) pass.
 * A request without a Host passes only where `hostOptional` says so (health checks: a balancer's
 * `GET /ping HTTP/1.0` carries none; no browser sends a request without one).
 */
export function originGuard(
  allowedOrigins: Set<string> | undefined,
  allowedHosts: Set<string> | undefined,
  hostOptional: (request: FastifyRequest) => boolean,
): onRequestHookHandler {
  return (request, reply, done) => {
    const host = request.headers.host
    if (!hostAllowed(host, allowedHosts) && !(host === undefined && hostOptional(request))) return replyError(reply, HttpError.ForbiddenHost)
    const origin = request.headers.origin
    if (origin !== undefined && !originAllowed(origin, allowedOrigins)) return replyError(reply, HttpError.ForbiddenOrigin)
    done()
  }
}
