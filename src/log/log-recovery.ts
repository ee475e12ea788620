/**
 * Opening a file log: creating the first segment of a new log, or recovering the segments of an
 * existing one.
 *
 * Invariants:
 * - open fsyncs the directory and the last segment (rewriting the frames no frame proves
 *   fsynced) before it trusts them, so what it reports as durable is;
 * - a torn tail of the last segment is cut (never acknowledged data); damage before it, a gap
 *   between segments, or a segment of another log is CORRUPT_LOG, never skipped;
 * - a read-only open writes nothing: it keeps whatever the writer has, and shows only what a
 *   frame proves fsynced;
 * - a `trustedClean` open (a log this process closed cleanly) skips the fsyncs, which protect
 *   only against what a previous process left unsynced (see `LogOptions.trustedClean`).
 */
import { randomBytes } from 'node:crypto'
import { posix } from 'node:path'
import { assert } from '../io/assert.js'
import { mkdirDurable, tempSuffix } from '../io/atomic-write.js'
import { CorruptionError } from '../io/errors.js'
import type { FileHandle } from '../io/file-system.js'
import type { FileLogConfig } from './file-log-options.js'
import { createSegment, recoverSegment, type Segment } from './segment-file.js'
import { parseSegmentFileName, segmentFileName } from './segment-header.js'

export interface RecoveredLog {
  logId: string
  segments: Segment[]
  /** The last segment, open for writing (for reading in a read-only log). */
  active: FileHandle
}

/** Creates or recovers the log in `config.dir`; a `SyncFailure` means a failed fsync. */
export async function recoverLog(config: FileLogConfig): Promise<RecoveredLog> {
  const { fs, dir, readOnly } = config
  // Trusted only where this process closed the log (its directory exists, durably).
  const trusted = config.trustedClean && !readOnly && (await fs.stat(dir))?.isDirectory === true
  if (!readOnly && !trusted) await mkdirDurable(fs, dir)
  const names = await fs.list(dir)
  const temps = readOnly ? [] : names.filter((n) => n.endsWith(tempSuffix))
  for (const name of temps) await fs.unlink(posix.join(dir, name))
  // A killed writer may have left renames and removals whose directory fsync never ran:
  // they are visible now and may vanish on power loss. Make them durable before trusting.
  if (!readOnly && (!trusted || temps.length > 0)) await fs.syncDir(dir)
  const firsts = names.map(parseSegmentFileName).filter((n): n is number => n !== undefined)
  firsts.sort((a, b) => a - b)
  let logId = config.logId
  if (firsts.length === 0 && readOnly) {
    throw new CorruptionError('CORRUPT_LOG', `log ${dir} has no segment: restore the partition from a backup`, { context: { dir } })
  }
  if (firsts.length === 0) {
    logId ??= randomBytes(16).toString('hex')
    const created = await createSegment(fs, dir, logId, config.startLsn)
    return { logId, segments: [created.segment], active: created.handle }
  }
  const segments: Segment[] = []
  for (const [i, firstLsn] of firsts.entries()) {
    const recovered = await recoverSegment(fs, dir, firstLsn, logId, i === firsts.length - 1, readOnly, trusted)
    logId ??= recovered.logId
    const previous = segments[segments.length - 1]
    if (previous !== undefined && previous.lastLsn + 1 !== firstLsn) {
      throw new CorruptionError(
        'CORRUPT_LOG',
        `log ${dir} has a gap: segment ${segmentFileName(firstLsn)} starts at LSN ${firstLsn} but the one before ends at ${previous.lastLsn}: restore the partition from a snapshot or backup`,
        { context: { dir, firstLsn, previousLastLsn: previous.lastLsn } },
      )
    }
    segments.push(recovered.segment)
  }
  const active = await fs.open(segments[segments.length - 1]!.path, readOnly ? 'read' : 'readWrite')
  assert(logId !== undefined, 'log id known after open')
  return { logId, segments, active }
}
