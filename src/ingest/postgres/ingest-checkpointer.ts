/**
 * The ingester's bookkeeping in the store: recovering its progress at start, checkpointing it to
 * the catalog (`meta.ingest`), and the trim hold that keeps the log above the checkpoint.
 *
 * Invariants:
 * - at start, progress is the catalog's checkpoint plus the progress payloads of the log above
 *   it, which the trim hold (taken before that log is read) keeps: positions never go back
 *   across restarts;
 * - the trim hold moves up only after the catalog holds the checkpoint it moves to (the new hold
 *   is taken before the old one is released), so the log above the durable checkpoint is always
 *   kept;
 * - checkpoints run one at a time, in call order; one that would write what the last one wrote
 *   (the status's time aside) is skipped unless forced.
 */
import { CairnError } from '../../io/errors.js'
import type { Partition, Store } from '../../partition/index.js'
import { decodeProgress, foldProgress, type IngestMeta, type IngestStatus, newMeta } from './ingest-status.js'

export interface IngestCheckpointerOptions {
  store: Store
  partitionId: string
  partition: Partition
  slot: string
  publication: string
}

/**
 * @example
 * const books = new IngestCheckpointer({ store, partitionId: 'pg', partition, slot, publication })
 * const meta = await books.recover()
 * await books.checkpoint(meta, () => ingester.status(), true)
 * books.release()
 */
export class IngestCheckpointer {
  readonly #o: IngestCheckpointerOptions
  #releaseHold: (() => void) | undefined
  #checkpointing: Promise<void> = Promise.resolve()
  #lastCheckpoint = ''

  constructor(options: IngestCheckpointerOptions) {
    this.#o = options
  }

  /** The catalog's checkpoint plus the progress payloads of the log above it; takes the trim hold. */
  async recover(): Promise<IngestMeta> {
    const { store, partitionId, partition, slot, publication } = this.#o
    const stored = store.catalog.partition(partitionId)?.meta.ingest as IngestMeta | undefined
    const meta: IngestMeta = stored?.version === 1 ? structuredClone(stored) : newMeta(slot, publication)
    if (stored !== undefined && (stored.slot !== slot || stored.publication !== publication)) {
      throw new CairnError(
        'INVALID_ARGUMENT',
        `partition ${partitionId} is ingested through slot ${stored.slot} and publication ${stored.publication}, not ${slot}/${publication}: pass those names, or ingest into another partition`,
        { context: { partition: partitionId } },
      )
    }
    delete meta.status
    this.#releaseHold = partition.holdTrim(meta.atLsn + 1, `ingest ${slot}`)
    for await (const batch of partition.readBatches({ fromLsn: meta.atLsn + 1 })) {
      for (const entry of batch) {
        const progress = decodeProgress(entry.payloads[0] ?? new Uint8Array())
        if (progress !== undefined) foldProgress(meta, entry.lsn, progress)
      }
    }
    return meta
  }

  /**
   * Writes `meta` (with the status `status()` gives when its turn comes) to the catalog if it
   * changed, or always when `force`; moves the trim hold up to it.
   */
  checkpoint(meta: IngestMeta, status: () => IngestStatus | undefined, force: boolean): Promise<void> {
    const { store, partitionId, partition, slot } = this.#o
    const run = this.#checkpointing.then(async () => {
      const record: IngestMeta = structuredClone({ ...meta, status: status() })
      if (record.status === undefined) delete record.status
      const { updatedAtMs: _ignored, ...comparable } = record.status ?? {}
      const signature = JSON.stringify({ ...record, status: comparable })
      if (!force && signature === this.#lastCheckpoint) return
      await store.catalog.update((c) => {
        const entry = c.partitions[partitionId]
        if (entry !== undefined) entry.meta.ingest = record
      })
      this.#lastCheckpoint = signature
      const release = this.#releaseHold
      this.#releaseHold = partition.holdTrim(record.atLsn + 1, `ingest ${slot}`)
      release?.()
    })
    this.#checkpointing = run.catch(() => undefined)
    return run
  }

  /** Releases the trim hold (the ingester ended). */
  release(): void {
    this.#releaseHold?.()
    this.#releaseHold = undefined
  }
}
