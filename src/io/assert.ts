/**
 * Assertions for programmer errors: a broken invariant is a bug, never a user's mistake, so it
 * throws a plain `AssertionError` (not a `CairnError`) and names what was expected.
 */
import { AssertionError } from 'node:assert'

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError({ message })
}
