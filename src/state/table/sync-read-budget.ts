/**
 * When a point lookup may read its one block with a blocking read instead of a thread-pool
 * round trip. A block in the OS page cache comes back in microseconds, far less than the hop to
 * the libuv pool and back (tens of microseconds, more when the pool is busy with fsyncs); a
 * block on a cold disk can take milliseconds, during which the event loop stands still. So the
 * budget is adaptive and process-wide (one event loop): `syncReadSlowInARowMax` blocking reads
 * in a row slower than `syncReadSlowMsMax` switch every lookup to the async path for
 * `syncReadBackoffMs`, so a cold disk stalls the loop for at most that many slow reads per
 * backoff period. In a row, because on a loaded machine a read served from memory is now and
 * then slow only because the process was descheduled; a cold disk makes them all slow.
 *
 * Invariant: `syncReadAllowed()` is false for `syncReadBackoffMs` after `syncReadSlowInARowMax`
 * slow reads in a row.
 */

/** A blocking read slower than this was not served from memory. */
export const syncReadSlowMsMax = 1
/** Slow blocking reads in a row after which point lookups read asynchronously for a while. */
export const syncReadSlowInARowMax = 3
/** After `syncReadSlowInARowMax` slow blocking reads in a row, point lookups read asynchronously for this long. */
export const syncReadBackoffMs = 1000

let asyncUntilMs = 0
let slowInARow = 0

/** Whether a point lookup may read its block with a blocking read now. */
export function syncReadAllowed(now: number = performance.now()): boolean {
  return now >= asyncUntilMs
}

/** Records how long a blocking read took (started at `startMs`, ended at `endMs`). */
export function noteSyncRead(startMs: number, endMs: number): void {
  if (endMs - startMs <= syncReadSlowMsMax) {
    slowInARow = 0
    return
  }
  if (++slowInARow < syncReadSlowInARowMax) return
  slowInARow = 0
  asyncUntilMs = endMs + syncReadBackoffMs
}

/** Forgets the slow reads and any backoff (a test that drove the budget leaves it as it found it). */
export function resetSyncReadBudget(): void {
  asyncUntilMs = 0
  slowInARow = 0
}
