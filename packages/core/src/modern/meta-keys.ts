// The `_meta` keys of MCP 2026-07-28 ("modern"), spelled as @modelcontextprotocol/core 2.4.0 spells its
// *_META_KEY constants (a test compares them). Kept here rather than imported: @proxy/core must not
// depend on the SDK for six strings.

/** The revision a modern request claims; its presence in `params._meta` is what makes a request modern. */
export const PROTOCOL_VERSION_META_KEY = 'io.modelcontextprotocol/protocolVersion'

/** The client's self-reported identity on a modern request (a SHOULD, not required). */
export const CLIENT_INFO_META_KEY = 'io.modelcontextprotocol/clientInfo'

/** The client's capabilities, declared per request instead of once at `initialize`. */
export const CLIENT_CAPABILITIES_META_KEY = 'io.modelcontextprotocol/clientCapabilities'

/** The per-request log level (deprecated with Logging by SEP-2577, still in the revision). */
export const LOG_LEVEL_META_KEY = 'io.modelcontextprotocol/logLevel'

/** The server's identity, stamped into every result's `_meta` (serverInfo left the discover body). */
export const SERVER_INFO_META_KEY = 'io.modelcontextprotocol/serverInfo'

/** The id of the `subscriptions/listen` request a frame belongs to, on every frame of a listen stream. */
export const SUBSCRIPTION_ID_META_KEY = 'io.modelcontextprotocol/subscriptionId'

/** The four keys of the per-request envelope: the proxy consumes them, a 2025 child never sees them. */
export const ENVELOPE_META_KEYS: readonly string[] = [
  PROTOCOL_VERSION_META_KEY,
  CLIENT_INFO_META_KEY,
  CLIENT_CAPABILITIES_META_KEY,
  LOG_LEVEL_META_KEY,
]

/** The one revision the modern leg serves. */
export const MODERN_PROTOCOL_VERSION = '2026-07-28'
