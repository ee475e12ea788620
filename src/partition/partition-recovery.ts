/**
 * The seam through which a layer above the store (the snapshot manager) restores partitions the
 * store cannot open by itself: one the catalog does not list while a repository has it (a
 * bootstrap), and one whose open fails with TRIM_GAP (a repair from a snapshot at or past the
 * gap). The partition layer knows nothing of repositories: it only asks.
 *
 * Invariants (kept by the store, store.ts):
 * - a hook that fails makes the open fail with its error: a repository error never reads as a
 *   missing or an empty partition;
 * - a hook restores through `Store.restorePartition` and resolves true, or changes nothing and
 *   resolves false; the store then opens the partition (or reports it missing, or the gap) as
 *   it would without the hook;
 * - the store asks each hook at most once per open, so a repair that leaves the gap is not
 *   retried in a loop.
 */
import type { CairnError } from '../io/errors.js'

export interface PartitionRecovery {
  /**
   * Partition `id` is not in the catalog and is about to be opened (`partition`) or created
   * (`ensurePartition`): restore it from elsewhere and resolve true, or resolve false.
   */
  bootstrap(id: string): Promise<boolean>
  /** Opening partition `id` failed with TRIM_GAP (`error`): repair it and resolve true, or resolve false. */
  repairTrimGap(id: string, error: CairnError): Promise<boolean>
}
