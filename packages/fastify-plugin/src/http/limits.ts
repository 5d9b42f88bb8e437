/**
 * Deepest nesting (objects and arrays) a client's JSON body may have. The proxy must be able to
 * re-serialize whatever it accepts (ids are rewritten, batches are split), and `JSON.stringify` throws a
 * RangeError near 10,000 levels; real MCP messages stay far below this.
 */
export const MAX_JSON_DEPTH = 1000
