/**
 * The last known snapshot of each partition, in the store's catalog (`meta.snapshot`), so that
 * opening a store, deciding whether a snapshot is due and trimming its log make no object-store
 * call.
 *
 * Invariants:
 * - written only after what it describes is published (or restored): a crash before leaves the
 *   previous record, which is older, never newer, than the repository;
 * - `epoch` is the writer epoch this store took at its last publish to `repository`; absent
 *   after a restore or bootstrap (a store restored from a repository is another writer there and
 *   must take over explicitly) and ignored for another repository;
 * - `archivedLsn` is what the repository said at that time; absent when unknown (trimming then
 *   keeps the log). The repository's archived LSN only grows, so an old value is a safe one.
 */
import type { Store } from '../partition/index.js'

export const snapshotMetaNamespace = 'snapshot'

export interface SnapshotMeta {
  /** The repository's URL (`file:///...`, `s3://...`), never credentials. */
  repository: string
  snapshotId: string
  lsn: number
  rootHash: string
  /** The repository's archived LSN (its oldest retained snapshot's), when known. */
  archivedLsn?: number
  /** The writer epoch this store holds in `repository` (absent: it has not published there). */
  epoch?: number
  /** How this store came by it: it published it, or restored from it. */
  source: 'created' | 'restored'
  /** When it was recorded (this machine's clock). */
  recordedAtMs: number
}

/** The partition's record, or undefined (none, or one for another repository when `repository` is given). */
export function readSnapshotMeta(store: Store, id: string, repository?: string): SnapshotMeta | undefined {
  const meta = store.catalog.partition(id)?.meta[snapshotMetaNamespace] as SnapshotMeta | undefined
  if (meta === undefined || typeof meta !== 'object' || typeof meta.lsn !== 'number') return undefined
  if (repository !== undefined && meta.repository !== repository) return undefined
  return meta
}

/**
 * Records `meta` as the partition's last known snapshot (durably, one catalog update).
 *
 * @example
 * await writeSnapshotMeta(store, 'orders', { repository: repo.url, snapshotId, lsn, rootHash, epoch, source: 'created', recordedAtMs: Date.now() })
 */
export async function writeSnapshotMeta(store: Store, id: string, meta: SnapshotMeta): Promise<void> {
  await store.catalog.update((c) => {
    const entry = c.partitions[id]
    // Gone meanwhile (dropped, or a failed restore of a new partition): nothing to record.
    if (entry !== undefined) entry.meta[snapshotMetaNamespace] = { ...meta }
  })
}
