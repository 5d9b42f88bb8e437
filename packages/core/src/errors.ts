/** Stable codes for every error the core raises. */
export type ProxyErrorCode =
  | 'MCP_PROXY_SPAWN_FAILED'
  | 'MCP_PROXY_CHILD_EXITED'
  | 'MCP_PROXY_SESSION_LIMIT'
  | 'MCP_PROXY_INITIALIZE_FAILED'
  | 'MCP_PROXY_CLOSED'
  | 'MCP_PROXY_DRAINING'

/** An error of the proxy core: a stable code, a message that says what to do, and the cause. */
export class ProxyError extends Error {
  readonly code: ProxyErrorCode

  constructor(code: ProxyErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ProxyError'
    this.code = code
  }
}
