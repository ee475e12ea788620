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
  const handle = await fs.open(temp, 'createOrTruncate')
  try {
    await handle.write(data, 0)
    await handle.sync()
  } finally {
    await handle.close()
  }
  await fs.rename(temp, path)
  await fs.syncDir(posix.dirname(path))
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
