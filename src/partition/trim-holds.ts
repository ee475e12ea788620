/**
 * Holds on a partition's log: a reader that needs the log from an LSN on (a backup copying a
 * cut, a follower catching up, a snapshot's replay) holds it there, and trims leave it alone.
 *
 * Invariants:
 * - the trim floor is min(state durable LSN + 1, every hold's LSN): a trim never removes a record
 *   at or above a held LSN;
 * - a hold is only taken where the records are still there and no trim in flight may remove
 *   them (LSN_TRIMMED otherwise), so from the moment `hold` returns the records are safe;
 * - a release takes away only its own hold, once; releasing again does nothing.
 */
import { CairnError } from '../io/errors.js'

/** One holder of the log's trim floor. */
export interface TrimHoldInfo {
  /** Who holds it (for `info` and the status API: "backup 2026-12-01", "follower eu-1"). */
  who: string
  /** The lowest LSN the holder needs. */
  fromLsn: number
}

export class TrimHolds {
  /** Insertion order is the order `list` reports: oldest hold first. */
  readonly #holds = new Map<number, TrimHoldInfo>()
  #nextId = 0
  /** The floors of the trims running now: they may remove what is below them even after a hold. */
  readonly #trims: number[] = []

  /** Holds the log from `fromLsn` (the log starts at `firstLsn` now). Returns the release. */
  hold(fromLsn: number, who: string, firstLsn: number): () => void {
    if (!Number.isSafeInteger(fromLsn) || fromLsn < 1) {
      throw new CairnError('INVALID_ARGUMENT', `a trim hold needs a positive integer LSN (got ${fromLsn})`, { context: { fromLsn } })
    }
    if (typeof who !== 'string' || who.length === 0) {
      throw new CairnError('INVALID_ARGUMENT', 'a trim hold needs a name saying who holds it (who: a non-empty string)')
    }
    let lowestSafeLsn = firstLsn
    for (const floor of this.#trims) if (floor > lowestSafeLsn) lowestSafeLsn = floor
    if (fromLsn < lowestSafeLsn) {
      throw new CairnError(
        'LSN_TRIMMED',
        `the log from LSN ${fromLsn} is trimmed (or being trimmed) up to ${lowestSafeLsn}: hold from ${lowestSafeLsn} or later, or restore what is missing from a snapshot`,
        { context: { fromLsn, lowestSafeLsn, who } },
      )
    }
    const id = this.#nextId++
    this.#holds.set(id, { who, fromLsn })
    return () => {
      this.#holds.delete(id)
    }
  }

  /** A trim below `floor` begins; call the result when it settled. */
  trimming(floor: number): () => void {
    this.#trims.push(floor)
    let done = false
    return () => {
      if (done) return
      done = true
      this.#trims.splice(this.#trims.indexOf(floor), 1)
    }
  }

  /** True while a hold is taken or a trim runs (the store does not close the partition then). */
  get busy(): boolean {
    return this.#holds.size > 0 || this.#trims.length > 0
  }

  /** The lowest held LSN (Infinity when nothing is held). */
  floor(): number {
    let floor = Number.POSITIVE_INFINITY
    for (const h of this.#holds.values()) if (h.fromLsn < floor) floor = h.fromLsn
    return floor
  }

  /** The holds, oldest first (copies). */
  list(): TrimHoldInfo[] {
    return [...this.#holds.values()].map((h) => ({ ...h }))
  }
}
