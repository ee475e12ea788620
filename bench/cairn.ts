/**
 * The cairn side of the benches: opens a store with one partition, and feature-detects the state
 * API (issue 3) so state suites can skip cleanly until it lands.
 */
import { type Durability, type Partition, Store } from '../src/index.js'

export interface CairnStateApi {
  write(batch: { ops: Array<{ type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'delete'; key: Uint8Array }> }): Promise<number>
  put(key: Uint8Array, value: Uint8Array): Promise<number | undefined>
  get(key: Uint8Array): Promise<Uint8Array | undefined> | Uint8Array | undefined
  scan(options: { gte?: Uint8Array; lt?: Uint8Array; limit?: number }): AsyncIterable<[Uint8Array, Uint8Array]>
}

export interface CairnOpenOptions {
  durability?: Durability
  memtableBytesMax?: number
  blockCacheBytesMax?: number
}

export interface CairnHandle {
  store: Store
  partition: Partition
  close(): Promise<void>
}

export async function openCairn(dir: string, options: CairnOpenOptions = {}): Promise<CairnHandle> {
  // memtableBytesMax / blockCacheBytesMax are state-engine options (issue 3); passed through as
  // they are so the benches pick them up once Store knows them.
  const store = await Store.open(dir, options as Parameters<typeof Store.open>[1])
  const partition = await store.ensurePartition('bench')
  return { store, partition, close: () => store.close() }
}

/** The state API of a partition, or undefined while `partition.write` does not exist yet. */
export function stateApi(partition: Partition): CairnStateApi | undefined {
  const p = partition as unknown as Partial<CairnStateApi>
  if (typeof p.write !== 'function' || typeof p.get !== 'function' || typeof p.scan !== 'function' || typeof p.put !== 'function') {
    return undefined
  }
  return p as CairnStateApi
}

/** Checks, on a scratch store, whether the state API exists. */
export async function hasStateApi(dir: string): Promise<boolean> {
  const c = await openCairn(dir)
  try {
    return stateApi(c.partition) !== undefined
  } finally {
    await c.close()
  }
}
