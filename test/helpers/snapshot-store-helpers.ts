/** Helpers of the snapshot store-integration tests: a store with a partition of known contents, a counting object store. */
import { CairnError, MemoryFileSystem } from '../../src/io/index.js'
import { MemoryObjectStore, type ObjectStore } from '../../src/objectstore/index.js'
import { type Partition, Store, type StoreOptions } from '../../src/partition/index.js'
import { SnapshotRepository } from '../../src/snapshot/index.js'

const dec = new TextDecoder()

/** Record i (1-based) puts key `k<i % keys>` = `v<i> <padding>` (so later records overwrite). */
export function recordValue(i: number): string {
  return `v${i} ${'x'.repeat(60)}`
}

export function keyOf(i: number, keys: number): string {
  return `k${String(i % keys).padStart(4, '0')}`
}

/** The state after records 1..lsn of `writeRecords(.., keys)`. */
export function modelAt(lsn: number, keys: number): Record<string, string> {
  const out: Record<string, string> = {}
  for (let i = 1; i <= lsn; i++) out[keyOf(i, keys)] = recordValue(i)
  return out
}

/** Writes records from..to (inclusive) as in `modelAt`. */
export async function writeRecords(p: Partition, from: number, to: number, keys: number): Promise<void> {
  for (let i = from; i <= to; i++) await p.put(keyOf(i, keys), recordValue(i))
}

export async function stateOf(p: Partition): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for await (const [k, v] of p.scan()) out[dec.decode(k)] = dec.decode(v)
  return out
}

export async function openStore(fs: MemoryFileSystem, dir = '/data', options: StoreOptions = {}): Promise<Store> {
  return await Store.open(dir, { fs, segmentBytesMax: 4096, ...options })
}

/** An object store that counts calls by operation and can be made to fail. */
export class CountingObjectStore implements ObjectStore {
  readonly inner: ObjectStore
  readonly calls: Record<string, number> = {}
  readonly keys: string[] = []
  failing: ((op: string, key: string) => boolean) | undefined

  constructor(inner: ObjectStore = new MemoryObjectStore()) {
    this.inner = inner
  }

  get url(): string {
    return this.inner.url
  }

  #count(op: string, key: string): void {
    this.calls[op] = (this.calls[op] ?? 0) + 1
    this.keys.push(`${op} ${key}`)
    if (this.failing?.(op, key)) throw new CairnError('OBJECT_STORE_ERROR', `injected failure of ${op} ${key}`, { context: { key } })
  }

  reset(): void {
    for (const k of Object.keys(this.calls)) delete this.calls[k]
    this.keys.length = 0
  }

  get: ObjectStore['get'] = async (key, options) => {
    this.#count('get', key)
    return await this.inner.get(key, options)
  }
  put: ObjectStore['put'] = async (key, body, options) => {
    this.#count('put', key)
    return await this.inner.put(key, body, options)
  }
  head: ObjectStore['head'] = async (key) => {
    this.#count('head', key)
    return await this.inner.head(key)
  }
  list: ObjectStore['list'] = async (prefix, options) => {
    this.#count('list', prefix)
    return await this.inner.list(prefix, options)
  }
  delete: ObjectStore['delete'] = async (key) => {
    this.#count('delete', key)
    await this.inner.delete(key)
  }
  close: ObjectStore['close'] = async () => {
    await this.inner.close()
  }
}

export async function repositoryOver(objects: ObjectStore, keep = 3): Promise<SnapshotRepository> {
  return await SnapshotRepository.open(objects, { keep, compression: 'none' })
}

export { MemoryFileSystem, MemoryObjectStore }
