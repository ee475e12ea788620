/**
 * An exclusive OS-level lock on a named file (Linux open-file-description locks through the
 * `fs-native-extensions` addon; flock on macOS, LockFileEx on Windows): the kernel drops it when
 * its holder dies, so no one has to guess whether a pid is alive, and a second open of the file
 * in the same process conflicts too.
 *
 * Invariants:
 * - the named file is never visible empty: the owner text is written to a unique temp file,
 *   which is locked before it gets the name (by `link`, or by `rename` over a dead holder's file);
 * - whoever holds the lock of the inode the name points to owns it: after locking an existing
 *   file the taker checks the name still points to it (its holder may have removed it);
 * - release removes the name only while still holding the lock and only if the name still points
 *   to the locked inode, so it never removes someone else's lock.
 */
import { randomUUID } from 'node:crypto'
import nodeFs, { promises as fsp } from 'node:fs'
import { createRequire } from 'node:module'
import { promisify } from 'node:util'

interface NativeExtensions {
  /** false when another open file description holds a conflicting lock */
  tryLock(fd: number): boolean
}

/** A lock held on a file; `release` removes the file's name and drops the lock. */
export interface HeldFileLock {
  release(): Promise<void>
}

/** Retries when the file changes under us (its holder removed or replaced it meanwhile). */
export const lockAttemptsMax = 16

const openFd = promisify(nodeFs.open)
const writeFd = promisify(nodeFs.write)
const fstatFd = promisify(nodeFs.fstat)
const closeFd = promisify(nodeFs.close)

function loadNative(): NativeExtensions | undefined {
  try {
    return createRequire(import.meta.url)('fs-native-extensions') as NativeExtensions
  } catch {
    // No prebuilt binary for this platform: callers fall back to the lock-file protocol.
    return undefined
  }
}

/** The addon, or undefined where it cannot load. */
export const nativeLocks: NativeExtensions | undefined = loadNative()

const code = (e: unknown) => (e as NodeJS.ErrnoException).code

async function sameFile(fd: number, path: string): Promise<boolean> {
  const [held, named] = await Promise.all([fstatFd(fd, { bigint: true }), fsp.stat(path, { bigint: true }).catch(() => undefined)])
  return named !== undefined && held.ino === named.ino && held.dev === named.dev
}

/**
 * Locks `path` exclusively, creating it with `owner` as its contents; `undefined` when another
 * open file holds it.
 *
 * @example
 * const lock = await lockFileExclusive(native, '/data/LOCK', bytes)
 * if (lock === undefined) throw new Error('in use')
 * await lock.release()
 */
export async function lockFileExclusive(native: NativeExtensions, path: string, owner: Uint8Array): Promise<HeldFileLock | undefined> {
  const temp = `${path}.${randomUUID()}.tmp`
  const fd = await openFd(temp, 'wx+', 0o644)
  let held = false
  try {
    await writeFd(fd, owner, 0, owner.length, 0)
    if (!native.tryLock(fd)) throw new Error(`${temp}: a new file refused its lock`)
    for (let attempt = 0; attempt < lockAttemptsMax; attempt++) {
      try {
        await fsp.link(temp, path)
        held = true
        return heldLock(fd, path)
      } catch (e) {
        // Our temp file is gone: only a new owner cleans up leftover temp files.
        if (code(e) === 'ENOENT') return undefined
        if (code(e) !== 'EEXIST') throw e
      }
      const existing = await lockExisting(native, path)
      if (existing === 'locked') return undefined
      if (existing === 'gone') continue
      // We hold the dead holder's lock, so no one else can be replacing it now.
      try {
        await fsp.rename(temp, path)
        held = true
        return heldLock(fd, path)
      } finally {
        await closeFd(existing)
      }
    }
    return undefined
  } finally {
    // After `link` the temp name is a second name of the lock file; after `rename` it is gone.
    await fsp.unlink(temp).catch(() => undefined)
    if (!held) await closeFd(fd)
  }
}

/** Locks the file named `path`: its fd if the name still points to it, else why not. */
async function lockExisting(native: NativeExtensions, path: string): Promise<number | 'locked' | 'gone'> {
  let fd: number
  try {
    // Write access: an OFD write lock needs a descriptor open for writing.
    fd = await openFd(path, 'r+')
  } catch (e) {
    if (code(e) === 'ENOENT') return 'gone'
    throw e
  }
  let keep = false
  try {
    if (!native.tryLock(fd)) return 'locked'
    if (!(await sameFile(fd, path))) return 'gone'
    keep = true
    return fd
  } finally {
    if (!keep) await closeFd(fd)
  }
}

function heldLock(fd: number, path: string): HeldFileLock {
  let released = false
  return {
    async release() {
      if (released) return
      released = true
      try {
        if (await sameFile(fd, path)) await fsp.unlink(path)
      } finally {
        await closeFd(fd)
      }
    },
  }
}
