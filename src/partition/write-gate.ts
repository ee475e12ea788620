/**
 * The gate every write of a partition passes just before it is logged, so writes can be paused:
 * a snapshot or a hand-over needs an applied LSN that stays put while it works.
 *
 * Invariants:
 * - a write is in flight from the moment it passes the gate (in the same synchronous step as its
 *   log append, so no pause can slip between) until its append settled, which is after it was
 *   applied; a pause resolves only once nothing is in flight, so from then until resume the
 *   applied LSN is the log's last LSN and does not move;
 * - while paused, new writes wait in a queue bounded in length (`pausedWritesMax`) and in time
 *   (`pauseWaitMsMax`); past either bound a write fails with WRITES_PAUSED and nothing is logged,
 *   so a pause nobody resumes cannot pile up memory or hang writers for ever;
 * - pauses nest: writes flow again once every pause was resumed; each resume counts once.
 */
import { CairnError } from '../io/errors.js'

/** Writes that may wait while writes are paused; one more fails at once with WRITES_PAUSED. */
export const pausedWritesMaxDefault = 10_000
/** Longest a write waits while writes are paused before it fails with WRITES_PAUSED. */
export const pauseWaitMsMaxDefault = 30_000

interface Waiter {
  resolve: () => void
  reject: (e: unknown) => void
  timer: NodeJS.Timeout
}

export class WriteGate {
  readonly #id: string
  readonly #pausedWritesMax: number
  readonly #pauseWaitMsMax: number
  #pauses = 0
  #inFlight = 0
  #waiting = new Set<Waiter>()
  #drainWaiters: Array<() => void> = []
  #closed: CairnError | undefined

  constructor(id: string, pausedWritesMax = pausedWritesMaxDefault, pauseWaitMsMax = pauseWaitMsMaxDefault) {
    if (!Number.isSafeInteger(pausedWritesMax) || pausedWritesMax < 0) {
      throw new CairnError('INVALID_CONFIG', `pausedWritesMax must be a non-negative integer (got ${pausedWritesMax})`)
    }
    if (!Number.isFinite(pauseWaitMsMax) || pauseWaitMsMax < 0) {
      throw new CairnError('INVALID_CONFIG', `pauseWaitMsMax must be a non-negative number of milliseconds (got ${pauseWaitMsMax})`)
    }
    this.#id = id
    this.#pausedWritesMax = pausedWritesMax
    this.#pauseWaitMsMax = pauseWaitMsMax
  }

  get paused(): boolean {
    return this.#pauses > 0
  }

  /** Writes that passed the gate and have not settled. */
  get inFlight(): number {
    return this.#inFlight
  }

  /** Writes waiting for a resume. */
  get waiting(): number {
    return this.#waiting.size
  }

  /**
   * Waits for the resume (check `paused` again after: another pause may have begun). Fails with
   * WRITES_PAUSED when the queue is full or the wait passes its bound.
   */
  wait(): Promise<void> {
    if (this.#closed !== undefined) return Promise.reject(this.#closed)
    if (this.#waiting.size >= this.#pausedWritesMax) {
      return Promise.reject(this.#pausedError(`${this.#waiting.size} writes already wait for it`))
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiting.delete(waiter)
          reject(this.#pausedError(`this write waited ${this.#pauseWaitMsMax} ms`))
        }, this.#pauseWaitMsMax),
      }
      this.#waiting.add(waiter)
    })
  }

  /** A write passes the gate: call only when not `paused`, in the step that appends. */
  enter(): void {
    this.#inFlight++
  }

  /** A write that passed the gate settled (applied, or failed). */
  leave(): void {
    this.#inFlight--
    if (this.#inFlight === 0 && this.#drainWaiters.length > 0) {
      const waiters = this.#drainWaiters
      this.#drainWaiters = []
      for (const w of waiters) w()
    }
  }

  /** Stops new writes at once; resolves with the resume once the writes in flight settled. */
  async pause(): Promise<() => void> {
    if (this.#closed !== undefined) throw this.#closed
    this.#pauses++
    let resumed = false
    const resume = (): void => {
      if (resumed) return
      resumed = true
      this.#pauses--
      if (this.#pauses === 0) this.#wakeAll()
    }
    if (this.#inFlight > 0) await new Promise<void>((resolve) => this.#drainWaiters.push(resolve))
    return resume
  }

  /** Fails every waiting write with `error` (the partition closed); later waits fail too. */
  close(error: CairnError): void {
    this.#closed = error
    for (const w of this.#waiting) {
      clearTimeout(w.timer)
      w.reject(error)
    }
    this.#waiting.clear()
  }

  #wakeAll(): void {
    // In queue order: the writes that waited longest are logged first.
    const waiters = [...this.#waiting]
    this.#waiting.clear()
    for (const w of waiters) {
      clearTimeout(w.timer)
      w.resolve()
    }
  }

  #pausedError(why: string): CairnError {
    return new CairnError('WRITES_PAUSED', `partition ${this.#id}: writes are paused (${why}): retry shortly`, {
      context: { partition: this.#id, pausedWritesMax: this.#pausedWritesMax, pauseWaitMsMax: this.#pauseWaitMsMax },
    })
  }
}
