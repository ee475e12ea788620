/**
 * A bounded pre-check of a JSON body while it streams in, before any of it is parsed: counts
 * the items of the arrays one level inside the top object (`records`, `ops`) and the nesting
 * depth, and throws the moment either is over its bound. Its cost is one pass over the bytes
 * seen so far (string contents are skipped with `indexOf`), so a body of a million tiny records
 * is refused after its first `itemsMax` items instead of after a full parse and validation.
 *
 * Every separator outside strings, at any depth (object members and array elements alike), is
 * also counted against `itemsMax * separatorsPerItemMax`, so a flood of keys or of nested values
 * (which JSON.parse and the schemas would take seconds over, and echo back) is refused too.
 *
 * Invariant: it never refuses a body that `JSON.parse` plus the request schemas would accept:
 * in such a body the only depth-2 container is the `records` / `ops` array, and the commas
 * outside strings at depth 2 are exactly its item separators (checked by a randomized test that
 * cuts bodies full of quotes and backslashes at arbitrary points); an item is an object of at
 * most 3 members, so such a body has fewer than `3 * itemsMax` separators in all.
 */
import { CairnError } from '../io/errors.js'
import { ApiError } from '../wire/index.js'

const quote = 0x22
const backslash = 0x5c
const comma = 0x2c

/** Separators (commas outside strings) per allowed item, at all depths: an op has 3 members, plus its own separator. */
export const separatorsPerItemMax = 4

export class JsonShapeGuard {
  readonly #itemsMax: number
  readonly #depthMax: number
  #depth = 0
  #inString = false
  /** Backslashes just before the end of the last chunk, inside a string (their parity matters). */
  #backslashRun = 0
  #items = 0
  #separators = 0

  /** `itemsMax` items per depth-2 array; containers nested deeper than `depthMax` are refused. */
  constructor(itemsMax: number, depthMax: number) {
    this.#itemsMax = itemsMax
    this.#depthMax = depthMax
  }

  /** Throws BATCH_TOO_LARGE (413) or INVALID_REQUEST (400) as soon as a bound is crossed. */
  push(chunk: Uint8Array): void {
    let i = 0
    const n = chunk.length
    while (i < n) {
      if (this.#inString) {
        const q = chunk.indexOf(quote, i)
        if (q === -1) {
          this.#backslashRun = trailingBackslashes(chunk, n, i, this.#backslashRun)
          return
        }
        const run = trailingBackslashes(chunk, q, i, this.#backslashRun)
        this.#backslashRun = 0
        i = q + 1
        if (run % 2 === 0) this.#inString = false
        continue
      }
      const c = chunk[i++]!
      if (c === quote) {
        this.#inString = true
        this.#backslashRun = 0
      } else if (c === 0x7b || c === 0x5b) {
        if (++this.#depth > this.#depthMax) {
          throw new ApiError('INVALID_REQUEST', `request body is nested deeper than ${this.#depthMax} levels: see the README's HTTP API for its shape`)
        }
      } else if (c === 0x7d || c === 0x5d) {
        this.#depth--
      } else if (c === comma) {
        if (this.#depth === 2 && ++this.#items >= this.#itemsMax) {
          throw new CairnError('BATCH_TOO_LARGE', `a request holds at most ${this.#itemsMax} records or ops: split it into several requests`, {
            context: { itemsMax: this.#itemsMax },
          })
        }
        if (++this.#separators >= this.#itemsMax * separatorsPerItemMax) {
          throw new CairnError(
            'BATCH_TOO_LARGE',
            `a request holds at most ${this.#itemsMax} records or ops of a few fields each, and this body has more values than that: see the README's HTTP API for its shape`,
            { context: { itemsMax: this.#itemsMax } },
          )
        }
      }
    }
  }
}

/** Length of the run of backslashes ending just before `end` (not before `start`), plus `carry` if it reaches `start`. */
function trailingBackslashes(chunk: Uint8Array, end: number, start: number, carry: number): number {
  let k = end
  while (k > start && chunk[k - 1] === backslash) k--
  return end - k + (k === start ? carry : 0)
}
