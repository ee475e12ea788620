/**
 * A partition's state as files: the table files and the manifest of the state at its durable
 * LSN, pinned on disk until released (checkpoints, backups, a new replica's bootstrap).
 *
 * Invariants:
 * - the files are pinned from the moment `retainState` is called (it is synchronous, like the
 *   tree's `retainVersion`, so a checkpoint takes it in the same event-loop turn as `cut()`), so no compaction that finishes later deletes them; published table files are
 *   immutable, so a copy made any time before `release()` is the state at `lsn`;
 * - the manifest describes exactly these files, and `lsn` is the LSN through which they hold
 *   every effect: state at `lsn` = these tables, and the log from `lsn + 1` brings it forward.
 */
import { assert } from '../io/assert.js'
import type { RetainedVersion } from '../state/index.js'

/** One table file of a retained state. */
export interface RetainedFile {
  path: string
  bytes: number
}

export interface RetainedState {
  /** The LSN the files hold the state at (the state's durable LSN at the call). */
  lsn: number
  /** The directory the files are in (the state directory; the manifest belongs there too). */
  dir: string
  files: RetainedFile[]
  /** The manifest describing exactly `files` (its bytes; a restore writes them as the state's manifest). */
  manifest: Uint8Array
  /** Unpins the files (compaction may delete them from then on). Idempotent. */
  release(): void
}

/** The retained version as the partition hands it out (synchronous: the pin is taken in the caller's turn). */
export function describeRetained(dir: string, version: RetainedVersion): RetainedState {
  const files = version.tables.map((t) => ({ path: t.path, bytes: t.bytes }))
  assert(files.length === version.files.length, 'every retained file is a table with its size')
  return { lsn: version.durableLsn, dir, files, manifest: version.manifest, release: version.release }
}
