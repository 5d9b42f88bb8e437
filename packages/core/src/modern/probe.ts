import type { JsonRpcMessage } from '../jsonrpc/schemas.js'
import type { Logger } from '../logger.js'
import { ChildUpstream, type ChildUpstreamOptions } from '../upstream/child-upstream.js'
import { CLIENT_CAPABILITIES_META_KEY, CLIENT_INFO_META_KEY, MODERN_PROTOCOL_VERSION, PROTOCOL_VERSION_META_KEY } from './meta-keys.js'

/** The era of a stdio MCP server: 2025 (`initialize` first) or 2026-07-28 (a stateless request per message). */
export type ServerEra = 'legacy' | 'modern'

/** How long a probe waits for an answer to `server/discover`: silence means a 2025 server. */
const PROBE_TIMEOUT_MS = 5000

/** The 2026-07-28 envelope the proxy puts on its own requests to a modern child. */
export function proxyEnvelope(clientInfo: { name: string; version: string }): Record<string, unknown> {
  return { [PROTOCOL_VERSION_META_KEY]: MODERN_PROTOCOL_VERSION, [CLIENT_INFO_META_KEY]: clientInfo, [CLIENT_CAPABILITIES_META_KEY]: {} }
}

/** A 2026 answer: a result, or one of the errors only a 2026 server gives (-32020…-32022). */
function isModernAnswer(answer: JsonRpcMessage): boolean {
  if ('result' in answer) return true
  const code = 'error' in answer ? answer.error.code : undefined
  return code !== undefined && code >= -32022 && code <= -32020
}

/**
 * Ask a throwaway copy of the server which era it speaks: `server/discover` with the 2026 envelope, before
 * any `initialize`. A result (or a 2026 error) means modern; any other error, silence, or an exit means
 * legacy. A throwaway copy, because some 2025 servers exit on a request before `initialize`.
 */
export async function probeEra(child: Omit<ChildUpstreamOptions, 'shared'>, clientInfo: { name: string; version: string }, logger: Logger): Promise<ServerEra> {
  const sibling = new ChildUpstream({ ...child, shared: false, logger })
  try {
    const answer = await new Promise<JsonRpcMessage>((resolve) => {
      sibling.upstream.request(
        { deliver: (message) => resolve(message), abandon: () => {}, streaming: false },
        { jsonrpc: '2.0', id: 'probe', method: 'server/discover', params: { _meta: proxyEnvelope(clientInfo) } },
        undefined,
        PROBE_TIMEOUT_MS,
      )
    })
    const era: ServerEra = isModernAnswer(answer) ? 'modern' : 'legacy'
    logger.info({ era }, 'the MCP server was asked which MCP era it speaks (server/discover on a throwaway copy)')
    return era
  } finally {
    void sibling.stop()
  }
}
