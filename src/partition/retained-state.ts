/**
 * A partition's state as files: the table files and the manifest of the state at its durable
 * LSN, pinned on disk until released (checkpoints, backups, a new replica's bootstrap).
 *
 * Invariants:
 * - the files are pinned from the moment `retainState` is called (the tree's `retainVersion`,
 *   synchronous), so no compaction that finishes later deletes them; published table files are
 *   immutable, so a copy made any time before `release()` is the state at `lsn`;
 * - the manifest describes exactly these files, and `lsn` is the LSN through which they hold
 *   every effect: state at `lsn` = these tables, and the log from `lsn + 1` brings it forward.
 */
import { assert } from '../io/assert.js'
import type { FileSystem } from '../io/file-system.js'
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

/** The retained version with each file's size (the files are pinned and immutable: stat is the size). */
export async function describeRetained(fs: FileSystem, dir: string, version: RetainedVersion): Promise<RetainedState> {
  try {
    const files: RetainedFile[] = []
    for (const path of version.files) {
      const stat = await fs.stat(path)
      assert(stat !== undefined, `a retained table file exists (${path})`)
      files.push({ path, bytes: stat.size })
    }
    return { lsn: version.durableLsn, dir, files, manifest: version.manifest, release: version.release }
  } catch (e) {
    version.release()
    throw e
  }
}
