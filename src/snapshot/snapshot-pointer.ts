/**
 * `partitions/<pid>/latest.json`, the one mutable object of a partition: the retained snapshots,
 * newest first, and the writer that owns the partition in this repository. Updated only by
 * compare-and-swap (create with ifNoneMatch, replace with ifMatch of the etag read).
 *
 * Invariants: `snapshots` is non-empty, sorted by LSN descending (ties by id descending); the
 * newest never regresses; `archivedLsn` is the LSN of the oldest retained snapshot (the log
 * below it may be trimmed). An unparsable pointer is `CORRUPT_SNAPSHOT` and is never overwritten.
 */
import { z } from 'zod'
import { isPartitionId } from '../partition/index.js'
import { checkFormat, corrupt, parseJson } from './snapshot-manifest.js'
import { snapshotIdPattern } from './repository-layout.js'

export const pointerFormat = 1

/** One retained snapshot, as the pointer lists it. */
export interface RetainedSnapshot {
  snapshotId: string
  lsn: number
  manifestKey: string
  rootHash: string
  createdAt: string
}

/** Who may publish: a store, and the epoch it took (take-overs increase it). */
export interface SnapshotWriter {
  storeId: string
  epoch: number
}

export interface SnapshotPointer {
  format: typeof pointerFormat
  partition: string
  writer: SnapshotWriter
  archivedLsn: number
  updatedAt: string
  snapshots: RetainedSnapshot[]
}

const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)

const pointerSchema = z.strictObject({
  format: z.literal(pointerFormat),
  partition: z.string().refine(isPartitionId, 'not a partition id'),
  writer: z.strictObject({ storeId: z.string().min(1).max(200), epoch: count.min(1) }),
  archivedLsn: count,
  updatedAt: z.iso.datetime(),
  snapshots: z
    .array(
      z.strictObject({
        snapshotId: z.string().regex(snapshotIdPattern),
        lsn: count,
        manifestKey: z.string().min(1).max(1000),
        rootHash: z.string().regex(/^[0-9a-f]{64}$/),
        createdAt: z.iso.datetime(),
      }),
    )
    .min(1),
})

export function encodePointer(pointer: SnapshotPointer): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(pointer, null, 1)}\n`)
}

/** @example const pointer = decodePointer(body.bytes, 'partitions/p1/latest.json') */
export function decodePointer(bytes: Uint8Array, key: string): SnapshotPointer {
  const json = parseJson(bytes, key, 'pointer')
  checkFormat(json, key, 'pointer', pointerFormat)
  const parsed = pointerSchema.safeParse(json)
  if (!parsed.success) throw corrupt(key, 'pointer', z.prettifyError(parsed.error).split('\n').slice(0, 4).join('; '))
  const p = parsed.data as SnapshotPointer
  for (let i = 1; i < p.snapshots.length; i++) {
    if (compareRetained(p.snapshots[i - 1]!, p.snapshots[i]!) <= 0) throw corrupt(key, 'pointer', 'its snapshots are not newest first')
  }
  if (p.archivedLsn !== p.snapshots.at(-1)!.lsn) throw corrupt(key, 'pointer', 'its archivedLsn is not its oldest snapshot')
  return p
}

/** Orders snapshots by LSN, then id (ids of one LSN sort by creation time). */
export function compareRetained(a: { lsn: number; snapshotId: string }, b: { lsn: number; snapshotId: string }): number {
  return a.lsn !== b.lsn ? a.lsn - b.lsn : a.snapshotId < b.snapshotId ? -1 : a.snapshotId > b.snapshotId ? 1 : 0
}
