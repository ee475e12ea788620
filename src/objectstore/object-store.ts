/**
 * The object-store seam: where snapshot repositories keep chunks, manifests and pointers.
 *
 * Contract every implementation keeps (one conformance suite checks all of them):
 * - A put is all or nothing: a reader sees the previous object or the new one, never a part.
 * - `ifNoneMatch: '*'` creates only when the key is absent; `ifMatch: etag` replaces only the
 *   object with that etag. A lost race is `PRECONDITION_FAILED`, decided atomically.
 * - An etag names one version of one object: a put that changes the bytes changes the etag.
 * - A missing key is `OBJECT_NOT_FOUND` for `get`, `undefined` for `head`; `delete` of a missing
 *   key succeeds (deletes are idempotent, as in S3).
 * - `list` returns keys in ascending order of their UTF-8 bytes, at most `limit` per page, with a
 *   cursor; objects written or deleted during a listing may or may not appear in it.
 * - Keys are checked the same everywhere (object-key.ts): a bad key is `INVALID_ARGUMENT`.
 * - A range reads bytes `start` to `end`, clamped to the object (a start past its end reads none).
 * - Any other failure is `OBJECT_STORE_ERROR` (or `IO_ERROR` for the local file system) with the
 *   key in its context and the underlying error as its cause. A use after `close` is `CLOSED`.
 * - Etags are opaque strings without quotes. For the memory and `file://` stores they are the
 *   SHA-256 of the contents (hex); S3's are its own (an MD5 for single-part uploads).
 */

/** A key: `/`-separated, no leading `/`, no `.` or `..` segment, no empty segment. */
export type ObjectKey = string

/** Conditions of a put; without one, the put overwrites. */
export type PutCondition = { ifNoneMatch: '*' } | { ifMatch: string }

export interface PutOptions {
  condition?: PutCondition
}

/** Bytes `start` to `end` (exclusive); `end` past the object's end reads to its end. */
export interface ByteRange {
  start: number
  end?: number
}

export interface GetOptions {
  range?: ByteRange
}

export interface ObjectInfo {
  key: ObjectKey
  size: number
  etag: string
  lastModified: Date
}

export interface ObjectBody {
  bytes: Uint8Array
  etag: string
  /** The whole object's size (not the range's). */
  size: number
  lastModified: Date
}

export interface ListOptions {
  /** Keys strictly after this one (the cursor of the previous page). */
  startAfter?: ObjectKey
  /** Page size; implementations cap it at `listPageKeysMax`. */
  limit?: number
}

/**
 * An object as `list` reports it. The etag is there when the store knows it without reading the
 * object (S3, memory); the `file://` store leaves it out, since its etag is a hash of the
 * contents: `head` or `get` the object for it.
 */
export interface ListedObject {
  key: ObjectKey
  size: number
  etag?: string
  lastModified: Date
}

export interface ListPage {
  objects: ListedObject[]
  /** Pass as `startAfter` to get the next page; absent on the last page. */
  next?: ObjectKey
}

/** The largest page `list` returns (S3's own limit). */
export const listPageKeysMax = 1000

/**
 * A bucket-like store of immutable-by-convention objects with conditional puts.
 *
 * @example
 * ```ts
 * const { etag } = await store.put('partitions/p1/latest.json', bytes, { condition: { ifNoneMatch: '*' } })
 * await store.put('partitions/p1/latest.json', next, { condition: { ifMatch: etag } })
 * ```
 */
export interface ObjectStore {
  /** Where it is, for messages: `file:///dir`, `s3://bucket/prefix` (never credentials). */
  readonly url: string
  get(key: ObjectKey, options?: GetOptions): Promise<ObjectBody>
  put(key: ObjectKey, body: Uint8Array, options?: PutOptions): Promise<{ etag: string }>
  head(key: ObjectKey): Promise<ObjectInfo | undefined>
  list(prefix: string, options?: ListOptions): Promise<ListPage>
  delete(key: ObjectKey): Promise<void>
  close(): Promise<void>
}
