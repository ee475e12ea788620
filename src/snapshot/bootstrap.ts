/**
 * Restoring partitions from a repository: bootstrap (a partition this store lacks), repair of a
 * trim gap (state from a snapshot at or past the gap, the local log chain kept and replayed from
 * its LSN + 1), and the explicit restore of `cairn snapshot restore`.
 *
 * Invariants:
 * - one GET of latest.json, then the manifest, then the chunks downloaded in parallel and
 *   verified before their entries reach `Store.restorePartition` (which builds the tables from
 *   the sorted stream and switches atomically, committing nothing before the stream ends);
 * - a damaged or incomplete snapshot falls back to the next older retained one, and the result
 *   says so (`fellBackFrom`); a repository error is the caller's error, never an empty or a
 *   partially restored partition;
 * - no acknowledged local record is dropped: a local log that can continue the snapshot
 *   (it holds its LSN + 1, or ends at it) is kept and replayed; one that cannot is replaced only
 *   when the snapshot covers all of it (its LSN is at or past the log's end); otherwise the
 *   restore is refused;
 * - the result is recorded in the catalog (`meta.snapshot`, source 'restored', no writer epoch:
 *   a restored store takes over explicitly to publish).
 */
import { CairnError, isCairnError } from '../io/errors.js'
import type { Partition, Store } from '../partition/index.js'
import type { SnapshotRepository } from './repository.js'
import type { SnapshotManifest } from './snapshot-manifest.js'
import { writeSnapshotMeta } from './snapshot-manager-meta.js'
import type { FallbackNote, OpenedSnapshot, OpenProgress } from './snapshot-types.js'

export interface RestoreFromRepositoryOptions {
  /** A chosen snapshot (no fallback then); default the newest readable. */
  snapshotId?: string
  onProgress?: (progress: OpenProgress) => void
  /** The snapshot must be at or past this LSN (a trim gap's end): one below it is TRIM_GAP, nothing restored. */
  minLsn?: number
}

export interface RestoreFromRepositoryResult {
  partition: string
  lsn: number
  snapshotId: string
  rootHash: string
  entries: number
  bytes: number
  chunksTotal: number
  /** Whether the local log was kept (and its records after `lsn` replayed). */
  keptLog: boolean
  /** The partition's last LSN after the restore (and the replay of any kept log). */
  lastLsn: number
  /** Newer snapshots that could not be read, newest first. */
  fellBackFrom?: FallbackNote[]
}

/** What the local partition's log holds, read from a failed open's TRIM_GAP or the open partition. */
interface LocalLog {
  firstLsn: number
  lastLsn: number
}

/**
 * Restores partition `id` of `store` from `repo` (see the header for what happens to a local log).
 * SNAPSHOT_NOT_FOUND when the repository has no snapshot of it.
 *
 * @example
 * const r = await restoreFromRepository(store, repo, 'orders')
 * if (r.fellBackFrom) console.warn(`fell back past ${r.fellBackFrom.length} damaged snapshot(s)`)
 */
export async function restoreFromRepository(
  store: Store,
  repo: SnapshotRepository,
  id: string,
  options: RestoreFromRepositoryOptions = {},
  local?: LocalLog,
): Promise<RestoreFromRepositoryResult> {
  const localLog = local ?? (store.hasPartition(id) ? await localLogOf(store, id) : undefined)
  const consume = async (snapshot: OpenedSnapshot): Promise<{ partition: Partition; keptLog: boolean }> => {
    const { manifest } = snapshot
    if (options.minLsn !== undefined && manifest.lsn < options.minLsn) {
      throw new CairnError(
        'TRIM_GAP',
        `partition ${id}: the newest readable snapshot in ${repo.url} is at LSN ${manifest.lsn}, before the gap (the log starts at ${options.minLsn + 1}): create a newer snapshot from a store that has the records, or restore from a backup`,
        { context: { partition: id, neededLsn: options.minLsn + 1, snapshotLsn: manifest.lsn } },
      )
    }
    const keepLog = localLog !== undefined && manifest.lsn + 1 >= localLog.firstLsn && manifest.lsn <= localLog.lastLsn
    if (localLog !== undefined && !keepLog && manifest.lsn < localLog.lastLsn) {
      throw new CairnError(
        'INVALID_ARGUMENT',
        `partition ${id}: snapshot ${manifest.snapshotId} at LSN ${manifest.lsn} is older than the local log's start (${localLog.firstLsn}) and restoring it would drop local records ${manifest.lsn + 1}..${localLog.lastLsn}: restore into another data directory, or choose a newer snapshot`,
        { context: { partition: id, lsn: manifest.lsn, firstLsn: localLog.firstLsn, lastLsn: localLog.lastLsn } },
      )
    }
    const partition = await store.restorePartition(id, { lsn: manifest.lsn, entries: snapshot.entries(), keepLog })
    return { partition, keptLog: keepLog }
  }
  const { result, manifest, fellBackFrom } = await repo.withSnapshot(id, consume, {
    ...(options.snapshotId !== undefined && { snapshotId: options.snapshotId }),
    ...(options.onProgress !== undefined && { onProgress: options.onProgress }),
  })
  await writeSnapshotMeta(store, id, {
    repository: repo.url,
    snapshotId: manifest.snapshotId,
    lsn: manifest.lsn,
    rootHash: manifest.rootHash,
    source: 'restored',
    recordedAtMs: Date.now(),
  })
  return { ...resultOf(id, manifest), keptLog: result.keptLog, lastLsn: result.partition.lastLsn, ...(fellBackFrom !== undefined && { fellBackFrom }) }
}

/**
 * A partition this store lacks: restored from the repository's newest readable snapshot (its
 * result), or undefined when the repository has none. Any other failure is thrown.
 */
export async function bootstrapPartition(store: Store, repo: SnapshotRepository, id: string): Promise<RestoreFromRepositoryResult | undefined> {
  try {
    return await restoreFromRepository(store, repo, id)
  } catch (e) {
    // Only "no latest.json at all" means "nothing to bootstrap from" (damage is CORRUPT_SNAPSHOT).
    if (isCairnError(e, 'SNAPSHOT_NOT_FOUND') && !store.hasPartition(id)) return undefined
    throw e
  }
}

/**
 * A partition whose open failed with TRIM_GAP (`error`): its state restored from a snapshot at or
 * past the gap, its log kept (and replayed) when it can continue it. Undefined when the
 * repository has no snapshot of it; TRIM_GAP when its newest readable one is before the gap.
 */
export async function repairTrimGap(store: Store, repo: SnapshotRepository, id: string, error: CairnError): Promise<RestoreFromRepositoryResult | undefined> {
  const firstLsn = Number(error.context.firstLsn)
  const lastLsn = Number(error.context.lastLsn)
  try {
    return await restoreFromRepository(store, repo, id, { minLsn: firstLsn - 1 }, { firstLsn, lastLsn })
  } catch (e) {
    // No latest.json at all (every retained snapshot damaged is CORRUPT_SNAPSHOT): the gap stays.
    if (isCairnError(e, 'SNAPSHOT_NOT_FOUND')) return undefined
    throw e
  }
}

function resultOf(id: string, m: SnapshotManifest): Omit<RestoreFromRepositoryResult, 'keptLog' | 'lastLsn'> {
  return { partition: id, lsn: m.lsn, snapshotId: m.snapshotId, rootHash: m.rootHash, entries: m.entries, bytes: m.bytes, chunksTotal: m.chunks.length }
}

/** The local partition's log bounds (it opens: a partition with a gap goes through `repairTrimGap` instead). */
async function localLogOf(store: Store, id: string): Promise<LocalLog | undefined> {
  try {
    const p = await store.partition(id)
    return { firstLsn: p.firstLsn, lastLsn: p.lastLsn }
  } catch (e) {
    if (isCairnError(e, 'TRIM_GAP')) return { firstLsn: Number(e.context.firstLsn), lastLsn: Number(e.context.lastLsn) }
    throw e
  }
}
