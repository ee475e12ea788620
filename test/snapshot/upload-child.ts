/**
 * Child of upload-kill.test.ts: creates a snapshot of partition p at LSN 20 in the file://
 * repository argv[2], printing `uploaded <n>` after each chunk upload, until the parent kills it.
 */
import { FileObjectStore } from '../../src/objectstore/index.js'
import { SnapshotRepository } from '../../src/snapshot/index.js'
import { makeEntries, sourceOf } from './snapshot-helpers.js'

const repo = await SnapshotRepository.open(await FileObjectStore.open(process.argv[2]!), { uploadParallelism: 2 })
await repo.create('p', sourceOf(makeEntries(25_000, { tag: 'b', valueBytes: 100 }), 20), {
  writer: { storeId: 'child' },
  onProgress: (p) => process.stdout.write(`uploaded ${p.chunksUploaded}\n`),
})
process.stdout.write('done\n')
