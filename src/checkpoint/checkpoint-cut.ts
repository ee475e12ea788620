/**
 * The cut of a checkpoint: every partition of the store pinned at one point.
 *
 * Invariants:
 * - every partition is opened (and kept open, out of the pool's reach) before the cut;
 * - the cut itself runs in one synchronous stretch with no await: for each partition, its
 *   retained state (tables at its durable LSN `d`), a trim hold from `d + 1` and its log cut
 *   (acknowledged end `l`); nothing else runs between the first partition and the last, so every
 *   write acknowledged before it is at or below `l` and no batch (one log group) is split;
 * - on failure midway, every pin taken so far is released before the error surfaces; on success
 *   the caller releases them all with `releaseCut`.
 */
import { posix } from 'node:path'
import { IoError, isCairnError } from '../io/errors.js'
import type { CatalogData, LogCut, Partition, RetainedState, Store } from '../partition/index.js'

/** One partition as the cut took it. */
export interface TakenPartition {
  id: string
  partition: Partition
  state: RetainedState
  cut: LogCut
  releaseTrim: () => void
}

/** A partition kept open until released. */
export interface KeptPartition {
  partition: Partition
  release: () => void
}

/** Opens every partition the store has and keeps it open (out of the pool's reach) until released. */
export async function keepAllOpen(store: Store): Promise<KeptPartition[]> {
  const kept: KeptPartition[] = []
  try {
    for (const id of store.partitions()) {
      const partition = await store.partition(id).catch((e: unknown) => {
        // Opening a partition may fail with the file system's own error: name the step.
        throw isCairnError(e) ? e : new IoError('open partition', posix.join(store.dir, 'partitions', id), e)
      })
      // In the turn `partition` resolved in: the pool evicts only in a later macrotask.
      kept.push({ partition, release: partition.keepOpen() })
    }
  } catch (e) {
    for (const k of kept) k.release()
    throw e
  }
  return kept
}

/**
 * The cut, synchronously (no await: nothing else runs between the first partition and the last).
 *
 * @example
 * const kept = await keepAllOpen(store)
 * const { taken, catalog } = takeCheckpointCut(store, kept.map((k) => k.partition), 'checkpoint /backups/a')
 * try { ... } finally { releaseCut(taken, kept) }
 */
export function takeCheckpointCut(store: Store, partitions: Partition[], who: string): { taken: TakenPartition[]; catalog: CatalogData } {
  const catalog = store.catalog.data
  const taken: TakenPartition[] = []
  try {
    for (const partition of partitions) {
      const state = partition.retainState()
      let releaseTrim: () => void
      try {
        releaseTrim = partition.holdTrim(state.lsn + 1, who)
      } catch (e) {
        state.release()
        throw e
      }
      taken.push({ id: partition.id, partition, state, cut: partition.cut(), releaseTrim })
    }
  } catch (e) {
    releaseCut(taken, [])
    throw e
  }
  return { taken, catalog }
}

/** Releases the pins of a cut: retained states, trim holds, then the kept-open partitions. */
export function releaseCut(taken: TakenPartition[], kept: KeptPartition[]): void {
  for (const t of taken) {
    t.state.release()
    t.releaseTrim()
  }
  for (const k of kept) k.release()
}
