import { ErrorCode } from '../jsonrpc/errors.js'
import type { JsonRpcRequest } from '../jsonrpc/schemas.js'

/** Which tools of the MCP server clients may see and call: glob patterns (`*` any run, `?` one character). */
export interface ToolFilterOptions {
  /** Only tools matching one of these (undefined: every tool). */
  allowed?: readonly string[]
  /** Never tools matching one of these (wins over `allowed`). */
  denied?: readonly string[]
}

/** A glob as an anchored regular expression: `*` and `?` are the only special characters. */
function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')
  return new RegExp(`^${body}$`, 's')
}

/**
 * Hides tools from clients: a hidden tool is left out of every `tools/list` answer, and a `tools/call` of
 * it is answered -32602 "Unknown tool", what the spec gives for a tool the server does not have, before the
 * child sees it. Applied in the Upstream, so every era and mode (sessions, stateless, 2026-07-28) gets it.
 */
export class ToolFilter {
  readonly #allowed: RegExp[] | undefined
  readonly #denied: RegExp[]

  constructor(options: ToolFilterOptions) {
    this.#allowed = options.allowed?.map(globToRegExp)
    this.#denied = (options.denied ?? []).map(globToRegExp)
  }

  /** May clients see and call this tool? */
  allows(name: string): boolean {
    if (this.#denied.some((pattern) => pattern.test(name))) return false
    return this.#allowed === undefined || this.#allowed.some((pattern) => pattern.test(name))
  }

  /** The error a request gets instead of reaching the child, or undefined to send it on. */
  refusal(message: JsonRpcRequest): { code: number; message: string } | undefined {
    if (message.method !== 'tools/call') return undefined
    const name = (message.params as { name?: unknown } | undefined)?.name
    if (typeof name !== 'string' || this.allows(name)) return undefined
    return { code: ErrorCode.InvalidParams, message: `Unknown tool: ${name}` }
  }

  /** A `tools/list` result without the hidden tools; the same object when nothing is hidden. */
  filterList(result: unknown): unknown {
    const tools = (result as { tools?: unknown } | null)?.tools
    if (!Array.isArray(tools)) return result
    const kept = tools.filter((tool) => typeof (tool as { name?: unknown } | null)?.name !== 'string' || this.allows((tool as { name: string }).name))
    return kept.length === tools.length ? result : { ...(result as object), tools: kept }
  }
}
