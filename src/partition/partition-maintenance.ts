/**
 * A partition's maintenance: when its memtable is flushed into table files and compacted, and
 * the backpressure that keeps writers from running ahead of it.
 *
 * Invariants:
 * - the log is fsynced up to an LSN before state makes it durable (a flush freezes the
 *   memtable, syncs the log up to the frozen LSN, then writes only the frozen memtables), so
 *   state is never ahead of the log after power loss, under 'none' durability too, and for
 *   records replayed at open that the last process wrote but never synced;
 * - one flush (+ compaction) runs at a time; a failed one is kept and retried on the next trigger;
 * - memory stays bounded: writers wait for the flush once the unflushed bytes pass twice the
 *   memtable bound, and are refused (IO_ERROR) past four times it while flushing fails; in a
 *   store, the store's budget (memory-budget.ts) is told the memtable's bytes after every apply
 *   and flush, and asked before every write.
 */
import { CairnError } from '../io/errors.js'
import type { Log } from '../log/log.js'
import type { LsmTree } from '../state/index.js'
import type { MemtableAccount } from './memory-budget.js'

export class PartitionMaintenance {
  readonly #id: string
  readonly #log: Log
  readonly #tree: LsmTree
  readonly #memtableBytesMax: number
  readonly #memory: MemtableAccount | undefined
  #running: Promise<void> | undefined
  #error: unknown
  /** True once a flush or compaction (or the log sync before it) failed; sticky, unlike `#error`. */
  faulted = false

  constructor(id: string, log: Log, tree: LsmTree, memtableBytesMax: number, memory: MemtableAccount | undefined) {
    this.#id = id
    this.#log = log
    this.#tree = tree
    this.#memtableBytesMax = memtableBytesMax
    this.#memory = memory
    // What replay left in the memtable counts from the start.
    memory?.update(tree.memtableBytes)
  }

  /** True while a flush (or compaction) runs. */
  get running(): boolean {
    return this.#running !== undefined
  }

  /**
   * Backpressure before a write: waits for log queue room, for the store's memory budget, and
   * for a flush when the memtable is far over.
   */
  async admit(): Promise<void> {
    await this.#log.room()
    // The store's budget: undefined (no wait) while the store's memtables are under it.
    const budget = this.#memory?.admit()
    if (budget !== undefined) await budget
    // Cheap test first: the full stats are only worth computing once the memtable is full.
    if (!this.#tree.needsFlush()) return
    const stats = this.#tree.stats()
    const unflushed = stats.memtableBytes + stats.frozenMemtableBytes
    // Writes wait for the flush when memory runs far ahead of it, so memory stays bounded.
    if (unflushed > 2 * this.#memtableBytesMax && this.#running !== undefined) {
      await this.#running.catch(() => undefined)
    }
    if (this.#error !== undefined && unflushed > 4 * this.#memtableBytesMax) {
      throw new CairnError('IO_ERROR', `partition ${this.#id} cannot flush its state (writes are paused): check the disk, then retry`, {
        context: { partition: this.#id },
        cause: this.#error,
      })
    }
  }

  /** After an apply: starts a flush in the background once the memtable is full. */
  afterApply(): void {
    this.#memory?.update(this.#tree.memtableBytes)
    if (this.#tree.needsFlush() && this.#running === undefined) void this.run(false).catch(() => undefined)
  }

  /** One flush (+ compaction) at a time; errors are kept and retried on the next trigger. */
  run(compact: boolean): Promise<void> {
    const previous = this.#running ?? Promise.resolve()
    const run = previous
      .catch(() => undefined)
      .then(async () => {
        // Freeze first, then make the log durable up to what was frozen, then flush only that:
        // a write acknowledged (under 'none') while the log syncs is in neither, so state is
        // never durable past the log.
        const frozenLsn = this.#tree.freeze()
        if (this.#log.syncedLsn < frozenLsn) await this.#log.sync()
        await this.#tree.flushFrozen(frozenLsn)
        this.#memory?.update(this.#tree.memtableBytes)
        // The tree compacts in the background after a flush; an explicit compact waits for it.
        if (compact) await this.#tree.compact()
        this.#error = undefined
      })
      .catch((e) => {
        this.#error = e
        this.faulted = true
        throw e
      })
      .finally(() => {
        if (this.#running === run) this.#running = undefined
      })
    this.#running = run
    return run
  }

  /** Resolves once the maintenance running now (if any) has finished, whatever its outcome. */
  async settle(): Promise<void> {
    await this.#running?.catch(() => undefined)
  }
}
