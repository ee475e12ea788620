/**
 * The `file://` object store (the default repository): key K is the file `DIR/K`.
 *
 * Invariants:
 * - a put writes and fsyncs a temp file in `DIR/.cairn/tmp/`, then gives it the key's name in one
 *   step (rename, or link for `ifNoneMatch`) and fsyncs the key's folder: a reader, or the disk
 *   after power loss, holds the old object or the new one, never a part;
 * - `ifNoneMatch: '*'` is `link(temp, DIR/K)`, which the kernel refuses with EEXIST when the name
 *   exists (atomic across processes), after which the folder is fsynced before answering
 *   `PRECONDITION_FAILED` (the object's creator may not have yet); `ifMatch` compares and renames under the key's lock
 *   (key-lock.ts), which unconditional puts and deletes take too, so no replace or delete slips
 *   between a compare and its rename;
 * - the etag is the SHA-256 of the contents, hex (computed, never stored, so it cannot disagree
 *   with them); `list` reports no etags (it would have to read every object), `get` and `head` do;
 * - keys are folders and files under DIR; `DIR/.cairn/` (temp files, locks) is never listed and a
 *   key cannot start with `.cairn/`; a key cannot be both an object and a folder of others
 *   (`a` and `a/b`): the second is `INVALID_ARGUMENT`;
 * - after a (simulated) crash of the file system (`fs.generation` changed), this instance fails
 *   every call, as a dead process would.
 */
import { createHash, randomUUID } from 'node:crypto'
import { posix, resolve } from 'node:path'
import { mkdirDurable, writeSyncedFile } from '../../io/atomic-write.js'
import { sha256Hex } from '../../io/checksum.js'
import { CairnError, IoError, isAlreadyExists, isNotFound, withIoError } from '../../io/errors.js'
import type { FileSystem } from '../../io/file-system.js'
import { NodeFileSystem } from '../../io/node-file-system.js'
import { clampByteRange, validateByteRange } from '../byte-range.js'
import { listLimitOf } from '../list-options.js'
import { compareObjectKeys, validateListPrefix, validateObjectKey } from '../object-key.js'
import type { GetOptions, ListedObject, ListOptions, ListPage, ObjectBody, ObjectInfo, ObjectStore, PutOptions } from '../object-store.js'
import { invalidArgument, objectNotFound, preconditionFailed } from '../object-store-errors.js'
import { type HeldKeyLock, lockKey } from './key-lock.js'

/** The folder under DIR that holds temp files and locks; no key may start with it. */
export const reservedFolder = '.cairn'
/** A temp file older than this at open belongs to a put that died: it is removed. */
export const tempFileAgeMsMax = 60 * 60 * 1000
/** Most file systems limit a name to 255 bytes; a longer key segment is refused up front. */
export const keySegmentBytesMax = 255
/** Reads of a ranged get go by blocks of this size (the etag needs every byte hashed). */
const readBlockBytes = 1 << 20

const encoder = new TextEncoder()

export interface FileObjectStoreOptions {
  /** Default: the real file system. */
  fs?: FileSystem
}

/**
 * Objects as files under a folder.
 *
 * @example
 * const store = await FileObjectStore.open('/var/backups/cairn')
 * await store.put('partitions/p1/latest.json', bytes, { condition: { ifNoneMatch: '*' } })
 */
export class FileObjectStore implements ObjectStore {
  readonly url: string
  readonly dir: string
  readonly fs: FileSystem
  readonly #tmp: string
  readonly #locks: string
  readonly #generation: number | undefined
  /** Folders made durable by this instance (never removed by it, so they stay durable). */
  readonly #durableFolders = new Set<string>()
  #closed = false

  private constructor(dir: string, fs: FileSystem) {
    this.dir = dir
    this.fs = fs
    this.url = `file://${dir}`
    this.#tmp = posix.join(dir, reservedFolder, 'tmp')
    this.#locks = posix.join(dir, reservedFolder, 'locks')
    this.#generation = fs.generation
  }

  /**
   * Opens (and creates, durably) the store in `dir`; removes temp files of puts that died long
   * ago. An existing `dir` that cannot be written (a read-only mount) opens for reading: puts
   * and deletes then fail with `IO_ERROR`.
   */
  static async open(dir: string, options: FileObjectStoreOptions = {}): Promise<FileObjectStore> {
    const fs = options.fs ?? new NodeFileSystem()
    const absolute = options.fs === undefined ? resolve(dir) : posix.resolve('/', dir)
    const store = new FileObjectStore(absolute, fs)
    try {
      await mkdirDurable(fs, store.#tmp)
      await mkdirDurable(fs, store.#locks)
    } catch (e) {
      // A repository on a read-only mount (restoring from backup media) can still be read.
      const code = (e as NodeJS.ErrnoException).code
      const readOnly = (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') && (await fs.stat(absolute).catch(() => undefined))?.isDirectory === true
      if (!readOnly) throw new IoError('create folder', store.#tmp, e)
      return store
    }
    await store.#removeOldTempFiles()
    return store
  }

  async get(key: string, options: GetOptions = {}): Promise<ObjectBody> {
    this.#check(key)
    if (options.range !== undefined) validateByteRange(options.range, this.url, key)
    const path = this.#pathOf(key)
    const read = await this.#read(key, path, options.range)
    if (read === undefined) throw objectNotFound(this.url, key)
    return read
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    this.#check(key)
    const read = await this.#read(key, this.#pathOf(key), { start: 0, end: 0 })
    return read === undefined ? undefined : { key, size: read.size, etag: read.etag, lastModified: read.lastModified }
  }

  async put(key: string, body: Uint8Array, options: PutOptions = {}): Promise<{ etag: string }> {
    this.#check(key)
    const etag = sha256Hex(body)
    const path = this.#pathOf(key)
    const folder = posix.dirname(path)
    const temp = await this.#writeTemp(key, body)
    try {
      await this.#ensureFolder(key, folder)
      const condition = options.condition
      if (condition !== undefined && 'ifNoneMatch' in condition) {
        try {
          this.#alive()
          await this.fs.link(temp, path)
        } catch (e) {
          if (isAlreadyExists(e)) {
            if ((await this.#stat(path))?.isDirectory === true) throw folderConflict(this.url, key)
            // Its creator may not have fsynced the folder yet (or died first): "it exists" must
            // still hold after a power loss, since the caller acts on it.
            await this.#syncDir(folder, key)
            throw preconditionFailed(this.url, key, condition)
          }
          throw this.#ioError('link', path, e, key)
        }
      } else {
        const lock = await this.#lock(key)
        try {
          this.#alive()
          if (condition !== undefined) {
            const current = await this.#read(key, path, { start: 0, end: 0 })
            if (current?.etag !== condition.ifMatch) throw preconditionFailed(this.url, key, condition)
          } else if ((await this.#stat(path))?.isDirectory === true) {
            throw folderConflict(this.url, key)
          }
          try {
            this.#alive()
            await this.fs.rename(temp, path)
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code === 'EISDIR') throw folderConflict(this.url, key)
            throw this.#ioError('rename', path, e, key)
          }
        } finally {
          await lock.release()
        }
      }
      await this.#syncDir(folder, key)
      return { etag }
    } finally {
      await this.fs.unlink(temp).catch(() => undefined)
    }
  }

  async delete(key: string): Promise<void> {
    this.#check(key)
    const path = this.#pathOf(key)
    const lock = await this.#lock(key)
    try {
      this.#alive()
      try {
        await this.fs.unlink(path)
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code
        if (isNotFound(e) || code === 'ENOTDIR' || code === 'EISDIR') return
        throw this.#ioError('delete', path, e, key)
      }
      await this.#syncDir(posix.dirname(path), key)
    } finally {
      await lock.release()
    }
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    this.#checkOpen()
    validateListPrefix(prefix, this.url)
    const limit = listLimitOf(options, this.url)
    const slash = prefix.lastIndexOf('/')
    const base = slash < 0 ? '' : prefix.slice(0, slash + 1)
    // One more than a page: whether it exists says whether there is a next page.
    const found: ListedObject[] = []
    await this.#walk(base, prefix, options.startAfter, found, limit + 1)
    const objects = found.slice(0, limit)
    return found.length > limit ? { objects, next: objects[objects.length - 1]!.key } : { objects }
  }

  async close(): Promise<void> {
    this.#closed = true
  }

  /**
   * Appends to `out`, in key order, the objects below the folder `base` (a key prefix ending in
   * `/`, or empty) that start with `prefix` and come after `after`, until `out` holds `want`.
   *
   * Key order is folder order once each folder's entries are sorted by their UTF-8 bytes with a
   * folder's name counting as `name/`: a folder `x` sorts after `x-` and `x.y` (below `/`). So
   * a folder waits in `pending` until no entry left can sort before it. Entries wholly at or
   * before the cursor are skipped by name, without a stat, so a page costs about `want` stats.
   */
  async #walk(base: string, prefix: string, after: string | undefined, out: ListedObject[], want: number): Promise<void> {
    this.#alive()
    const folder = base === '' ? this.dir : posix.join(this.dir, base)
    let names: string[]
    try {
      names = await this.fs.list(folder)
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if (isNotFound(e) || code === 'ENOTDIR') return
      throw this.#ioError('list', folder, e)
    }
    names.sort(compareObjectKeys)
    const pending: string[] = []
    const flush = async (before: string | undefined): Promise<void> => {
      while (pending.length > 0 && out.length < want && (before === undefined || compareObjectKeys(pending[0]!, before) < 0)) {
        await this.#walk(pending.shift()!, prefix, after, out, want)
      }
    }
    for (const name of names) {
      if (out.length >= want) return
      if (base === '' && name === reservedFolder) continue
      const key = base + name
      if (!key.startsWith(prefix)) continue
      const sub = `${key}/`
      const fileAfter = after === undefined || compareObjectKeys(key, after) > 0
      const folderAfter = fileAfter || compareObjectKeys(sub, after!) > 0 || after!.startsWith(sub)
      if (!folderAfter) continue
      await flush(key)
      if (out.length >= want) return
      const stat = await this.#stat(posix.join(folder, name))
      if (stat === undefined) continue
      if (stat.isDirectory) {
        let at = pending.length
        while (at > 0 && compareObjectKeys(pending[at - 1]!, sub) > 0) at--
        pending.splice(at, 0, sub)
      } else if (fileAfter) {
        out.push({ key, size: stat.size, lastModified: new Date(stat.mtimeMs) })
      }
    }
    await flush(undefined)
  }

  /** Reads `range` of the object (all of it by default), hashing every byte for the etag. */
  async #read(key: string, path: string, range: GetOptions['range']): Promise<ObjectBody | undefined> {
    this.#alive()
    let handle: Awaited<ReturnType<FileSystem['open']>>
    try {
      handle = await this.fs.open(path, 'read')
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if (isNotFound(e) || code === 'ENOTDIR' || code === 'EISDIR') return undefined
      throw this.#ioError('open', path, e, key)
    }
    try {
      const stat = await this.#stat(path)
      const size = await handle.size()
      const { start, end } = clampByteRange(range, size)
      const bytes = new Uint8Array(end - start)
      const hash = createHash('sha256')
      const block = new Uint8Array(Math.min(readBlockBytes, Math.max(size, 1)))
      for (let at = 0; at < size; ) {
        const n = await handle.read(block, 0, Math.min(block.length, size - at), at)
        if (n === 0) throw new IoError('read', path, Object.assign(new Error('file shorter than its size'), { code: 'EIO' }))
        const chunk = block.subarray(0, n)
        hash.update(chunk)
        const from = Math.max(start, at)
        const to = Math.min(end, at + n)
        if (from < to) bytes.set(chunk.subarray(from - at, to - at), from - start)
        at += n
      }
      // A stat of a newer version may race the open: then its time is the newer one's (later).
      const lastModified = new Date(stat?.mtimeMs ?? Date.now())
      return { bytes, etag: hash.digest('hex'), size, lastModified }
    } catch (e) {
      if (e instanceof CairnError) throw e
      throw this.#ioError('read', path, e, key)
    } finally {
      await handle.close().catch(() => undefined)
    }
  }

  async #writeTemp(key: string, body: Uint8Array): Promise<string> {
    this.#alive()
    const temp = posix.join(this.#tmp, `${randomUUID()}.tmp`)
    try {
      await writeSyncedFile(this.fs, temp, body, 'createNew')
    } catch (e) {
      await this.fs.unlink(temp).catch(() => undefined)
      throw this.#ioError('write', temp, e, key)
    }
    return temp
  }

  async #ensureFolder(key: string, folder: string): Promise<void> {
    if (this.#durableFolders.has(folder)) return
    try {
      await mkdirDurable(this.fs, folder)
    } catch (e) {
      // A file where a folder should be fails as EEXIST, ENOTDIR or ENOENT, by file system.
      if (await this.#fileOnPath(folder)) throw folderConflict(this.url, key)
      throw this.#ioError('create folder', folder, e, key)
    }
    // mkdirDurable leaves an existing file in place; a key cannot live below an object.
    if (await this.#fileOnPath(folder)) throw folderConflict(this.url, key)
    this.#durableFolders.add(folder)
  }

  /** Whether `folder` or one of its parents below DIR is a file (an object). */
  async #fileOnPath(folder: string): Promise<boolean> {
    for (let up = folder; up !== this.dir && up.length > this.dir.length; up = posix.dirname(up)) {
      const stat = await this.#stat(up)
      if (stat !== undefined && !stat.isDirectory) return true
    }
    return false
  }

  async #syncDir(folder: string, key: string): Promise<void> {
    this.#alive()
    try {
      await this.fs.syncDir(folder)
    } catch (e) {
      throw this.#ioError('sync folder', folder, e, key)
    }
  }

  async #lock(key: string): Promise<HeldKeyLock> {
    this.#alive()
    return lockKey(this.fs, posix.join(this.#locks, `${sha256Hex(key)}.lock`))
  }

  async #stat(path: string): Promise<Awaited<ReturnType<FileSystem['stat']>>> {
    try {
      return await this.fs.stat(path)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined
      throw this.#ioError('stat', path, e)
    }
  }

  /** Temp files of puts, and of lock takers (`.tmp`, `.stale`), that died over an hour ago. */
  async #removeOldTempFiles(): Promise<void> {
    const now = Date.now()
    for (const [folder, leftover] of [
      [this.#tmp, () => true],
      [this.#locks, (name: string) => name.endsWith('.tmp') || name.endsWith('.stale')],
    ] as const) {
      const names = await withIoError('list', folder, () => this.fs.list(folder))
      for (const name of names) {
        if (!leftover(name)) continue
        const path = posix.join(folder, name)
        const stat = await this.#stat(path)
        if (stat !== undefined && !stat.isDirectory && now - stat.mtimeMs > tempFileAgeMsMax) await this.fs.unlink(path).catch(() => undefined)
      }
    }
  }

  #pathOf(key: string): string {
    return posix.join(this.dir, key)
  }

  #check(key: string): void {
    this.#checkOpen()
    validateObjectKey(key, this.url)
    const segments = key.split('/')
    if (segments[0] === reservedFolder) throw invalidArgument(this.url, `a key of a file:// store must not start with ${reservedFolder}/ (it holds temp files and locks)`, { key })
    for (const segment of segments) {
      if (encoder.encode(segment).length > keySegmentBytesMax) {
        throw invalidArgument(this.url, `each /-separated part of a key of a file:// store is at most ${keySegmentBytesMax} bytes (a file name)`, { key })
      }
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw new CairnError('CLOSED', `object store ${this.url} is closed`, { context: { url: this.url } })
    this.#alive()
  }

  /** A simulated crash killed the process this instance belonged to. */
  #alive(): void {
    if (this.fs.generation !== this.#generation) {
      throw new IoError('use', this.dir, Object.assign(new Error('the process that opened this store crashed'), { code: 'EIO' }))
    }
  }

  #ioError(operation: string, path: string, cause: unknown, key?: string): IoError {
    const error = new IoError(operation, path, cause)
    if (key !== undefined) (error.context as Record<string, unknown>).key = key
    return error
  }
}

function folderConflict(url: string, key: string): CairnError {
  return invalidArgument(url, `key ${key} and another key clash on disk: a file:// store cannot hold both an object "a" and an object "a/b"`, { key })
}
