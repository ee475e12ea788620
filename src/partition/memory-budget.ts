/**
 * The store's memory budget for memtables: one bound on the sum of every open partition's
 * unflushed memtable bytes (current and frozen), however many partitions there are.
 *
 * Invariants:
 * - `bytes` is the sum of what each open partition last reported (it reports after every apply
 *   and every flush; a closed partition's account is removed with its bytes);
 * - once the bytes not already being flushed reach `flushAtBytes` (7/8 of the bound), the
 *   largest partition not flushing is flushed; at most `budgetFlushesMax` budget flushes run at
 *   once, and never two on one partition;
 * - at or over the bound, writes wait (backpressure) until flushes bring the sum back under it;
 *   when a flush fails and none is left running, waiting writes fail with IO_ERROR rather than
 *   wait forever or let memory grow.
 */
import { assert } from '../io/assert.js'
import { CairnError } from '../io/errors.js'

/** What a partition tells the budget and asks it (the store hands one to each open partition). */
export interface MemtableAccount {
  /** The partition's unflushed memtable bytes are now `bytes` (after an apply or a flush). */
  update(bytes: number): void
  /** `undefined` when a write may go on at once; otherwise a promise that settles when it may (or fails). */
  admit(): Promise<void> | undefined
}

/** Budget flushes running at once (each on its own partition). */
export const budgetFlushesMax = 2

/** One partition's share of the budget: its bytes, and how to flush it. */
class Account implements MemtableAccount {
  readonly #budget: MemoryBudget
  bytes = 0
  flushing = false
  closed = false
  flush: (() => Promise<void>) | undefined

  constructor(budget: MemoryBudget) {
    this.#budget = budget
  }

  /** Makes the account flushable (its partition is open); it may be flushed at once. */
  bind(flush: () => Promise<void>): void {
    this.flush = flush
    this.#budget.changed(0)
  }

  update(bytes: number): void {
    if (this.closed) return
    const delta = bytes - this.bytes
    this.bytes = bytes
    this.#budget.changed(delta)
  }

  admit(): Promise<void> | undefined {
    return this.#budget.admit()
  }

  /** Removes the account (its partition closed, and with it its memtables). */
  close(): void {
    if (this.closed) return
    this.update(0)
    this.closed = true
    this.#budget.remove(this)
  }
}

/**
 * @example
 * const budget = new MemoryBudget(128 * 1024 * 1024)
 * const account = budget.open()
 * const partition = await Partition.open({ ...options, memory: account })
 * account.bind(() => partition.flush())
 * // ... on close: await partition.close(); account.close()
 */
export class MemoryBudget {
  /** The bound on the sum of unflushed memtable bytes. */
  readonly bytesMax: number
  /** Budget flushes start once the bytes not already being flushed reach this. */
  readonly flushAtBytes: number
  #bytes = 0
  /** Bytes the running budget flushes were started for (they leave memory when those finish). */
  #flushingBytes = 0
  #flushes = 0
  #flushCount = 0
  #lastError: unknown
  readonly #accounts = new Set<Account>()
  #waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> = []
  /** The promise writes share while over the bound (one per stall, not one per write). */
  #stall: Promise<void> | undefined

  constructor(bytesMax: number) {
    assert(Number.isSafeInteger(bytesMax) && bytesMax > 0, 'a memory budget is a positive number of bytes')
    this.bytesMax = bytesMax
    this.flushAtBytes = Math.floor((bytesMax * 7) / 8)
  }

  /** Unflushed memtable bytes of every open partition, as last reported. */
  get bytes(): number {
    return this.#bytes
  }

  /** Flushes the budget started (for tests and stats). */
  get flushCount(): number {
    return this.#flushCount
  }

  /** A new account, for a partition being opened; set its `flush` once the partition is open. */
  open(): Account {
    const account = new Account(this)
    this.#accounts.add(account)
    return account
  }

  /** @internal */
  changed(delta: number): void {
    this.#bytes += delta
    assert(this.#bytes >= 0, 'the budget never counts fewer than zero bytes')
    if (delta >= 0) {
      if (this.#bytes - this.#flushingBytes >= this.flushAtBytes) this.#flushLargest()
    } else if (this.#bytes < this.bytesMax) this.#wake()
  }

  /** @internal */
  remove(account: Account): void {
    this.#accounts.delete(account)
  }

  /** @internal */
  admit(): Promise<void> | undefined {
    if (this.#bytes < this.bytesMax) return undefined
    this.#flushLargest()
    if (this.#flushes === 0 && this.#lastError !== undefined) throw this.#failure()
    this.#stall ??= new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }))
    return this.#stall
  }

  #flushLargest(): void {
    while (this.#flushes < budgetFlushesMax && this.#bytes - this.#flushingBytes >= this.flushAtBytes) {
      let largest: Account | undefined
      for (const a of this.#accounts) {
        if (!a.flushing && a.flush !== undefined && a.bytes > 0 && (largest === undefined || a.bytes > largest.bytes)) largest = a
      }
      if (largest === undefined) return
      this.#start(largest)
    }
  }

  #start(account: Account): void {
    const bytes = account.bytes
    const flush = account.flush!
    account.flushing = true
    this.#flushes++
    this.#flushingBytes += bytes
    this.#flushCount++
    void flush()
      .then(
        () => {
          this.#lastError = undefined
        },
        (e: unknown) => {
          // A partition closed meanwhile gave its memory back; anything else is kept for admit().
          if (!account.closed) this.#lastError = e
        },
      )
      .finally(() => {
        account.flushing = false
        this.#flushes--
        this.#flushingBytes -= bytes
        // After a failure the next write or apply retries, not this callback (no busy loop on a bad disk).
        if (this.#lastError === undefined) this.#flushLargest()
        if (this.#bytes < this.bytesMax) this.#wake()
        else if (this.#flushes === 0 && this.#lastError !== undefined) this.#fail()
      })
  }

  #wake(): void {
    if (this.#waiters.length === 0) return
    const waiters = this.#waiters
    this.#waiters = []
    this.#stall = undefined
    for (const w of waiters) w.resolve()
  }

  #fail(): void {
    const waiters = this.#waiters
    this.#waiters = []
    this.#stall = undefined
    const error = this.#failure()
    for (const w of waiters) w.reject(error)
  }

  #failure(): CairnError {
    return new CairnError(
      'IO_ERROR',
      `the store's memtables hold ${this.#bytes} bytes, over their budget of ${this.bytesMax}, and flushing them failed (writes are paused): check the disk, then retry`,
      { context: { bytes: this.#bytes, bytesMax: this.bytesMax }, cause: this.#lastError },
    )
  }
}
