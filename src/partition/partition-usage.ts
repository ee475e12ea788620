/**
 * Who uses a partition, and whether it is still open and still trusted: the counts and flags
 * the facade (partition.ts) keeps on its hot paths, and what is derived from them.
 *
 * Invariants:
 * - `users` counts writes and appends in flight (from before their backpressure), log readers
 *   running, and `keepOpen` holders; every increment is paired with exactly one decrement;
 * - `closed` only ever goes from false to true; once true every call fails with `closedError()`;
 * - `faulted` is sticky: once an append or trim failed, the log may hold what is not durable, so
 *   the partition is never trusted as closed cleanly (partition-parts.ts, `closedCleanly`).
 */
import { CairnError } from '../io/errors.js'
import type { ReaderUse } from './partition-read.js'

export class PartitionUsage implements ReaderUse {
  readonly #id: string
  /** Plain fields: the write paths touch them per call, so no accessor in between. */
  users = 0
  closed = false
  faulted = false
  #closedMessage = ''

  constructor(id: string) {
    this.#id = id
  }

  /** Marks the partition closed; `reason` is what every later call is told (CLOSED). */
  close(reason: string | undefined): void {
    this.closed = true
    if (reason !== undefined) this.#closedMessage = reason
  }

  closedError(): CairnError {
    return new CairnError('CLOSED', this.#closedMessage || `partition ${this.#id} is closed: open the store again`, { context: { partition: this.#id } })
  }

  /** A log reader (partition-read.ts) begins: checked open and counted while it runs. */
  enter(): void {
    if (this.closed) throw this.closedError()
    this.users++
  }

  leave(): void {
    this.users--
  }

  /** Counts the caller as a user until the returned release is called (once; again does nothing). */
  keepOpen(): () => void {
    this.enter()
    let released = false
    return () => {
      if (released) return
      released = true
      this.users--
    }
  }
}
