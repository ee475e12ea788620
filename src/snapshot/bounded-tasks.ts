/**
 * At most `limit` async tasks in flight: `run` waits for a free slot, `drain` for all. The first
 * failure is kept and rethrown by `run` and `drain`, so a producer stops feeding a failed batch.
 */
export class BoundedTasks {
  readonly #limit: number
  readonly #running = new Set<Promise<void>>()
  #failure: { error: unknown } | undefined

  constructor(limit: number) {
    this.#limit = Math.max(1, limit)
  }

  /** @example await tasks.run(() => upload(chunk)) */
  async run(task: () => Promise<void>): Promise<void> {
    while (this.#running.size >= this.#limit) await Promise.race(this.#running)
    this.#throwIfFailed()
    const p: Promise<void> = task()
      .catch((error: unknown) => {
        this.#failure ??= { error }
      })
      .finally(() => this.#running.delete(p))
    this.#running.add(p)
  }

  async drain(): Promise<void> {
    while (this.#running.size > 0) await Promise.race(this.#running)
    this.#throwIfFailed()
  }

  /** Waits for every task, never throws (for `finally`, after a failure elsewhere). */
  async settle(): Promise<void> {
    while (this.#running.size > 0) await Promise.race(this.#running)
  }

  #throwIfFailed(): void {
    if (this.#failure !== undefined) throw this.#failure.error
  }
}
