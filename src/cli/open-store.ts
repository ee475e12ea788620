/**
 * Opens the store named by `--data` for one command and always closes it. Commands that only
 * read use `withReadableStore`: it owns the store when it can, and when another process holds it
 * (a running server: STORE_LOCKED) it reads through a read-only view instead, as of that moment.
 */
import { isCairnError } from '../io/errors.js'
import { type BytesScanRange, type ReadOnlyPartition, Store, StoreReader } from '../partition/index.js'

export async function withStore<T>(dir: string, create: boolean, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await Store.open(dir, { create })
  try {
    return await fn(store)
  } finally {
    await store.close()
  }
}

/** The store, owned (`store`) or read beside its owner (`reader`). */
export type ReadableStore = { readOnly: false; store: Store } | { readOnly: true; reader: StoreReader }

/** What reading a partition's key-value state needs; both `Partition` and a read-only view have it. */
export interface ReadablePartition {
  get(key: Uint8Array): Promise<Uint8Array | undefined>
  scan(range?: BytesScanRange): AsyncIterableIterator<[Uint8Array, Uint8Array]>
  info(): object
}

/** Runs `fn` on the store: owned when it is free, a read-only view when another process holds it. */
export async function withReadableStore<T>(dir: string, fn: (readable: ReadableStore) => Promise<T>): Promise<T> {
  let store: Store
  try {
    store = await Store.open(dir, { create: false })
  } catch (e) {
    if (!isCairnError(e, 'STORE_LOCKED')) throw e
    const reader = await StoreReader.open(dir)
    try {
      return await fn({ readOnly: true, reader })
    } finally {
      await reader.close()
    }
  }
  try {
    return await fn({ readOnly: false, store })
  } finally {
    await store.close()
  }
}

/**
 * Runs `fn` on one partition of the store, owned or read-only as `withReadableStore` decides, with
 * the partition's catalog metadata (what higher layers such as ingest record about it).
 */
export async function withReadablePartition<T>(
  dir: string,
  id: string,
  fn: (partition: ReadablePartition, meta: Readonly<Record<string, unknown>>) => Promise<T>,
): Promise<T> {
  return await withReadableStore(dir, async (readable) => {
    if (!readable.readOnly) {
      const partition = await readable.store.partition(id)
      return await fn(partition, readable.store.catalog.partition(id)?.meta ?? {})
    }
    const view: ReadOnlyPartition = await readable.reader.openPartition(id)
    try {
      return await fn(view, await readable.reader.partitionMeta(id))
    } finally {
      await view.close()
    }
  })
}
