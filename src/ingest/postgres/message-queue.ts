/**
 * The queue between the replication stream and the stream applier, with backpressure: the
 * stream pushes synchronously in its order; the applier takes one message at a time.
 *
 * Invariants:
 * - messages come out in the order they went in, each once;
 * - at `queuedMessagesMax` queued the source is paused (its socket is no longer read), and it is
 *   resumed once the applier has taken the queue below half of that: the queue stays bounded
 *   however far the applier falls behind, without pausing and resuming on every message.
 */
import type { PgLsn } from './lsn.js'
import type { PgoutputMessage } from './pgoutput.js'

/** Messages queued before the socket is paused (backpressure). */
export const queuedMessagesMax = 20_000

/**
 * @example
 * const queue = new MessageQueue({ pause: () => stream.pause(), resume: () => stream.resume() })
 * queue.push(msg, walEnd)
 * const next = queue.shift() ?? (await queue.wait(), undefined)
 */
export class MessageQueue {
  readonly #source: { pause: () => void; resume: () => void }
  readonly #items: { msg: PgoutputMessage; walEnd: PgLsn }[] = []
  #wake: (() => void) | undefined
  #paused = false

  constructor(source: { pause: () => void; resume: () => void }) {
    this.#source = source
  }

  push(msg: PgoutputMessage, walEnd: PgLsn): void {
    this.#items.push({ msg, walEnd })
    if (!this.#paused && this.#items.length >= queuedMessagesMax) {
      this.#paused = true
      this.#source.pause()
    }
    this.wake()
  }

  /** The next message, or `undefined` when none is queued. */
  shift(): { msg: PgoutputMessage; walEnd: PgLsn } | undefined {
    const next = this.#items.shift()
    if (next !== undefined && this.#paused && this.#items.length < queuedMessagesMax / 2) {
      this.#paused = false
      this.#source.resume()
    }
    return next
  }

  /** Resolves at the next `push` or `wake`. */
  async wait(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.#wake = resolve
    })
    this.#wake = undefined
  }

  /** Ends a `wait` (something besides a message needs the applier's attention). */
  wake(): void {
    this.#wake?.()
  }
}
