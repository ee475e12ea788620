/**
 * One opener owns a store at a time, in every interleaving of openers in this process and in
 * other processes.
 *
 * Invariants:
 * - in this process, an opener registers the store (file system + directory) synchronously,
 *   before its first await, so two opens started together cannot both pass (a simulated crash,
 *   a new `fs.generation`, frees the registration);
 * - across processes, where the file system offers an OS lock (`lockExclusive`, the real disk),
 *   the kernel decides: the lock dies with its holder, so no pid is guessed at;
 * - elsewhere, the lock file is published whole (written and synced under a unique temp name,
 *   then `link`ed: never visible empty); a lock is stale only if its owner is provably gone (same
 *   host and a dead pid, or this process and a token it no longer holds), and a takeover renames
 *   the stale file aside and checks it is the one judged stale before publishing its own (the
 *   steps are io/owner-file.ts's; an empty or cut-short file, from an older cairn, is stale);
 * - release never touches a lock it no longer holds: not after a simulated crash, and not when
 *   the file names another token.
 *
 * Known limit of the lock-file protocol only (file systems without an OS lock: tests, and
 * platforms where the addon has no prebuilt binary): when three or more processes take over the
 * same stale lock at once, a taker that moved a fresh lock aside and puts it back can find a
 * third taker's lock published meanwhile, and two owners result. Two racing takers are safe.
 */
import { randomUUID } from 'node:crypto'
import { posix } from 'node:path'
import { tempSuffix } from '../io/atomic-write.js'
import { CairnError, IoError, isAlreadyExists, isNotFound } from '../io/errors.js'
import type { FileSystem } from '../io/file-system.js'
import { encodeOwner, isOwnerGone, LiveTokens, type LockOwner, parseOwner, readOwnerFile, removeStaleOwner, writeOwnerTemp } from '../io/owner-file.js'

export const lockFileName = 'LOCK'
/** Bounded retries when the lock file changes under a taker (another taker got there first). */
export const lockAttemptsMax = 8

/** errno codes that mean the file system cannot lock at all (as opposed to: someone holds it). */
const locksUnsupported = new Set(['ENOLCK', 'EOPNOTSUPP', 'ENOTSUP', 'ENOSYS', 'EINVAL'])

interface Holding {
  token: string
  generation: number | undefined
}

/** Stores open in this process, by file system and directory. */
const openStores = new WeakMap<FileSystem, Map<string, Holding>>()
/** Tokens of locks this process holds, for judging a lock file that names our own pid. */
const heldTokens = new LiveTokens()

function isLive(fs: FileSystem, holding: { generation: number | undefined } | undefined): boolean {
  return holding !== undefined && holding.generation === fs.generation
}

/**
 * @example
 * const lock = await StoreLock.acquire(fs, '/data') // STORE_LOCKED if another opener has it
 * await lock.release()
 */
export class StoreLock {
  readonly fs: FileSystem
  readonly dir: string
  readonly path: string
  readonly #token: string
  readonly #generation: number | undefined
  readonly #os: { release(): Promise<void> } | undefined
  #released = false

  private constructor(fs: FileSystem, dir: string, token: string, generation: number | undefined, os: { release(): Promise<void> } | undefined) {
    this.fs = fs
    this.dir = dir
    this.path = posix.join(dir, lockFileName)
    this.#token = token
    this.#generation = generation
    this.#os = os
  }

  static async acquire(fs: FileSystem, dir: string): Promise<StoreLock> {
    const token = randomUUID()
    const generation = fs.generation
    // Synchronous up to here: a second open in this process sees this registration.
    const stores = openStores.get(fs) ?? new Map<string, Holding>()
    openStores.set(fs, stores)
    if (isLive(fs, stores.get(dir))) throw locked(dir, process.pid)
    stores.set(dir, { token, generation })
    heldTokens.add(token, fs)
    let os: { release(): Promise<void> } | undefined
    try {
      const owner = encodeOwner(token, { since: new Date().toISOString() })
      const path = posix.join(dir, lockFileName)
      let osLocks = fs.lockExclusive !== undefined
      if (fs.lockExclusive !== undefined) {
        try {
          os = await fs.lockExclusive(path, owner)
        } catch (e) {
          // A file system without byte-range locks (some network mounts): every opener there
          // gets the same error, so all of them use the lock-file protocol instead.
          if (!locksUnsupported.has((e as NodeJS.ErrnoException).code ?? '')) throw new IoError('lock', path, e)
          osLocks = false
        }
        if (osLocks && os === undefined) throw locked(dir, (await readOwner(fs, path))?.pid)
      }
      if (!osLocks) await acquireFile(fs, dir, token, owner)
      await removeLeftovers(fs, dir)
      return new StoreLock(fs, dir, token, generation, os)
    } catch (e) {
      // An OS lock taken before a later step failed would otherwise be held until the process
      // exits (and an OFD lock excludes this process's own next open too).
      await os?.release().catch(() => undefined)
      unregister(fs, dir, token)
      throw e
    }
  }

  async release(): Promise<void> {
    if (this.#released) return
    this.#released = true
    unregister(this.fs, this.dir, this.#token)
    // After a (simulated) crash this lock died with its process; someone else may own the file.
    if (this.fs.generation !== this.#generation) return
    if (this.#os !== undefined) {
      await this.#os.release()
      return
    }
    const owner = await readOwner(this.fs, this.path)
    if (owner?.token !== this.#token) return
    await this.fs.unlink(this.path).catch((e) => {
      if (!isNotFound(e)) throw new IoError('remove lock', this.path, e)
    })
  }
}

function unregister(fs: FileSystem, dir: string, token: string): void {
  heldTokens.delete(token)
  const stores = openStores.get(fs)
  if (stores?.get(dir)?.token === token) stores.delete(dir)
}

/** The lock-file protocol, for file systems without an OS lock. */
async function acquireFile(fs: FileSystem, dir: string, token: string, owner: Uint8Array): Promise<void> {
  const path = posix.join(dir, lockFileName)
  const temp = `${path}.${token}${tempSuffix}`
  const aside = `${path}.${token}.stale`
  try {
    await writeOwnerTemp(fs, temp, owner)
    for (let attempt = 0; attempt < lockAttemptsMax; attempt++) {
      try {
        await fs.link(temp, path)
        return
      } catch (e) {
        // Our temp file is gone: only a new owner removes leftover temp files.
        if (isNotFound(e)) throw locked(dir, undefined)
        if (!isAlreadyExists(e)) throw new IoError('create lock', path, e)
      }
      const bytes = await readOwnerFile(fs, path)
      if (bytes === undefined) continue
      const current = parseOwner(bytes)
      if (!isStale(current)) throw locked(dir, current?.pid)
      const removal = await removeStaleOwner(fs, path, aside, bytes)
      if (removal.outcome === 'vanished') throw locked(dir, undefined)
      if (removal.outcome === 'changed') throw locked(dir, parseOwner(removal.moved)?.pid)
    }
    throw locked(dir, undefined)
  } finally {
    await fs.unlink(temp).catch(() => undefined)
  }
}

/**
 * Removes temp files of openers that crashed mid-acquire. A live contender whose temp file goes
 * simply loses (it would have anyway: we hold the lock). Aside files are left alone: a live
 * taker may be about to check or give back the one it moved.
 */
async function removeLeftovers(fs: FileSystem, dir: string): Promise<void> {
  for (const name of await fs.list(dir)) {
    if (name.startsWith(`${lockFileName}.`) && name.endsWith(tempSuffix)) {
      await fs.unlink(posix.join(dir, name)).catch(() => undefined)
    }
  }
}

function isStale(owner: LockOwner | undefined): boolean {
  // A lock file published by this protocol is never empty or cut short; one that is was left by
  // an older cairn that crashed mid-write.
  return owner === undefined || isOwnerGone(owner, heldTokens)
}

async function readOwner(fs: FileSystem, path: string): Promise<LockOwner | undefined> {
  const bytes = await readOwnerFile(fs, path).catch(() => undefined)
  return bytes === undefined ? undefined : parseOwner(bytes)
}

function locked(dir: string, pid: number | undefined): CairnError {
  return new CairnError(
    'STORE_LOCKED',
    `store ${dir} is in use by ${pid === undefined ? 'another opener' : `process ${pid}`}: close it there first, or use another --data directory`,
    { context: { dir, pid } },
  )
}
