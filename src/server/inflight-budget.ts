/**
 * The bytes of request bodies the server holds at once, bounded: a request whose body would
 * take the total past the bound is answered 503 SERVER_BUSY with `Retry-After` instead of being
 * buffered. Invariant: `held` is the sum of live reservations and never exceeds `bytesMax`.
 */
import { assert } from '../io/assert.js'
import { ApiError } from '../wire/index.js'

/** Seconds a client is told to wait when the server is busy. */
export const busyRetryAfterSeconds = 1

export class InflightBudget {
  readonly bytesMax: number
  readonly #what: string
  #held = 0

  /** `what` names the bytes in the SERVER_BUSY message ("request bodies", "read pages"). */
  constructor(bytesMax: number, what = 'request bodies') {
    assert(Number.isSafeInteger(bytesMax) && bytesMax > 0, 'in-flight byte bound is a positive integer')
    this.bytesMax = bytesMax
    this.#what = what
  }

  get held(): number {
    return this.#held
  }

  /** Reserves `bytes` or throws SERVER_BUSY; the caller releases exactly what it reserved. */
  reserve(bytes: number): void {
    if (this.#held + bytes > this.bytesMax) {
      throw new ApiError('SERVER_BUSY', `the server holds ${this.bytesMax} bytes of ${this.#what} at most and is full: retry shortly`, {
        'retry-after': String(busyRetryAfterSeconds),
        connection: 'close',
      })
    }
    this.#held += bytes
  }

  release(bytes: number): void {
    this.#held -= bytes
    assert(this.#held >= 0, 'released no more than reserved')
  }
}
