import type { FastifyInstance, HTTPMethods } from 'fastify'

/** `/mcp` and `/mcp/` name one endpoint: both forms of a path (`/` has one). */
export function slashForms(path: string): string[] {
  const bare = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path
  return bare === '/' ? [bare] : [bare, `${bare}/`]
}

/**
 * Register a route for both slash forms of `path`, within the plugin (the server's `ignoreTrailingSlash`
 * is not ours to set). The slashed twin is skipped when a static route already matches it (a server that
 * ignores trailing slashes matches it with the route just registered); a clash of the path itself still
 * fails as a duplicate route.
 */
export function onBothSlashForms(app: FastifyInstance, method: HTTPMethods, path: string, register: (path: string) => void): void {
  slashForms(path).forEach((form, i) => {
    const served = i === 0 ? null : app.findRoute({ method, url: app.prefix + form })
    if (served === null || Object.keys(served.params).length > 0) register(form)
  })
}
