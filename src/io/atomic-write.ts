/**
 * Publishing a small file atomically (invariant 3): write a temp name, fsync it, rename over
 * the target, fsync the directory. A reader sees the old contents or the new, never a mix; after
 * power loss the same holds.
 */
import { posix } from 'node:path'
import type { FileSystem } from './file-system.js'

export const tempSuffix = '.tmp'

export async function atomicWriteFile(fs: FileSystem, path: string, data: Uint8Array): Promise<void> {
  const temp = path + tempSuffix
  await writeSyncedFile(fs, temp, data, 'createOrTruncate')
  await fs.rename(temp, path)
  await fs.syncDir(posix.dirname(path))
}

/**
 * Writes `data` to `path` (opened with `mode`) and fsyncs it: a file whole on disk before it is
 * published by a rename or a link. The name is not durable until its directory is synced.
 */
export async function writeSyncedFile(fs: FileSystem, path: string, data: Uint8Array, mode: 'createNew' | 'createOrTruncate'): Promise<void> {
  const handle = await fs.open(path, mode)
  try {
    await handle.write(data, 0)
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/**
 * Creates `path` (and missing parents) and makes its entry durable in its parent. The parent is
 * fsynced even when `path` exists: it may be there only because another process created it and
 * died before its fsync, and a power loss would still take it away.
 */
export async function mkdirDurable(fs: FileSystem, path: string): Promise<void> {
  const parent = posix.dirname(path)
  if (parent !== path && (await fs.stat(parent)) === undefined) await mkdirDurable(fs, parent)
  if ((await fs.stat(path)) === undefined) await fs.mkdir(path)
  if (parent !== path) await fs.syncDir(parent)
}
