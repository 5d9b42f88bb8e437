import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { OAuthResource } from '../auth/oauth/oauth-resource.js'
import { HttpError, replyError } from '../errors.js'
import { WELL_KNOWN } from '../auth/oauth/resource.js'
import { hostAllowed } from '../hooks/origin-guard.js'

/**
 * Protected Resource Metadata (RFC 9728) for each MCP endpoint, at the path-inserted address of its
 * resource (`/.well-known/oauth-protected-resource/mcp`, with the plugin's prefix inside:
 * `/.well-known/oauth-protected-resource/servers/a/mcp`), and at the bare well-known path for the first
 * plugin that claims it. Registered on the host app (outside the prefix, where clients look), public,
 * readable from any origin: it holds nothing secret and a browser client reads it before it has a token.
 * (Inside a scope with a prefix of its own, that prefix comes first: see OAuthResource's metadata URL.)
 */
export function registerProtectedResourceMetadata(app: FastifyInstance, resource: OAuthResource, endpoints: string[], allowedHosts: Set<string> | undefined): void {
  const serve = (endpoint: string) => async (request: FastifyRequest, reply: FastifyReply) => {
    reply.header('access-control-allow-origin', '*')
    // The resource may be named from the Host header: only from an allowed one.
    if (resource.settings.resourceUrl === undefined && !hostAllowed(request.headers.host, allowedHosts)) return replyError(reply, HttpError.ForbiddenHost)
    return reply.header('cache-control', 'max-age=300').send(resource.metadata(request, endpoint))
  }
  const preflight = async (_request: FastifyRequest, reply: FastifyReply) =>
    reply.code(204).header('access-control-allow-origin', '*').header('access-control-allow-methods', 'GET, OPTIONS').header('access-control-allow-headers', 'MCP-Protocol-Version').send()
  const route = (path: string, endpoint: string): void => {
    if (app.hasRoute({ method: 'GET', url: path })) return
    app.get(path, serve(endpoint))
    app.options(path, preflight)
  }
  for (const { path, endpoint } of resource.metadataPaths(endpoints)) route(path, endpoint)
  // The bare path names the first endpoint (the Streamable one when there is one).
  const first = endpoints[0]
  if (first !== undefined) route(WELL_KNOWN, first)
}
