/**
 * Flush: a frozen memtable written through the table-writing loop (table-output.ts) as one L0
 * table, installed with the memtable's range tombstones and its LSN as the new durable LSN.
 *
 * Invariants: the memtable leaves memory (`onInstalled`) in the same synchronous step as the
 * version holding its table becomes current, so a reader finds its entries in one place or the
 * other, never neither; a memtable of tombstones only installs no table, just the tombstones and
 * the LSN; on failure the memtable stays (a later flush retries) and whatever was published is an
 * orphan, deleted after the next durable manifest.
 *
 * `Flusher` is a tree's flush scheduling: flushes run one at a time on one chain, frozen
 * memtables oldest first, and a closing tree stops before its next memtable. A failed flush
 * makes it `faulted` for good (what it left on disk may not be durable), but the chain goes on:
 * a later flush retries.
 */
import type { Memtable } from './memtable.js'
import type { MemtableSet } from './memtable-set.js'
import type { ResolvedStateOptions } from './options.js'
import { TableOutput } from './table-output.js'
import type { VersionSet } from './version-set.js'

/** Flushes `m` into `output` (made with the memtable's LSN as tombstoneLsn) and installs it. Resolves to the bytes written. */
export async function flushMemtable(m: Memtable, output: TableOutput, versions: VersionSet, onInstalled: () => void): Promise<number> {
  try {
    for (const [, v] of m.entries()) {
      const w = output.add(v.key, v.seq, v.value)
      if (w !== undefined) await w
    }
    await output.finish()
  } catch (e) {
    await output.abort()
    versions.orphan(output.published)
    throw e
  }
  await versions.installOutputs(output.infos, output.published, 0, { removed: new Set(), tombstones: m.tombstones, durableLsn: m.lsn }, onInstalled)
  return output.bytes
}

export interface FlusherContext {
  options: ResolvedStateOptions
  versions: VersionSet
  mem: MemtableSet
  isClosed: () => boolean
}

export class Flusher {
  readonly #ctx: FlusherContext
  #chain: Promise<void> = Promise.resolve()
  /** True once a flush failed (sticky; see LsmTree.faulted). */
  faulted = false
  /** Bytes of tables written by flushes and bulk loads. */
  bytesWritten = 0
  count = 0

  constructor(ctx: FlusherContext) {
    this.#ctx = ctx
  }

  /** Flushes the frozen memtables reaching no further than `lsnMax`, after the flushes queued before. */
  run(lsnMax: number): Promise<void> {
    const run = this.#chain.then(() => this.#flushFrozen(lsnMax))
    this.#chain = run.catch(() => {
      this.faulted = true
    })
    return run
  }

  /** Resolves once every queued flush settled (never rejects). */
  idle(): Promise<void> {
    return this.#chain
  }

  async #flushFrozen(lsnMax: number): Promise<void> {
    const { mem, isClosed } = this.#ctx
    for (;;) {
      const oldest = mem.oldestFrozen
      if (oldest === undefined || oldest.lsn > lsnMax || isClosed()) return
      await this.#flushOne(oldest)
    }
  }

  async #flushOne(m: Memtable): Promise<void> {
    const output = this.output(Number.POSITIVE_INFINITY, m.lsn)
    this.bytesWritten += await flushMemtable(m, output, this.#ctx.versions, () => this.#ctx.mem.removeFlushed(m))
    this.count++
  }

  /** The table-writing loop (table-output.ts) with the tree's settings. */
  output(tableBytesTarget: number, tombstoneLsn: number): TableOutput {
    const { options, versions } = this.#ctx
    return new TableOutput({
      fs: options.fs,
      dir: options.dir,
      blockBytes: options.blockBytes,
      tableBytesTarget,
      sliceMs: options.compactionSliceMs,
      allocateTableId: () => versions.allocateTableId(),
      tombstoneLsn,
    })
  }
}
