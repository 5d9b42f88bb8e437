import type { JsonRpcMessage } from '../jsonrpc/schemas.js'

/** Pages of `tools/list` read at most, so a child that always returns a cursor cannot loop the proxy. */
const MAX_PAGES = 100

type Ask = (method: string, params: Record<string, unknown>) => Promise<JsonRpcMessage>

/**
 * The child's tools, read through every page of `tools/list` when first needed and kept until the child
 * says they changed (`notifications/tools/list_changed`) or ends. A name not found in a catalog read
 * earlier gets one fresh read: the tool may be new.
 */
export class ToolCatalog {
  #ask: Ask
  #schemas: Promise<Map<string, unknown>> | undefined

  constructor(ask: Ask) {
    this.#ask = ask
  }

  /** Forget the catalog: the next lookup reads it again. */
  invalidate(): void {
    this.#schemas = undefined
  }

  /** The tool's `inputSchema`; undefined if the child has no such tool (or cannot list its tools). */
  async schemaOf(name: string): Promise<unknown> {
    const cached = this.#schemas
    const schemas = await (this.#schemas ??= this.#read())
    if (schemas.has(name) || cached === undefined) return schemas.get(name)
    // A miss in a catalog read before this lookup: read once more (a new tool), then trust the answer. A
    // read started meanwhile (another lookup's) is as fresh; none at all (the child said its tools changed,
    // or it ended, while we waited) means a new one.
    if (this.#schemas === cached) this.#schemas = undefined
    return (await (this.#schemas ??= this.#read())).get(name)
  }

  async #read(): Promise<Map<string, unknown>> {
    const schemas = new Map<string, unknown>()
    let cursor: unknown
    for (let page = 0; page < MAX_PAGES; page++) {
      const answer = await this.#ask('tools/list', cursor === undefined ? {} : { cursor })
      const result = 'result' in answer ? (answer.result as { tools?: unknown; nextCursor?: unknown }) : undefined
      if (!result || !Array.isArray(result.tools)) break
      for (const tool of result.tools as Array<{ name?: unknown; inputSchema?: unknown }>) {
        if (typeof tool?.name === 'string') schemas.set(tool.name, tool.inputSchema)
      }
      if (typeof result.nextCursor !== 'string' || result.nextCursor === '') break
      cursor = result.nextCursor
    }
    return schemas
  }
}
