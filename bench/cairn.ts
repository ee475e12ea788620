/**
 * The cairn side of the benches: opens a store with one partition, and feature-detects the state
 * API (issue 3) so state suites can skip cleanly until it lands.
 */
import { type Durability, type FileSystem, NodeFileSystem, type Partition, Store } from '../src/index.js'

type FileHandle = Awaited<ReturnType<FileSystem['open']>>

/** Counts file syncs and writes under the log (the engine's own I/O seam), to see group sizes. */
export interface IoCounts {
  syncs: number
  writes: number
  writeBytes: number
}

function countingFs(counts: IoCounts): FileSystem {
  const inner = new NodeFileSystem()
  const wrapHandle = (h: FileHandle): FileHandle =>
    new Proxy(h, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver)
        if (prop === 'sync') {
          return () => {
            counts.syncs++
            return target.sync()
          }
        }
        if (prop === 'write') {
          return (data: Uint8Array, position: number) => {
            counts.writes++
            counts.writeBytes += data.length
            return target.write(data, position)
          }
        }
        return typeof v === 'function' ? v.bind(target) : v
      },
    })
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver)
      if (prop === 'open') return async (path: string, mode: Parameters<FileSystem['open']>[1]) => wrapHandle(await target.open(path, mode))
      return typeof v === 'function' ? v.bind(target) : v
    },
  })
}

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
  /** Count syncs / writes through the file-system seam (a thin proxy over NodeFileSystem). */
  countIo?: boolean
}

export interface CairnHandle {
  store: Store
  partition: Partition
  io: IoCounts | undefined
  close(): Promise<void>
}

export async function openCairn(dir: string, options: CairnOpenOptions = {}): Promise<CairnHandle> {
  // memtableBytesMax / blockCacheBytesMax are state-engine options (issue 3); passed through as
  // they are so the benches pick them up once Store knows them.
  const { countIo, ...rest } = options
  const io = countIo ? { syncs: 0, writes: 0, writeBytes: 0 } : undefined
  const store = await Store.open(dir, { ...(rest as Parameters<typeof Store.open>[1]), ...(io && { fs: countingFs(io) }) })
  const partition = await store.ensurePartition('bench')
  if (io) Object.assign(io, { syncs: 0, writes: 0, writeBytes: 0 })
  return { store, partition, io, close: () => store.close() }
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
