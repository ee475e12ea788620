/**
 * Following a file log: tailing it as records arrive, and, for a read-only log beside a live
 * writer, picking up what the writer added (refresh, poll).
 *
 * Invariants:
 * - a tail yields every acknowledged record from its start LSN once, in order; it ends when the
 *   log closes, when its signal aborts, or, on a sealed log, once it has yielded the last record;
 * - a read-only log shows LSN n only once a frame says the writer had fsynced n (every frame
 *   carries the writer's durable LSN; a sealed segment is wholly fsynced). A reader lags by at
 *   most the groups in flight plus its poll interval; under 'none' durability, by what was
 *   written since the last `sync()`;
 * - refresh lists the directory before it scans: a segment listed then was sealed before, so
 *   the scan sees all of the one before it; segments the writer trimmed are dropped, oldest first.
 */
import { CorruptionError, IoError, isCairnError } from '../io/errors.js'
import type { LogEntry } from './frame.js'
import type { LogState } from './log-state.js'
import { readLogBatches } from './log-reader.js'
import { extendSegment, recoverSegment } from './segment-file.js'
import { parseSegmentFileName, segmentFileName } from './segment-header.js'

/** Reads from `fromLsn`, then waits for new entries until the log closes, seals past its end, or `signal` aborts. */
export async function* tailLog(state: LogState, fromLsn: number, signal: AbortSignal | undefined, pollIntervalMs: number): AsyncGenerator<LogEntry> {
  let next = fromLsn
  while (!state.closed && signal?.aborted !== true) {
    if (next <= state.lastLsn) {
      for await (const batch of readLogBatches(state, next)) {
        for (const entry of batch) yield entry
        next = batch[batch.length - 1]!.lsn + 1
      }
      continue
    }
    // A sealed log's end is final once the appends queued before the seal landed.
    if (state.ended) return
    await (state.readOnly ? poll(state, signal, pollIntervalMs) : waitForCommit(state, signal))
  }
}

function waitForCommit(state: LogState, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
    state.commitWaiters.push(done)
  })
}

async function poll(state: LogState, signal: AbortSignal | undefined, pollIntervalMs: number): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, pollIntervalMs)
    function done(): void {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })
  if (signal?.aborted !== true) await refreshLog(state)
}

/**
 * Read-only mode: picks up records and segments the writer added since the last look, and
 * drops segments it trimmed. Returns whether there are new records.
 */
export async function refreshLog(state: LogState): Promise<boolean> {
  if (state.closed) return false
  const before = state.lastLsn
  try {
    // List first: a segment listed here was sealed before, so the scan below sees all of
    // the one before it.
    const firsts = (await state.fs.list(state.dir)).map(parseSegmentFileName).filter((n): n is number => n !== undefined)
    firsts.sort((a, b) => a - b)
    const listed = new Set(firsts)
    while (state.segments.length > 1 && !listed.has(state.segments[0]!.firstLsn)) state.segments.shift()
    let last = state.activeSegment
    const newer = firsts.filter((f) => f > last.firstLsn)
    await extendSegment(state.fs, last, newer.length === 0)
    for (const [i, firstLsn] of newer.entries()) {
      const isLast = i === newer.length - 1
      const recovered = await recoverSegment(state.fs, state.dir, firstLsn, state.logId, isLast, true)
      if (firstLsn !== last.lastLsn + 1) {
        throw new CorruptionError('CORRUPT_LOG', `log ${state.dir} has a gap before segment ${segmentFileName(firstLsn)}`, {
          context: { dir: state.dir, firstLsn, previousLastLsn: last.lastLsn },
        })
      }
      state.segments.push(recovered.segment)
      last = recovered.segment
    }
  } catch (e) {
    throw isCairnError(e) ? e : new IoError('refresh log', state.dir, e)
  }
  if (state.lastLsn > before) state.wakeCommit()
  return state.lastLsn > before
}
