/**
 * The trim delay: an archived LSN is trimmed to only once it has been the archived LSN for at
 * least `delayMs` (a lagging reader, or a repository replicated across regions, keeps the log it
 * may still need meanwhile). Observations are kept per partition, oldest first, and forgotten
 * once a later one is old enough.
 *
 * Invariants: the LSN answered was observed at least `delayMs` ago, and never goes down.
 */

/** Observations kept per partition at most (the oldest are merged away beyond it). */
export const trimDelayObservationsMax = 64

export class TrimDelay {
  readonly delayMs: number
  readonly #seen = new Map<string, { lsn: number; atMs: number }[]>()
  readonly #ready = new Map<string, number>()

  constructor(delayMs: number) {
    this.delayMs = delayMs
  }

  /**
   * Records that `archivedLsn` is `partition`'s archived LSN at `nowMs`; returns the LSN that may
   * be trimmed to now (0 while nothing is old enough).
   *
   * @example
   * const delay = new TrimDelay(600_000)
   * const lsn = delay.observe('orders', pointer.archivedLsn, Date.now())
   */
  observe(partition: string, archivedLsn: number, nowMs: number): number {
    if (this.delayMs <= 0) return archivedLsn
    const seen = this.#seen.get(partition) ?? []
    if (seen.length === 0 || seen[seen.length - 1]!.lsn < archivedLsn) seen.push({ lsn: archivedLsn, atMs: nowMs })
    let ready = this.#ready.get(partition) ?? 0
    while (seen.length > 0 && nowMs - seen[0]!.atMs >= this.delayMs) ready = Math.max(ready, seen.shift()!.lsn)
    // Bounded: merging the two oldest keeps the later LSN with the later time (never trims earlier).
    while (seen.length > trimDelayObservationsMax) seen.splice(0, 2, { lsn: seen[1]!.lsn, atMs: seen[1]!.atMs })
    this.#seen.set(partition, seen)
    this.#ready.set(partition, ready)
    return ready
  }
}
