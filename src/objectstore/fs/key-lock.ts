/**
 * The per-key lock of the `file://` store: held by every put that replaces an object (`ifMatch`
 * and unconditional) and by delete, so that an `ifMatch` compare and its rename are one step for
 * every other writer, in this process and in others.
 *
 * Invariants:
 * - in this process, holders of one lock path queue on a promise chain, so only one of them at a
 *   time asks the file system; a simulated crash (a new `fs.generation`) starts a new queue,
 *   since the dead holders never leave theirs;
 * - across processes, where the file system offers an OS lock (`lockExclusive`), the kernel
 *   decides, and the lock dies with its holder (a killed process never leaves a stuck key);
 * - elsewhere (MemoryFileSystem, or no native addon), a lock file published whole (`link` of a
 *   synced temp file) naming pid, host and a token; it is stale only when its owner is provably
 *   gone (same host and a dead pid, or this process and a token it no longer holds, as after a
 *   simulated crash), and a taker renames a stale file aside and checks it is the one it judged
 *   (the steps are io/owner-file.ts's; a file naming no host or token is never judged stale);
 * - a taker waits at most `keyLockWaitMsMax`, then fails with `OBJECT_STORE_ERROR` naming the file.
 */
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { CairnError, IoError, isAlreadyExists, isNotFound } from '../../io/errors.js'
import type { FileSystem } from '../../io/file-system.js'
import { encodeOwner, isOwnerGone, LiveTokens, parseOwner, readOwnerFile, removeStaleOwner, writeOwnerTemp } from '../../io/owner-file.js'

/** How long a put or delete waits for another writer of the same key. */
export const keyLockWaitMsMax = 30_000
/** The pause between two attempts to take a lock another process holds (doubling up to the max). */
const retryPauseMsMin = 1
const retryPauseMsMax = 50

export interface HeldKeyLock {
  release(): Promise<void>
}

/** In-process queues, by file system and lock path. */
const queues = new WeakMap<FileSystem, Map<string, Promise<void>>>()
/** Tokens of lock files this process holds, with the crash generation that took them. */
const liveTokens = new LiveTokens()

/**
 * Takes the lock at `path`.
 *
 * @example
 * const lock = await lockKey(fs, '/repo/.cairn/locks/3f...e1.lock')
 * try { ... } finally { await lock.release() }
 */
export async function lockKey(fs: FileSystem, path: string): Promise<HeldKeyLock> {
  let paths = queues.get(fs)
  if (paths === undefined) {
    paths = new Map()
    queues.set(fs, paths)
  }
  // By crash generation too: holders from before a simulated crash are dead and never leave.
  const slot = `${fs.generation ?? 0}:${path}`
  const before = paths.get(slot) ?? Promise.resolve()
  let leave!: () => void
  const mine = new Promise<void>((resolve) => {
    leave = resolve
  })
  const tail = before.then(() => mine)
  paths.set(slot, tail)
  const done = (): void => {
    leave()
    if (paths.get(slot) === tail) paths.delete(slot)
  }
  await before
  try {
    const held = await lockAcrossProcesses(fs, path)
    return {
      async release() {
        try {
          await held.release()
        } finally {
          done()
        }
      },
    }
  } catch (e) {
    done()
    throw e
  }
}

async function lockAcrossProcesses(fs: FileSystem, path: string): Promise<HeldKeyLock> {
  const token = randomUUID()
  const owner = encodeOwner(token)
  const deadline = Date.now() + keyLockWaitMsMax
  let pause = retryPauseMsMin
  for (;;) {
    const held = fs.lockExclusive !== undefined ? await osLock(fs, path, owner) : await fileLock(fs, path, token, owner)
    if (held !== undefined) return held
    if (Date.now() >= deadline) {
      throw new CairnError(
        'OBJECT_STORE_ERROR',
        `another writer held the lock ${path} for over ${keyLockWaitMsMax} ms: if no cairn process is writing this repository, remove the file and retry`,
        { context: { path } },
      )
    }
    await sleep(pause * (0.5 + Math.random()))
    pause = Math.min(pause * 2, retryPauseMsMax)
  }
}

async function osLock(fs: FileSystem, path: string, owner: Uint8Array): Promise<HeldKeyLock | undefined> {
  try {
    return await fs.lockExclusive!(path, owner)
  } catch (e) {
    throw new IoError('lock', path, e)
  }
}

/** One attempt of the lock-file protocol; `undefined` when a live owner holds it. */
async function fileLock(fs: FileSystem, path: string, token: string, owner: Uint8Array): Promise<HeldKeyLock | undefined> {
  const temp = `${path}.${token}.tmp`
  try {
    await writeOwnerTemp(fs, temp, owner)
    try {
      await fs.link(temp, path)
      return heldFile(fs, path, token)
    } catch (e) {
      if (!isAlreadyExists(e)) throw e
    }
    const bytes = await readOwnerFile(fs, path)
    if (bytes === undefined || !isStale(bytes)) return undefined
    // Whatever it found (removed, gone, or another taker's lock given back), the next attempt decides.
    await removeStaleOwner(fs, path, `${path}.${token}.stale`, bytes)
    return undefined
  } catch (e) {
    throw new IoError('lock', path, e)
  } finally {
    await fs.unlink(temp).catch(() => undefined)
  }
}

function heldFile(fs: FileSystem, path: string, token: string): HeldKeyLock {
  const generation = fs.generation
  liveTokens.add(token, fs)
  return {
    async release() {
      liveTokens.delete(token)
      // After a (simulated) crash the lock died with its process; someone else may hold the file.
      if (fs.generation !== generation) return
      const bytes = await readOwnerFile(fs, path)
      if (bytes === undefined || parseOwner(bytes)?.token !== token) return
      await fs.unlink(path).catch((e) => {
        if (!isNotFound(e)) throw new IoError('unlock', path, e)
      })
    },
  }
}

function isStale(bytes: Uint8Array): boolean {
  const owner = parseOwner(bytes)
  // Published whole by link, so unreadable (or naming no host or token) means not ours: never guess it away.
  if (owner?.host === undefined || owner.token === undefined) return false
  return isOwnerGone(owner, liveTokens)
}
