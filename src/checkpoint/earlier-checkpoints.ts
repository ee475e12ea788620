/**
 * Earlier checkpoints a new one may share files with (`linkFrom`): a file it copies that one of
 * them holds identically is linked from there instead, and a file one of them holds as the very
 * same file (one inode) takes its digest from there instead of being read again.
 *
 * Invariants:
 * - an optimization only: an earlier checkpoint that cannot be read, or a link that fails, falls
 *   back to what the checkpoint does without it (keep the copy, hash the file);
 * - "identical" is same relative path, size and SHA-256 as recorded in its CHECKPOINT.json; a
 *   digest is reused only for the same inode at the same size;
 * - a copy is replaced by a link in one rename, so the checkpoint's file is whole at every moment.
 */
import { posix } from 'node:path'
import { withIoError } from '../io/errors.js'
import type { FileSystem } from '../io/file-system.js'
import { type CheckpointFile, readCheckpointManifest } from './checkpoint-manifest.js'

/** The files of the earlier checkpoints by relative path. */
export type EarlierCheckpoints = Map<string, Array<{ dir: string; file: CheckpointFile }>>

/** A file of the new checkpoint, as its relative path and size. */
interface FileRef {
  path: string
  bytes: number
}

/**
 * The files of the earlier checkpoints by relative path; unreadable ones are skipped.
 *
 * @example
 * const earlier = await readEarlierCheckpoints(fs, ['/backups/a', '/backups/b'])
 */
export async function readEarlierCheckpoints(fs: FileSystem, dirs: string[]): Promise<EarlierCheckpoints> {
  const byPath: EarlierCheckpoints = new Map()
  for (const dir of dirs) {
    const absolute = posix.resolve(dir)
    const manifest = await readCheckpointManifest(absolute, { fs }).catch(() => undefined)
    for (const file of manifest?.files ?? []) {
      const list = byPath.get(file.path) ?? []
      list.push({ dir: absolute, file })
      byPath.set(file.path, list)
    }
  }
  return byPath
}

/** Replaces the copy at `to` by a link to an identical file of an earlier checkpoint, if one has it. */
export async function linkEarlier(fs: FileSystem, to: string, f: FileRef, sha256: string, earlier: EarlierCheckpoints): Promise<boolean> {
  const match = earlier.get(f.path)?.find((c) => c.file.bytes === f.bytes && c.file.sha256 === sha256)
  if (match === undefined) return false
  const aside = `${to}.link`
  try {
    await fs.link(posix.join(match.dir, f.path), aside)
  } catch {
    return false
  }
  await withIoError('rename', aside, () => fs.rename(aside, to))
  return true
}

/**
 * The digest an earlier checkpoint recorded for the very file `to` links (same relative path and
 * size, and one identity: the same inode), if one has it: no need to read it again.
 */
export async function digestOfSameFile(fs: FileSystem, to: string, f: FileRef, earlier: EarlierCheckpoints): Promise<string | undefined> {
  const candidates = earlier.get(f.path)?.filter((c) => c.file.bytes === f.bytes) ?? []
  if (candidates.length === 0) return undefined
  const identity = (await withIoError('stat', to, () => fs.stat(to)))?.identity
  if (identity === undefined) return undefined
  for (const c of candidates) {
    const other = await fs.stat(posix.join(c.dir, f.path)).catch(() => undefined)
    if (other?.identity === identity && other.size === f.bytes) return c.file.sha256
  }
  return undefined
}
