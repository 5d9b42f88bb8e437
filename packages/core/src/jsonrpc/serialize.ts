/**
 * The JSON text of a value, or undefined when it cannot be serialized: `JSON.stringify` recurses, so a
 * value nested a few thousand levels deep (which `JSON.parse` accepts) throws RangeError. Every place
 * that re-serializes a message from a client or a child goes through here, so one hostile message is
 * refused alone instead of taking the process down.
 */
export function trySerialize(value: unknown): string | undefined {
  try {
    return JSON.stringify(value)
  } catch {
    return undefined
  }
}
