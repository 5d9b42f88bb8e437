// Known client behaviours the proxy adapts to, by User-Agent. Each entry says what breaks and why.

/**
 * Clients that JSON-parse the data of every SSE `message` event, so the 2025-11-25 priming event (an
 * id and empty data, a SHOULD of the spec) makes them report "Failed to parse message" on every call:
 * the Vercel AI SDK's MCP client (`ai-sdk/<version>` in its User-Agent). They get no priming events;
 * their POST streams then cannot be resumed before the first real event, which they never do anyway.
 */
const BREAKS_ON_PRIMING = [/(^|[\s;(])ai-sdk\//]

/** Should a session opened by this User-Agent get priming events? */
export function toleratesPriming(userAgent: string | undefined): boolean {
  return userAgent === undefined || !BREAKS_ON_PRIMING.some((pattern) => pattern.test(userAgent))
}
