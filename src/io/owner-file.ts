/**
 * Owner files: the lock-file protocol shared by the store lock (`partition/store-lock.ts`) and
 * the per-key lock of the `file://` object store (`objectstore/fs/key-lock.ts`), for file systems
 * without an OS lock. A small file names the process that holds the lock (pid, host, a token);
 * each lock decides for itself when to take over and what a failed takeover means.
 *
 * Invariants:
 * - an owner file is written and fsynced under a temp name of the taker's own, then published by
 *   `link`: it is never visible empty or cut short, not even after power loss;
 * - an owner is gone only when provably so: on this host, a dead pid, or this process and a
 *   token it no longer holds (released, or taken before a simulated crash, a new
 *   `fs.generation`); another host's pids mean nothing here and are never judged;
 * - a takeover renames the file aside and removes it only if it is the very file judged (the
 *   same bytes); a file published meanwhile by another taker is linked back, never removed.
 */
import { hostname } from 'node:os'
import { writeSyncedFile } from './atomic-write.js'
import { IoError, isNotFound } from './errors.js'
import type { FileSystem } from './file-system.js'

/** What an owner file names; `host` and `token` are absent in files of older cairn versions. */
export interface LockOwner {
  pid: number
  host: string | undefined
  token: string | undefined
}

/**
 * The bytes of an owner file naming this process and `token` (and any extra fields, for people).
 *
 * @example
 * const bytes = encodeOwner(randomUUID(), { since: new Date().toISOString() })
 */
export function encodeOwner(token: string, extra: Record<string, string> = {}): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify({ pid: process.pid, host: hostname(), token, ...extra })}\n`)
}

/** The owner an owner file names, or `undefined` when it names none (not JSON, no pid). */
export function parseOwner(bytes: Uint8Array): LockOwner | undefined {
  try {
    const { pid, host, token } = JSON.parse(new TextDecoder().decode(bytes)) as { pid?: unknown; host?: unknown; token?: unknown }
    if (typeof pid !== 'number') return undefined
    return { pid, host: typeof host === 'string' ? host : undefined, token: typeof token === 'string' ? token : undefined }
  } catch {
    return undefined
  }
}

/** The bytes of the owner file at `path`, or `undefined` when there is none. */
export async function readOwnerFile(fs: FileSystem, path: string): Promise<Uint8Array | undefined> {
  try {
    return await fs.readFile(path)
  } catch (e) {
    if (isNotFound(e)) return undefined
    throw new IoError('read lock', path, e)
  }
}

/** Creates `temp` (it must not exist) holding `bytes`, fsynced: ready to be published by `link`. */
export async function writeOwnerTemp(fs: FileSystem, temp: string, bytes: Uint8Array): Promise<void> {
  // Synced before it is linked: even after power loss a published owner file is whole.
  await writeSyncedFile(fs, temp, bytes, 'createNew')
}

/**
 * The tokens of the owner files one lock kind holds in this process, each with the crash
 * generation that took it (a simulated crash ends every holding of the generation before).
 */
export class LiveTokens {
  readonly #tokens = new Map<string, { fs: FileSystem; generation: number | undefined }>()

  add(token: string, fs: FileSystem): void {
    this.#tokens.set(token, { fs, generation: fs.generation })
  }

  delete(token: string): void {
    this.#tokens.delete(token)
  }

  /** True while `token` is held and its file system has not crashed since it was taken. */
  has(token: string): boolean {
    const holding = this.#tokens.get(token)
    return holding !== undefined && holding.fs.generation === holding.generation
  }
}

/** True only when `owner` is provably gone (see the invariants); `live` holds this process's tokens. */
export function isOwnerGone(owner: LockOwner, live: LiveTokens): boolean {
  // Another host's pids mean nothing here (another container on a shared volume): never guess.
  if (owner.host !== undefined && owner.host !== hostname()) return false
  if (owner.pid === process.pid) return owner.token === undefined || !live.has(owner.token)
  return !isPidAlive(owner.pid)
}

/** True when a process `pid` exists on this host (EPERM: it exists, owned by another user). */
export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * What `removeStaleOwner` found: `removed` (the file judged stale is gone), `gone` (no file at
 * `path` any more), `vanished` (moved aside, then gone: another taker removed it), or `changed`
 * (another taker's file was moved aside; it is linked back, and its bytes are here).
 */
export type StaleOwnerRemoval = { outcome: 'removed' } | { outcome: 'gone' } | { outcome: 'vanished' } | { outcome: 'changed'; moved: Uint8Array }

/**
 * Removes the owner file at `path` judged stale from its bytes `judged`: renames it to `aside` (a
 * name of the taker's own) and checks it is the one judged before removing it.
 *
 * @example
 * const bytes = await readOwnerFile(fs, path)
 * const owner = bytes === undefined ? undefined : parseOwner(bytes)
 * if (bytes !== undefined && owner !== undefined && isOwnerGone(owner, live)) {
 *   const { outcome } = await removeStaleOwner(fs, path, `${path}.${token}.stale`, bytes)
 * }
 */
export async function removeStaleOwner(fs: FileSystem, path: string, aside: string, judged: Uint8Array): Promise<StaleOwnerRemoval> {
  try {
    await fs.rename(path, aside)
  } catch (e) {
    if (isNotFound(e)) return { outcome: 'gone' }
    throw new IoError('move stale lock', path, e)
  }
  const moved = await readOwnerFile(fs, aside)
  if (moved === undefined) return { outcome: 'vanished' }
  if (!sameBytes(moved, judged)) {
    // Between the read and the rename another taker published its file: give it back.
    await fs.link(aside, path).catch(() => undefined)
    await fs.unlink(aside).catch(() => undefined)
    return { outcome: 'changed', moved }
  }
  await fs.unlink(aside).catch(() => undefined)
  return { outcome: 'removed' }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}
