/**
 * The small interface every peer (and, for symmetry, nothing else) implements, so suites run the
 * same workload against lmdb, classic-level and better-sqlite3.
 */

export type Entry = [key: Uint8Array, value: Uint8Array]

export interface PeerOpenOptions {
  /**
   * 'log': keys are increasing 8-byte big-endian ids (sqlite stores them as an INTEGER PRIMARY
   * KEY, i.e. the rowid); 'kv': arbitrary binary keys.
   */
  mode: 'log' | 'kv'
  /** Cache budget where the engine has one (classic-level block cache, sqlite page cache). */
  cacheBytes?: number
}

export interface Peer {
  readonly name: string
  /** How durability is obtained and anything that limits the comparison. */
  readonly note: string
  /** False when writes are synchronous calls (better-sqlite3): concurrent writers serialise. */
  readonly concurrentWrites: boolean
  /** One key, committed durably (fsync'd) before the promise resolves. */
  durablePut(key: Uint8Array, value: Uint8Array): Promise<void>
  /** Many keys in one atomic, durable commit. */
  durablePutBatch(entries: readonly Entry[]): Promise<void>
  /** Bulk load for setup; not necessarily durable until `close`. */
  load(entries: readonly Entry[]): Promise<void>
  get(key: Uint8Array): Promise<Uint8Array | undefined> | Uint8Array | undefined
  /** Visits entries in key order from `gte` (to `lt`, at most `limit`); resolves with the count. */
  scan(options: { gte?: Uint8Array; lt?: Uint8Array; limit?: number }, visit: (key: Uint8Array, value: Uint8Array) => void): Promise<number>
  close(): Promise<void>
}

export interface PeerFactory {
  name: string
  open(dir: string, options: PeerOpenOptions): Promise<Peer>
}

export function u64Of(key: Uint8Array): number {
  return Number(new DataView(key.buffer, key.byteOffset, key.byteLength).getBigUint64(0))
}
