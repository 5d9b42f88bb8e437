// @proxy/fastify-plugin: the HTTP edge of the MCP proxy. Adding an export here makes it public API.
import mcpProxy from './plugin.js'

export default mcpProxy
export { mcpProxy }
export { McpProxyOptions, resolveOptions, isLoopback, FST_MCP_PROXY_INVALID_OPTIONS, type ResolvedOptions } from './options.js'
export { HttpError } from './errors.js'
export { DrainSwitch, type DrainResult, type DrainOutcome, type DrainState } from './drain/drain-switch.js'
export { bearerToken, digest, keyMatches } from './auth/secrets.js'
export { ApiKeys, presentedKey } from './auth/api-keys.js'
export { originAllowed, hostAllowed, originGuard } from './hooks/origin-guard.js'
export { AuthFailure, type Authenticate, type AuthFailureKind, type Principal } from './auth/principal.js'
