/**
 * One process owns a store at a time. The lock file holds the owner's pid; a lock whose pid is
 * no longer alive (the owner was killed) is taken over. Within one process, a random token in
 * the file and a registry of held tokens catch a second open of the same directory.
 *
 * Known limit: two processes racing to take over the same stale lock in the same instant can
 * both succeed; opening a store from two processes at once after a crash is unsupported.
 */
import { randomUUID } from 'node:crypto'
import { posix } from 'node:path'
import { CairnError, IoError, isAlreadyExists, isNotFound } from '../io/errors.js'
import type { FileSystem } from '../io/file-system.js'

export const lockFileName = 'LOCK'

interface Holding {
  fs: FileSystem
  generation: number | undefined
}
/** Locks held by stores of this process, by token (the token is written into the lock file). */
const held = new Map<string, Holding>()

function generationOf(fs: FileSystem): number | undefined {
  return fs.generation
}

function stillHeld(token: string | undefined): boolean {
  if (token === undefined) return false
  const holding = held.get(token)
  return holding !== undefined && holding.generation === generationOf(holding.fs)
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export class StoreLock {
  readonly fs: FileSystem
  readonly path: string
  readonly #token: string
  #released = false

  private constructor(fs: FileSystem, path: string, token: string) {
    this.fs = fs
    this.path = path
    this.#token = token
  }

  static async acquire(fs: FileSystem, dir: string): Promise<StoreLock> {
    const path = posix.join(dir, lockFileName)
    const token = randomUUID()
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const handle = await fs.open(path, 'createNew')
        try {
          await handle.write(new TextEncoder().encode(`${JSON.stringify({ pid: process.pid, token, since: new Date().toISOString() })}\n`), 0)
          await handle.sync()
        } finally {
          await handle.close()
        }
        held.set(token, { fs, generation: generationOf(fs) })
        return new StoreLock(fs, path, token)
      } catch (e) {
        if (!isAlreadyExists(e)) throw new IoError('create lock', path, e)
      }
      const owner = await readOwner(fs, path)
      if (owner !== undefined) {
        if (owner.pid === process.pid ? stillHeld(owner.token) : pidAlive(owner.pid)) throw locked(dir, owner.pid)
      }
      // The owner is gone (killed, or a simulated crash in this process): take over.
      await fs.unlink(path).catch((e) => {
        if (!isNotFound(e)) throw new IoError('remove stale lock', path, e)
      })
    }
    throw locked(dir, undefined)
  }

  async release(): Promise<void> {
    if (this.#released) return
    this.#released = true
    held.delete(this.#token)
    await this.fs.unlink(this.path).catch(() => undefined)
  }
}

async function readOwner(fs: FileSystem, path: string): Promise<{ pid: number; token: string | undefined } | undefined> {
  try {
    const text = new TextDecoder().decode(await fs.readFile(path))
    const { pid, token } = JSON.parse(text) as { pid?: unknown; token?: unknown }
    if (typeof pid !== 'number') return undefined
    return { pid, token: typeof token === 'string' ? token : undefined }
  } catch {
    // A lock file cut short by a crash names no live owner.
    return undefined
  }
}

function locked(dir: string, pid: number | undefined): CairnError {
  return new CairnError(
    'STORE_LOCKED',
    `store ${dir} is in use by ${pid === undefined ? 'another opener' : `process ${pid}`}: close it there first, or use another --data directory`,
    { context: { dir, pid } },
  )
}
