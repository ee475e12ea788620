/**
 * Auto-create under a bound: a write to a missing partition creates it only while the store
 * holds fewer than `maxPartitions`; past it, 409 PARTITION_LIMIT. Creations in flight count
 * against the bound, so concurrent writes to new partitions can never overshoot it.
 */
import type { Partition, Store } from '../partition/index.js'
import { ApiError } from '../wire/index.js'

export class PartitionLimiter {
  readonly #store: Store
  readonly #max: number
  readonly #creating = new Set<string>()

  constructor(store: Store, maxPartitions: number) {
    this.#store = store
    this.#max = maxPartitions
  }

  /** The partition, created if missing and the bound allows it. */
  async ensure(id: string): Promise<Partition> {
    if (this.#store.hasPartition(id) || this.#creating.has(id)) return await this.#store.ensurePartition(id)
    if (this.#store.partitions().length + this.#creating.size >= this.#max) {
      throw new ApiError('PARTITION_LIMIT', `the store holds its maximum of ${this.#max} partitions: write to an existing one, or restart the server with a larger --max-partitions`)
    }
    this.#creating.add(id)
    try {
      return await this.#store.ensurePartition(id)
    } finally {
      this.#creating.delete(id)
    }
  }
}
