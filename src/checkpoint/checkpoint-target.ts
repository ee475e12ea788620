/**
 * Where a checkpoint or a restore is built and how it is published: under a temporary name
 * beside the target (`.<name>.cairn-tmp-<random>`), renamed into place once whole and durable,
 * then the parent fsynced.
 *
 * Invariants:
 * - the target is never written before the rename: it is absent (or an empty directory) until
 *   it appears whole; a non-empty target is TARGET_NOT_EMPTY and is left alone;
 * - temp directories left by a run that died are removed by the next run for the same target
 *   (their names say which target they were for); nothing else beside the target is touched;
 * - a failed run removes its own temp directory (best effort: the next run would otherwise).
 */
import { randomBytes } from 'node:crypto'
import { posix } from 'node:path'
import { mkdirDurable } from '../io/atomic-write.js'
import { CairnError, withIoError } from '../io/errors.js'
import type { FileSystem } from '../io/file-system.js'

const tempMarker = '.cairn-tmp-'

/** The temp name prefix of `target`'s builds: `.<base>.cairn-tmp-`. */
function tempPrefix(target: string): string {
  return `.${posix.basename(target)}${tempMarker}`
}

/** A fresh temp directory path beside `target` (not created). */
export function tempDirFor(target: string): string {
  return posix.join(posix.dirname(target), `${tempPrefix(target)}${randomBytes(6).toString('hex')}`)
}

/** True when `name` (in the target's parent) is a temp directory of a build of `target`. */
export function isTempOf(target: string, name: string): boolean {
  return name.startsWith(tempPrefix(target))
}

/** TARGET_NOT_EMPTY unless `target` is absent or an empty directory. */
export async function assertTargetEmpty(fs: FileSystem, target: string, what: string): Promise<void> {
  const stat = await withIoError('stat', target, () => fs.stat(target))
  if (stat === undefined) return
  if (!stat.isDirectory || (await withIoError('list', target, () => fs.list(target))).length > 0) {
    throw new CairnError('TARGET_NOT_EMPTY', `${target} exists and is not empty: give ${what} a new or empty directory`, { context: { path: target } })
  }
}

/**
 * Prepares the target's parent (created, durable) and removes the temp directories earlier runs
 * for this target left behind (a crash mid-build). Returns the parent.
 */
export async function prepareParent(fs: FileSystem, target: string): Promise<string> {
  const parent = posix.dirname(target)
  await withIoError('create', parent, () => mkdirDurable(fs, parent))
  const names = await withIoError('list', parent, () => fs.list(parent))
  const stale = names.filter((name) => isTempOf(target, name))
  for (const name of stale) await withIoError('remove', posix.join(parent, name), () => fs.removeTree(posix.join(parent, name)))
  if (stale.length > 0) await withIoError('sync directory', parent, () => fs.syncDir(parent))
  return parent
}

/** Renames the whole, durable `temp` to `target` (absent or empty) and fsyncs the parent. */
export async function publish(fs: FileSystem, temp: string, target: string, what: string): Promise<void> {
  await assertTargetEmpty(fs, target, what)
  // An empty target directory goes first: a rename over a directory is not portable.
  if ((await withIoError('stat', target, () => fs.stat(target))) !== undefined) await withIoError('remove', target, () => fs.removeTree(target))
  await withIoError('rename', temp, () => fs.rename(temp, target))
  const parent = posix.dirname(target)
  await withIoError('sync directory', parent, () => fs.syncDir(parent))
}
