/**
 * `Partition.read()` and `StoreReader.read()`: a log's batches served one entry at a time.
 *
 * Not an async generator: each `yield` of one awaits its value and resumes the generator through
 * more promise hops than the entry costs to decode, which made `read()` about a third slower than
 * `readBatches()`. This iterator serves `next()` from the current batch with an already-resolved
 * promise and awaits only to fetch the next batch.
 *
 * Invariants (those of an async generator with the same body): `use.enter()` runs on the first
 * `next()` and `use.leave()` exactly once when the reader ends (exhausted, `limit` reached,
 * `return()`, `throw()`, or a failed read), never when `enter()` threw or the reader ended before
 * it started; the log's batch reader is closed whenever the reader ends early (`limit` reached
 * ends it on the `next()` after the last entry, as a generator's `return` would); a `next()` made
 * while another call is settling waits its turn, so results come out in the order of the calls
 * and entries once each, in LSN order.
 */
import type { LogEntry } from '../log/frame.js'
import { decodeEntry, type PartitionEntry } from './partition-entry.js'

/** How a reader tells its partition it runs: `enter` checks the partition is open and counts it, `leave` uncounts it. */
export interface ReaderUse {
  enter(): void
  leave(): void
}

/** For a reader nothing counts (a read-only view of another process's store). */
export const noReaderUse: ReaderUse = { enter() {}, leave() {} }

type Result = IteratorResult<PartitionEntry, undefined>

const done: Result = Object.freeze({ value: undefined, done: true }) as Result

export class EntryReader implements AsyncGenerator<PartitionEntry, undefined> {
  readonly #use: ReaderUse
  readonly #open: () => AsyncGenerator<LogEntry[]>
  #left: number
  #batches: AsyncGenerator<LogEntry[]> | undefined
  #batch: readonly LogEntry[] = []
  #pos = 0
  #state: 'new' | 'open' | 'ended' = 'new'
  /** The last call still settling (a fetch, an end): calls made meanwhile wait for it, in order. */
  #tail: Promise<Result> | undefined

  /** `open` starts the batch reader, on the first `next()` after `use.enter()`; at most `limit` entries. */
  constructor(use: ReaderUse, open: () => AsyncGenerator<LogEntry[]>, limit: number | undefined) {
    this.#use = use
    this.#open = open
    this.#left = limit ?? Number.POSITIVE_INFINITY
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  next(): Promise<Result> {
    if (this.#tail !== undefined) return this.#after(this.#tail, () => this.#next())
    return this.#next()
  }

  #next(): Promise<Result> {
    if (this.#state === 'ended') return Promise.resolve(done)
    if (this.#state === 'new') {
      try {
        this.#use.enter()
      } catch (e) {
        this.#state = 'ended'
        return Promise.reject(e)
      }
      this.#state = 'open'
      if (this.#left > 0) this.#batches = this.#open()
    }
    if (this.#left > 0 && this.#pos < this.#batch.length) return Promise.resolve(this.#take())
    return this.#queue(this.#left > 0 ? this.#fetch() : this.#end())
  }

  /**
   * Makes `pending` the tail: calls made before it settles wait for it, so results come out in
   * the order of the calls (an already-resolved promise returned meanwhile would overtake it).
   */
  #queue(pending: Promise<Result>): Promise<Result> {
    this.#tail = pending
    const clear = (): void => {
      if (this.#tail === pending) this.#tail = undefined
    }
    pending.then(clear, clear)
    return pending
  }

  /** `then` runs once `tail` has settled, whichever way (and does not wait for the tail again). */
  #after(tail: Promise<unknown>, then: () => Promise<Result>): Promise<Result> {
    return this.#queue(tail.then(then, then))
  }

  #take(): Result {
    this.#left--
    return { value: decodeEntry(this.#batch[this.#pos++]!), done: false }
  }

  async #fetch(): Promise<Result> {
    for (;;) {
      let r: IteratorResult<LogEntry[]>
      try {
        r = await this.#batches!.next()
      } catch (e) {
        // The log's reader failed (and so ended): the reader ends with the error.
        this.#batches = undefined
        await this.#end()
        throw e
      }
      if (r.done === true) {
        this.#batches = undefined
        return await this.#end()
      }
      if (r.value.length === 0) continue
      this.#batch = r.value
      this.#pos = 0
      return this.#take()
    }
  }

  /** Ends the reader once: closes the log's batch reader if it is still open, then leaves. */
  async #end(): Promise<Result> {
    if (this.#state !== 'open') {
      this.#state = 'ended'
      return done
    }
    this.#state = 'ended'
    this.#batch = []
    const batches = this.#batches
    this.#batches = undefined
    try {
      await batches?.return(undefined)
    } finally {
      this.#use.leave()
    }
    return done
  }

  return(_value?: undefined): Promise<Result> {
    const end = (): Promise<Result> => this.#end()
    return this.#queue(this.#tail !== undefined ? this.#tail.then(end, end) : end())
  }

  throw(error: unknown): Promise<Result> {
    const end = (): Promise<Result> => this.#end().then(() => Promise.reject(error))
    return this.#queue(this.#tail !== undefined ? this.#tail.then(end, end) : end())
  }
}
