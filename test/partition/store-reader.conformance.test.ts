/**
 * The log-reader conformance suite (test/helpers/log-reader-conformance.ts) against the
 * partition layer's readers: a partition reading its own log, and a StoreReader reading a
 * partition beside the store that owns it (no lock, read-only), on the in-memory and the real
 * file system, with segments small enough that reads cross rolls.
 */
import { type FileSystem, MemoryFileSystem, NodeFileSystem } from '../../src/io/index.js'
import { Store, StoreReader } from '../../src/partition/index.js'
import { describeLogReaderConformance } from '../helpers/log-reader-conformance.js'
import { makeTempDir } from '../helpers/temp-dir.js'

const segmentBytesMax = 4096

describeLogReaderConformance('Partition (the owner reads its own log)', async () => {
  const store = await Store.open('/data', { fs: new MemoryFileSystem(), segmentBytesMax })
  const p = await store.ensurePartition('p')
  return {
    append: (payloads) => p.append(payloads),
    reader: {
      readBatches: (fromLsn, toLsn) => p.readBatches({ fromLsn, ...(toLsn !== undefined && { toLsn }) }),
      read: (fromLsn, toLsn) => upTo(p.read({ fromLsn }), toLsn),
      tail: (fromLsn, options) => p.tail(fromLsn, options),
    },
    cleanup: () => store.close(),
  }
})

async function besideOwner(fs: FileSystem, dir: string, cleanup: () => Promise<void>) {
  const store = await Store.open(dir, { fs, segmentBytesMax })
  const p = await store.ensurePartition('p')
  const reader = await StoreReader.open(dir, { fs, pollIntervalMs: 5 })
  const range = (fromLsn: number, toLsn: number | undefined) => ({ fromLsn, ...(toLsn !== undefined && { toLsn }) })
  return {
    append: (payloads: Uint8Array[]) => p.append(payloads),
    reader: {
      readBatches: (fromLsn: number, toLsn?: number) => reader.readBatches('p', range(fromLsn, toLsn)),
      read: (fromLsn: number, toLsn?: number) => reader.read('p', range(fromLsn, toLsn)),
      tail: (fromLsn: number, options: { signal: AbortSignal }) => reader.tail('p', fromLsn, options),
    },
    cleanup: async () => {
      await reader.close()
      await store.close()
      await cleanup()
    },
  }
}

describeLogReaderConformance('StoreReader beside the owning store (memory file system)', async () =>
  besideOwner(new MemoryFileSystem(), '/data', async () => undefined),
)

describeLogReaderConformance('StoreReader beside the owning store (real file system)', async () => {
  const temp = await makeTempDir('cairn-store-reader-')
  return besideOwner(new NodeFileSystem(), `${temp.path}/store`, () => temp.cleanup())
})

/** `Partition.read` has a limit, not an end: the entries up to `toLsn`. */
async function* upTo<T extends { lsn: number }>(entries: AsyncIterable<T>, toLsn: number | undefined): AsyncGenerator<T> {
  for await (const e of entries) {
    if (toLsn !== undefined && e.lsn > toLsn) return
    yield e
  }
}
