/**
 * The file steps of making and restoring a checkpoint, through the file-system seam (so fault
 * injection and the crash model apply): link or copy a file, copy a file's first bytes, hash a
 * file.
 *
 * Invariants:
 * - a copy is written under its final name in a directory nobody else uses (the checkpoint's
 *   temp directory) and fsynced before it counts; its digest is of the bytes written;
 * - a link falls back to a copy only across devices or where links are not supported (`EXDEV`,
 *   `EPERM`, `ENOTSUP`, `EMLINK`); any other failure surfaces;
 * - a copy reads exactly `bytes` bytes: a shorter source is an error (the file changed under us),
 *   never a short copy.
 */
import { createHash } from 'node:crypto'
import { CairnError, IoError } from '../io/errors.js'
import type { FileHandle, FileSystem } from '../io/file-system.js'

/** Bytes read or written per I/O call of a copy or a hash. */
export const copyChunkBytes = 1024 * 1024

/** Link errors that mean "this pair of paths cannot be linked", so a copy will do. */
const linkUnsupported = new Set(['EXDEV', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK'])

export function isLinkUnsupported(e: unknown): boolean {
  return linkUnsupported.has((e as NodeJS.ErrnoException)?.code ?? '')
}

/** Progress of one file being copied or hashed: called with the bytes done since the last call. */
export type BytesProgress = (bytes: number) => void

/**
 * Copies the first `bytes` bytes of `from` to the new file `to`, fsyncs it, and returns the
 * SHA-256 of what it wrote.
 */
export async function copyPrefix(fs: FileSystem, from: string, to: string, bytes: number, progress?: BytesProgress): Promise<string> {
  const hash = createHash('sha256')
  const source = await withIo('open', from, () => fs.open(from, 'read'))
  try {
    const out = await withIo('create', to, () => fs.open(to, 'createNew'))
    try {
      const buffer = new Uint8Array(Math.min(copyChunkBytes, Math.max(bytes, 1)))
      let position = 0
      while (position < bytes) {
        const want = Math.min(buffer.length, bytes - position)
        const n = await readSome(source, buffer, want, position, from)
        const chunk = buffer.subarray(0, n)
        await withIo('write', to, () => out.write(chunk, position))
        hash.update(chunk)
        position += n
        progress?.(n)
      }
      await withIo('fsync', to, () => out.sync())
    } finally {
      await closeHandle(out)
    }
  } finally {
    await closeHandle(source)
  }
  return hash.digest('hex')
}

/** SHA-256 of the first `bytes` bytes of `path` (which must have them). */
export async function hashFile(fs: FileSystem, path: string, bytes: number, progress?: BytesProgress): Promise<string> {
  const hash = createHash('sha256')
  const handle = await withIo('open', path, () => fs.open(path, 'read'))
  try {
    const buffer = new Uint8Array(Math.min(copyChunkBytes, Math.max(bytes, 1)))
    let position = 0
    while (position < bytes) {
      const n = await readSome(handle, buffer, Math.min(buffer.length, bytes - position), position, path)
      hash.update(buffer.subarray(0, n))
      position += n
      progress?.(n)
    }
  } finally {
    await closeHandle(handle)
  }
  return hash.digest('hex')
}

/**
 * Hard-links `from` as `to`; where that cannot be done (another device, no link support),
 * copies the first `bytes` bytes instead. Returns how, and the copy's digest when it copied.
 */
export async function linkOrCopy(
  fs: FileSystem,
  from: string,
  to: string,
  bytes: number,
  progress?: BytesProgress,
): Promise<{ linked: true } | { linked: false; sha256: string }> {
  try {
    await fs.link(from, to)
    return { linked: true }
  } catch (e) {
    if (!isLinkUnsupported(e)) throw new IoError('link', from, e)
  }
  return { linked: false, sha256: await copyPrefix(fs, from, to, bytes, progress) }
}

/** Every file under `root`, as relative paths, sorted; directories as a second list. */
export async function listTree(fs: FileSystem, root: string): Promise<{ files: string[]; dirs: string[] }> {
  const files: string[] = []
  const dirs: string[] = []
  const walk = async (relative: string): Promise<void> => {
    const absolute = relative === '' ? root : `${root}/${relative}`
    for (const name of await withIo('list', absolute, () => fs.list(absolute))) {
      const child = relative === '' ? name : `${relative}/${name}`
      const stat = await withIo('stat', `${root}/${child}`, () => fs.stat(`${root}/${child}`))
      if (stat === undefined) continue
      if (stat.isDirectory) {
        dirs.push(child)
        await walk(child)
      } else files.push(child)
    }
  }
  await walk('')
  return { files: files.sort(), dirs: dirs.sort() }
}

async function readSome(handle: FileHandle, buffer: Uint8Array, want: number, position: number, path: string): Promise<number> {
  const n = await withIo('read', path, () => handle.read(buffer, 0, want, position))
  if (n <= 0) {
    throw new CairnError('CORRUPT_CHECKPOINT', `${path} ended at ${position} bytes, before the bytes a checkpoint expected of it: it changed or was cut while being read`, {
      context: { path, position },
    })
  }
  return n
}

/** Closes a handle; a failed close is an IoError (it may hide a failed writeback). */
export function closeHandle(handle: FileHandle): Promise<void> {
  return withIo('close', handle.path, () => handle.close())
}

async function withIo<T>(operation: string, path: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (e) {
    if (e instanceof CairnError) throw e
    throw new IoError(operation, path, e)
  }
}
