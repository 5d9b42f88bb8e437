import type { RequestOutcome } from '@proxy/core'

/**
 * Requests a client sends an MCP server, from every revision the proxy serves (2024-11-05 to 2026-07-28):
 * the values `mcp_method_name` may take. Anything else is `other`, so a client cannot grow the label set.
 */
export const SPEC_METHODS: ReadonlySet<string> = new Set([
  'initialize',
  'ping',
  'tools/list',
  'tools/call',
  'prompts/list',
  'prompts/get',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'resources/subscribe',
  'resources/unsubscribe',
  'completion/complete',
  'logging/setLevel',
  'tasks/get',
  'tasks/list',
  'tasks/result',
  'tasks/cancel',
  'server/discover',
  'subscriptions/listen',
])

/** The label value of everything past a bound. */
export const OTHER = 'other'

/** `mcp_method_name`: the method if the spec names it, else `other`. */
export function methodLabel(method: string): string {
  return SPEC_METHODS.has(method) ? method : OTHER
}

/**
 * A label whose values come from outside (tool names, error codes): the first `max` distinct values are
 * kept as they are, every later one is `other`, and so is one that fails `valid`.
 */
export class BoundedLabel {
  readonly #seen = new Set<string>()
  readonly #max: number
  readonly #valid: (value: string) => boolean

  constructor(max: number, valid: (value: string) => boolean = () => true) {
    this.#max = max
    this.#valid = valid
  }

  /** The value if it was kept before, else `other` (it is not added). */
  ifKnown(value: string): string {
    return this.#seen.has(value) ? value : OTHER
  }

  of(value: string): string {
    if (this.#seen.has(value)) return value
    if (this.#seen.size >= this.#max || !this.#valid(value)) return OTHER
    this.#seen.add(value)
    return value
  }
}

/** What an MCP tool name may look like (1–128 characters of `A-Za-z0-9_-./`, as the 2025-11-25 spec advises). */
const TOOL_NAME = /^[A-Za-z0-9_\-./]{1,128}$/

/** Distinct tool names kept as label values before the rest become `other`. */
export const MAX_TOOL_NAMES = 100

/** `gen_ai_tool_name` values: bounded, and only names shaped like tool names. */
export function toolNameLabel(max = MAX_TOOL_NAMES): BoundedLabel {
  return new BoundedLabel(max, (name) => TOOL_NAME.test(name))
}

/** Distinct JSON-RPC error codes kept as `error_type` values (a child chooses them). */
const MAX_ERROR_CODES = 50

/**
 * `error_type` as the OpenTelemetry MCP conventions define it: empty on success, `tool_error` for a tool
 * result with `isError`, the JSON-RPC error code as a string, else what went wrong on the way (`timeout`,
 * `cancelled`, `child_gone`).
 */
export class ErrorTypes {
  readonly #codes = new BoundedLabel(MAX_ERROR_CODES, (code) => /^-?\d{1,6}$/.test(code))

  of(outcome: RequestOutcome, errorCode: number | undefined, toolError: boolean): string {
    switch (outcome) {
      case 'ok':
        return toolError ? 'tool_error' : ''
      case 'error':
        return errorCode === undefined ? OTHER : this.#codes.of(String(errorCode))
      case 'timeout':
        return 'timeout'
      case 'cancelled':
        return 'cancelled'
      case 'child-gone':
        return 'child_gone'
    }
  }
}

/** The stable reason of a refusal (`MCP_PROXY_*`, `MCP_2026_<code>`); anything else is `other`. */
export function refusalLabel(reason: string): string {
  return /^MCP_[A-Z0-9_]{1,64}$/.test(reason) ? reason : OTHER
}
