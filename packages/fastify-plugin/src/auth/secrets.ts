import { createHash, timingSafeEqual } from 'node:crypto'

/** The SHA-256 of a secret, the form `keyMatches` compares against. */
export const digest = (value: string): Buffer => createHash('sha256').update(value).digest()

/** Compare a presented key with the expected one in constant time (hashing first equalizes lengths). */
export function keyMatches(presented: string, expectedDigest: Buffer): boolean {
  return timingSafeEqual(digest(presented), expectedDigest)
}

/** The token of an `Authorization: Bearer <token>` header, if that is what it holds. */
export function bearerToken(authorization: string | undefined): string | undefined {
  return typeof authorization === 'string' && authorization.slice(0, 7).toLowerCase() === 'bearer ' ? authorization.slice(7).trim() : undefined
}
