import type { Principal } from './principal.js'

/** A claim as an environment value: strings as they are, numbers and booleans spelled out, anything else as JSON. */
function envValue(claim: unknown): string | undefined {
  if (claim === undefined || claim === null) return undefined
  const value = typeof claim === 'string' ? claim : typeof claim === 'number' || typeof claim === 'boolean' ? String(claim) : JSON.stringify(claim)
  // An environment value cannot hold NUL; such a claim is left out rather than cut short.
  return value.includes('\0') ? undefined : value
}

/**
 * The entries `childEnvFromClaims` asks for, from the principal's claims (a claim it lacks is left out, so
 * the child sees the variable unset, never another session's value). Claims only: the token is not a claim.
 */
export function envFromClaims(principal: Principal | null, mapping: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [name, claim] of Object.entries(mapping)) {
    const value = envValue(principal?.claims[claim])
    if (value !== undefined) env[name] = value
  }
  return env
}
