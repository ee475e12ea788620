/**
 * An object store in memory, for tests and `memory://name` URLs: the reference implementation
 * of the contract in object-store.ts.
 *
 * Invariants:
 * - each operation reads and changes the map in one synchronous step after its first `await`,
 *   so a conditional put's check and its write are one atomic step (as S3 decides them);
 * - stored bytes are copies: neither the caller's buffer after `put` nor a buffer `get`
 *   returned can change an object;
 * - the etag is the SHA-256 of the bytes, hex (the same as the `file://` store's).
 */
import { sha256Hex } from '../../io/checksum.js'
import { CairnError } from '../../io/errors.js'
import { clampByteRange, validateByteRange } from '../byte-range.js'
import { listLimitOf } from '../list-options.js'
import { compareObjectKeys, validateListPrefix, validateObjectKey } from '../object-key.js'
import type { GetOptions, ListOptions, ListPage, ObjectBody, ObjectInfo, ObjectStore, PutOptions } from '../object-store.js'
import { objectNotFound, preconditionFailed } from '../object-store-errors.js'

interface StoredObject {
  bytes: Uint8Array
  etag: string
  lastModified: Date
}

export interface MemoryObjectStoreOptions {
  /** Its name in `url` (`memory://<name>`); default `memory`. */
  name?: string
  /** The clock of `lastModified`, in milliseconds since the epoch (tests of grace periods set it). */
  now?: () => number
  /** Another instance whose objects this one shares (a second client of the same store). */
  sharing?: MemoryObjectStore
}

/**
 * Objects in a `Map`. Two instances share objects only when made with `sharing`;
 * `openObjectStore('memory://name')` gives every opener of one name the same objects for the life
 * of the process.
 *
 * @example
 * const store = new MemoryObjectStore()
 * const { etag } = await store.put('a/b', new TextEncoder().encode('hi'), { condition: { ifNoneMatch: '*' } })
 * const { bytes } = await store.get('a/b')
 */
export class MemoryObjectStore implements ObjectStore {
  readonly url: string
  readonly #objects: Map<string, StoredObject>
  readonly #now: () => number
  #closed = false

  constructor(options: MemoryObjectStoreOptions = {}) {
    this.url = `memory://${options.name ?? 'memory'}`
    this.#now = options.now ?? Date.now
    this.#objects = options.sharing === undefined ? new Map() : options.sharing.#objects
  }

  async get(key: string, options: GetOptions = {}): Promise<ObjectBody> {
    this.#check(key)
    if (options.range !== undefined) validateByteRange(options.range, this.url, key)
    await Promise.resolve()
    const object = this.#objects.get(key)
    if (object === undefined) throw objectNotFound(this.url, key)
    const { start, end } = clampByteRange(options.range, object.bytes.length)
    return { bytes: object.bytes.slice(start, end), etag: object.etag, size: object.bytes.length, lastModified: new Date(object.lastModified) }
  }

  async put(key: string, body: Uint8Array, options: PutOptions = {}): Promise<{ etag: string }> {
    this.#check(key)
    const bytes = body.slice()
    const etag = sha256Hex(bytes)
    await Promise.resolve()
    const condition = options.condition
    const current = this.#objects.get(key)
    if (condition !== undefined) {
      const holds = 'ifNoneMatch' in condition ? current === undefined : current !== undefined && current.etag === condition.ifMatch
      if (!holds) throw preconditionFailed(this.url, key, condition)
    }
    this.#objects.set(key, { bytes, etag, lastModified: new Date(this.#now()) })
    return { etag }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    this.#check(key)
    await Promise.resolve()
    const object = this.#objects.get(key)
    return object === undefined ? undefined : infoOf(key, object)
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    this.#checkOpen()
    validateListPrefix(prefix, this.url)
    const limit = listLimitOf(options, this.url)
    await Promise.resolve()
    const after = options.startAfter
    const keys = [...this.#objects.keys()]
      .filter((k) => k.startsWith(prefix) && (after === undefined || compareObjectKeys(k, after) > 0))
      .sort(compareObjectKeys)
    const objects = keys.slice(0, limit).map((k) => infoOf(k, this.#objects.get(k)!))
    return keys.length > limit ? { objects, next: objects[objects.length - 1]!.key } : { objects }
  }

  async delete(key: string): Promise<void> {
    this.#check(key)
    await Promise.resolve()
    this.#objects.delete(key)
  }

  async close(): Promise<void> {
    this.#closed = true
  }

  #check(key: string): void {
    this.#checkOpen()
    validateObjectKey(key, this.url)
  }

  #checkOpen(): void {
    if (this.#closed) throw new CairnError('CLOSED', `object store ${this.url} is closed`, { context: { url: this.url } })
  }
}

function infoOf(key: string, object: StoredObject): ObjectInfo {
  return { key, size: object.bytes.length, etag: object.etag, lastModified: new Date(object.lastModified) }
}
