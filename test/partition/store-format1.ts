/**
 * A store of format 1, as cairn wrote it before log chains: `partitions/<id>/log/` (one log per
 * partition), `partitions/<id>/state/`, and a catalog of version 1 whose entries carry a `logId`.
 * Written with today's code, then moved into format 1's places, durably: what the upgrade
 * meets on disk.
 */
import { atomicWriteFile, type FileSystem, sha256Hex } from '../../src/io/index.js'
import { Store } from '../../src/partition/index.js'

export const format1SegmentBytesMax = 4096

/** What the fixture holds: per partition, its keys and values and its log payloads (in LSN order). */
export interface Format1Contents {
  keys: Record<string, Record<string, string>>
  payloads: Record<string, string[]>
}

export async function writeFormat1Store(fs: FileSystem, root: string): Promise<Format1Contents> {
  const store = await Store.open(root, { fs, segmentBytesMax: format1SegmentBytesMax, memtableBytesMax: 8192 })
  const contents: Format1Contents = { keys: { kv: {}, events: {}, empty: {} }, payloads: { kv: [], events: [], empty: [] } }
  const kv = await store.createPartition('kv')
  for (let i = 0; i < 40; i++) {
    await kv.put(`k${i}`, `value ${i}`)
    contents.keys.kv![`k${i}`] = `value ${i}`
    contents.payloads.kv!.push('')
    if (i === 20) await kv.flush()
  }
  const events = await store.createPartition('events')
  for (let i = 0; i < 60; i++) {
    const payload = `event ${i} ${'x'.repeat(120)}`
    await events.append([payload])
    contents.payloads.events!.push(payload)
  }
  await store.createPartition('empty')
  const data = store.catalog.data
  await store.close()
  const partitions: Record<string, { logId: string; createdAtMs: number; meta: Record<string, unknown> }> = {}
  for (const [id, entry] of Object.entries(data.partitions)) {
    const dir = `${root}/partitions/${id}`
    await fs.rename(`${dir}/logs/${entry.activeLogId}`, `${dir}/log`)
    await fs.removeTree(`${dir}/logs`)
    await fs.syncDir(dir)
    partitions[id] = { logId: entry.activeLogId, createdAtMs: entry.createdAtMs, meta: entry.meta }
  }
  const body = { format: 'cairn-catalog', version: 1, storeId: data.storeId, createdAtMs: data.createdAtMs, epoch: data.epoch, partitions }
  await atomicWriteFile(fs, `${root}/catalog.json`, new TextEncoder().encode(JSON.stringify({ checksum: sha256Hex(JSON.stringify(body)), body }, null, 2)))
  return contents
}

/** The version field of the catalog on disk. */
export async function catalogVersionOnDisk(fs: FileSystem, root: string): Promise<number> {
  return (JSON.parse(new TextDecoder().decode(await fs.readFile(`${root}/catalog.json`))) as { body: { version: number } }).body.version
}
