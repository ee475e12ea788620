/**
 * Brings the planned files of a checkpoint from the store into its temp directory: links what is
 * immutable, copies what the source may change, and records each file's SHA-256.
 *
 * Invariants:
 * - each file is made under its final relative path in the temp directory, a copy is fsynced
 *   before it counts (checkpoint-files.ts), and its digest is of the bytes the checkpoint holds;
 * - a lone last segment is copied from the frame holding `tailFromLsn` on, and its plan entry
 *   takes the tail's name, first LSN and size (the catalog names what the checkpoint holds);
 * - a digest is read again only when neither this process (the store's immutable files never
 *   reuse a path) nor an earlier checkpoint (the same inode) knows it already;
 * - at most `checkpointFileConcurrency` files are in flight; progress counts each byte once.
 */
import { posix } from 'node:path'
import { IoError, isCairnError } from '../io/errors.js'
import type { FileSystem } from '../io/file-system.js'
import { copySegmentSuffix } from '../log/index.js'
import type { Store } from '../partition/index.js'
import { copyPrefix, hashFile, linkOrCopy } from './checkpoint-files.js'
import type { CheckpointFile } from './checkpoint-manifest.js'
import type { PlannedFile } from './checkpoint-plan.js'
import type { CheckpointProgressMeter } from './checkpoint-progress.js'
import { digestOfSameFile, type EarlierCheckpoints, linkEarlier } from './earlier-checkpoints.js'
import { runLimited } from './run-limited.js'

/** Files linked, copied or hashed at once (overlaps the latency of many small file operations). */
export const checkpointFileConcurrency = 8

/** Digests of the store's immutable files this process already read: their paths are never reused. */
const knownDigests = new WeakMap<Store, Map<string, { bytes: number; sha256: string }>>()

export interface CopiedFiles {
  /** One entry a planned file, in the order they were finished. */
  files: CheckpointFile[]
  /** Files hard-linked (from the store, or from an earlier checkpoint). */
  linkedFiles: number
  /** Files copied from the store. */
  copiedFiles: number
}

/**
 * @example
 * const { files } = await copyPlannedFiles(store, plan.files, temp, earlier, meter)
 */
export async function copyPlannedFiles(store: Store, planned: PlannedFile[], temp: string, earlier: EarlierCheckpoints, progress: CheckpointProgressMeter): Promise<CopiedFiles> {
  const fs: FileSystem = store.fs
  const digests = knownDigests.get(store) ?? new Map<string, { bytes: number; sha256: string }>()
  const nextDigests = new Map<string, { bytes: number; sha256: string }>()
  const files: CheckpointFile[] = []
  let linkedFiles = 0
  let copiedFiles = 0
  await runLimited(planned, checkpointFileConcurrency, async (f) => {
    const to = posix.join(temp, f.path)
    let sha256: string
    if (f.tailFromLsn !== undefined) {
      let copied = 0
      const counted = (n: number): void => {
        copied += n
        progress.bytes(n)
      }
      const tail = await copySegmentSuffix(fs, f.from, f.bytes, f.tailFromLsn, posix.dirname(to), counted).catch((e: unknown) => {
        throw isCairnError(e) ? e : new IoError('copy', f.from, e)
      })
      // The frames the state holds were skipped: done too.
      progress.bytes(f.bytes - copied)
      f.path = posix.join(posix.dirname(f.path), posix.basename(tail.path))
      f.log!.firstLsn = tail.firstLsn
      f.bytes = tail.bytes
      sha256 = tail.sha256
      if (await linkEarlier(fs, tail.path, f, sha256, earlier)) linkedFiles++
      else copiedFiles++
    } else if (f.copy) {
      sha256 = await copyPrefix(fs, f.from, to, f.bytes, progress.bytes)
      if (await linkEarlier(fs, to, f, sha256, earlier)) linkedFiles++
      else copiedFiles++
    } else {
      const made = await linkOrCopy(fs, f.from, to, f.bytes, progress.bytes)
      if (made.linked) {
        linkedFiles++
        const known = digests.get(f.from)
        sha256 = known?.bytes === f.bytes ? known.sha256 : ((await digestOfSameFile(fs, to, f, earlier)) ?? (await hashFile(fs, to, f.bytes)))
        nextDigests.set(f.from, { bytes: f.bytes, sha256 })
        progress.bytes(f.bytes)
      } else {
        copiedFiles++
        sha256 = made.sha256
      }
    }
    files.push({ path: f.path, bytes: f.bytes, sha256 })
    progress.file()
  })
  knownDigests.set(store, nextDigests)
  return { files, linkedFiles, copiedFiles }
}
