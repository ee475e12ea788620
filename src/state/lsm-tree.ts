/**
 * The LSM tree holding one partition's state: a mutable memtable, frozen memtables being
 * flushed, and a current version of immutable table files (version-set.ts), described durably
 * by the manifest. The partition's log is the write-ahead log: `apply` only touches memory, and
 * after a crash the owner replays the log from `durableLsn + 1`. This file is the facade: the
 * write path, reads and reader counting; the memtables are in memtable-set.ts, recovery in
 * tree-open.ts (made into a version set by `openVersionSet`), versions and file lifetimes in
 * version-set.ts, flush scheduling in flush.ts (`Flusher`), the one table-writing loop in
 * table-output.ts (used by flush.ts, compactor.ts and bulk-load.ts), options and their bounds
 * in options.ts, counters in stats.ts.
 *
 * Invariants:
 * - appliedLsn >= durableLsn; `apply(lsn)` requires lsn > appliedLsn (asserted): LSNs applied
 *   only grow; durableLsn only grows; all effects of LSNs <= durableLsn are in the tables and
 *   tombstones of the current version, which the on-disk manifest describes;
 * - frozen memtables are flushed oldest first, one flush at a time; a flush and a compaction
 *   may overlap (see compactor.ts);
 * - a read-only tree (another process owns the directory) writes nothing: flush, compaction and
 *   bulk load are refused, `apply` fills memory only.
 *
 * Scheduling: the tree never flushes on its own. The owner calls `flush()` when `needsFlush()`
 * (the partition does it in the background). After a flush, if `autoCompact` (default), a
 * compaction runs in the background when one is due; `compact()` runs them to completion.
 */
import { assert } from '../io/assert.js'
import { CairnError } from '../io/errors.js'
import { bulkLoadTables } from './bulk-load.js'
import { Flusher } from './flush.js'
import type { CompactionOptions } from './compaction.js'
import { Compactor } from './compactor.js'
import { validateStateOps } from './limits.js'
import { MemtableSet } from './memtable-set.js'
import { compactionOptionsOf, type ResolvedStateOptions, resolveStateOptions, type StateOptions } from './options.js'
import { ReadSnapshot } from './read-snapshot.js'
import { type ViewParts, viewGet, viewScan } from './read-view.js'
import { type StateStats, stateStats } from './stats.js'
import { BlockCache } from './table/index.js'
import { resultCopy, type ScanRange, type StateOp } from './types.js'
import { openVersionSet, type RetainedVersion, type VersionSet } from './version-set.js'

export class LsmTree {
  readonly #options: ResolvedStateOptions
  readonly #compaction: CompactionOptions
  readonly #cache: BlockCache
  readonly #versions: VersionSet
  readonly #compactor: Compactor
  readonly #mem: MemtableSet
  #appliedLsn: number
  #closed = false
  readonly #flusher: Flusher
  /** Readers holding a view: open scans, read snapshots, retained versions and gets reading a table. */
  #readers = 0

  private constructor(options: ResolvedStateOptions, cache: BlockCache, versions: VersionSet) {
    this.#options = options
    this.#compaction = compactionOptionsOf(options)
    this.#cache = cache
    this.#versions = versions
    this.#compactor = new Compactor({ fs: options.fs, dir: options.dir, options: this.#compaction, versions, isClosed: this.#isClosed })
    this.#appliedLsn = versions.current.durableLsn
    this.#mem = new MemtableSet(this.#appliedLsn)
    this.#flusher = new Flusher({ options, versions, mem: this.#mem, isClosed: this.#isClosed })
  }

  /**
   * Opens (or creates) the tree in `options.dir`: makes the manifest and the directory durable,
   * reads and verifies the manifest, opens every table (verifying footer, index and bloom
   * filter), deletes orphan and temp files. With `readOnly`, only reads (see tree-open.ts).
   * Options out of bounds are `INVALID_CONFIG` (see options.ts).
   *
   * @example
   * const tree = await LsmTree.open({ fs: new NodeFileSystem(), dir: '/data/p/state' })
   * // replay the log from tree.durableLsn + 1 with tree.apply(lsn, ops)
   * const view = await LsmTree.open({ fs, dir: '/data/p/state', readOnly: true }) // beside a running owner
   */
  static async open(options: StateOptions): Promise<LsmTree> {
    const resolved = resolveStateOptions(options)
    const cache = resolved.blockCache ?? new BlockCache(resolved.blockCacheBytesMax)
    // The version set calls back into the tree, which does not exist yet: route through a holder.
    const holder: { tree?: LsmTree } = {}
    const versions = await openVersionSet(resolved, cache, () => {
      if (holder.tree !== undefined) holder.tree.#mem.invalidateTombstones()
    })
    const tree = new LsmTree(resolved, cache, versions)
    holder.tree = tree
    return tree
  }

  /** Highest LSN whose effects are all in table files (0 when none): replay the log from here + 1. */
  get durableLsn(): number {
    return this.#versions.current.durableLsn
  }

  /** Highest LSN applied. */
  get appliedLsn(): number {
    return this.#appliedLsn
  }

  /** True when opened with `readOnly`. */
  get readOnly(): boolean {
    return this.#options.readOnly
  }

  /**
   * True once a flush or compaction of this tree failed (sticky): what it left on disk may not be
   * durable, so its owner must not reopen it with `trustedClean`.
   */
  get faulted(): boolean {
    return this.#flusher.faulted || this.#compactor.faulted
  }

  /** Error of the last background compaction, if it failed (the next one retries). */
  get backgroundError(): unknown {
    return this.#compactor.backgroundError
  }

  #checkOpen(): void {
    if (this.#closed) throw new CairnError('CLOSED', 'this state tree is closed')
  }

  /** For what writes files: refused on a read-only tree. */
  #checkWritable(what: string): void {
    this.#checkOpen()
    if (this.#options.readOnly) {
      throw new CairnError('READ_ONLY', `${what} writes files, and this state tree was opened read-only (another process owns the store): do it in the owner`, {
        context: { dir: this.#options.dir },
      })
    }
  }

  /** For scans and background work, which must stop once the tree (and so their files) closed. One closure for all. */
  readonly #isOpen = (): boolean => !this.#closed
  readonly #isClosed = (): boolean => this.#closed

  /**
   * Applies the ops of record `lsn` atomically (all or none: ops are validated first), in
   * memory. `lsn` must be above `appliedLsn`; LSNs without state ops may be skipped. Keys and
   * values are copied, so the caller may reuse its buffers.
   *
   * @example
   * tree.apply(7, [{ type: 'put', key: k, value: v }, { type: 'deleteRange', start: a, end: b }])
   *
   * `validated`: the caller already ran `validateStateOps` on exactly these ops (the partition
   * does, before logging them), so they are not checked twice on the write path. `owned`: the
   * ops' bytes are the caller's own copies that nobody will change (the partition copies them
   * when a write is made), so the tree takes them as they are instead of copying again.
   */
  apply(lsn: number, ops: readonly StateOp[], validated = false, owned = false): void {
    this.#checkOpen()
    assert(Number.isSafeInteger(lsn) && lsn > this.#appliedLsn, `apply lsn ${lsn} must be above applied lsn ${this.#appliedLsn}`)
    if (!validated) validateStateOps(ops)
    this.#mem.apply(lsn, ops, owned)
    this.#appliedLsn = lsn
  }

  /**
   * The value of `key`, or undefined. Reads the state as of the call.
   *
   * @example
   * const v = await tree.get(Buffer.from('user/1'))
   */
  get(key: Uint8Array): Promise<Uint8Array | undefined> {
    if (this.#closed) return Promise.reject(new CairnError('CLOSED', 'this state tree is closed'))
    const mem = this.#mem
    const hit = mem.active.get(key)
    if (hit !== undefined) return Promise.resolve(hit.value === undefined ? undefined : resultCopy(hit.value))
    const version = this.#versions.current
    // viewGet reads the memtables synchronously only, so the live list needs no copy.
    const result = viewGet({ memtables: mem.frozen, version, tombstones: mem.tombstones(version.tombstones) }, key)
    if (!(result instanceof Promise)) return Promise.resolve(result)
    // It reads a block: pin the version (and keep its tombstone set unchanged) until it is done.
    mem.shareTombstones()
    version.ref()
    this.#readers++
    return result.finally(() => {
      version.unref()
      this.#readers--
    })
  }

  #view(): ViewParts {
    const version = this.#versions.current.ref()
    return { ...this.#mem.view(version.tombstones), version }
  }

  /**
   * Entries in key order (or reverse) within the range, as of the call. Pins the files it reads
   * until the iteration ends (finish it, or `break` out of `for await`); an iterator dropped
   * before that is released once garbage collected (a safety net, not a way to manage it).
   *
   * @example
   * for await (const [k, v] of tree.scan({ gte: Buffer.from('a'), lt: Buffer.from('b'), limit: 10 })) console.log(k, v)
   */
  scan(range: ScanRange = {}): AsyncIterableIterator<[Uint8Array, Uint8Array]> {
    this.#checkOpen()
    const view = this.#view()
    this.#readers++
    const done = (): void => {
      view.version.unref()
      this.#readers--
    }
    return viewScan(view, range, done, this.#isOpen)
  }

  /**
   * A consistent view at the current applied LSN that stays the same while writes, flushes and
   * compactions go on. Pins its files until `close()`.
   *
   * @example
   * const snap = tree.readSnapshot()
   * try { for await (const e of snap.scan()) write(e) } finally { await snap.close() }
   */
  readSnapshot(): ReadSnapshot {
    this.#checkOpen()
    const view = this.#view()
    this.#readers++
    return new ReadSnapshot(
      this.#appliedLsn,
      view,
      async () => {
        view.version.unref()
        this.#readers--
        await this.#versions.settleDeletes()
      },
      () => !this.#closed,
    )
  }

  /** Approximate bytes of the current and frozen memtables (not yet in tables); cheap, for backpressure. */
  get unflushedBytes(): number {
    return this.memtableBytes
  }

  /**
   * Approximate bytes of the mutable and frozen memtables, in O(1): what a store-wide memory
   * budget sums over its trees (flushing the largest when the sum passes the budget).
   *
   * @example
   * if (trees.reduce((n, t) => n + t.memtableBytes, 0) > budget) await largest(trees).flush()
   */
  get memtableBytes(): number {
    return this.#mem.bytes
  }

  /** True when the memtable is over `memtableBytesMax`: the owner should call `flush()`. */
  needsFlush(): boolean {
    return !this.#options.readOnly && this.#mem.active.bytes >= this.#options.memtableBytesMax
  }

  /**
   * Writes every memtable (including the current one, which is frozen at once so writes go on)
   * to table files and records them with the new durable LSN in the manifest. On failure the
   * memtables stay in memory and readable; a later flush retries. `freeze()` then
   * `flushFrozen()` is the same in two steps.
   *
   * @example
   * if (tree.needsFlush()) await tree.flush()
   */
  async flush(): Promise<void> {
    this.#checkWritable('flush')
    await this.flushFrozen(this.freeze())
  }

  /**
   * Freezes the current memtable (writes go on into a new one); returns the LSN the frozen
   * memtables reach. An owner whose log must be durable before state is (the partition under
   * 'none' durability) syncs its log up to that LSN, then calls `flushFrozen` with it: writes
   * applied meanwhile stay in the new memtable, out of that flush.
   *
   * @example
   * const lsn = tree.freeze(); await log.sync(); await tree.flushFrozen(lsn)
   */
  freeze(): number {
    this.#checkOpen()
    return this.#mem.freeze(this.#appliedLsn, this.#versions.current.durableLsn)
  }

  /**
   * Writes the frozen memtables that reach no further than `lsnMax` (oldest first) to table
   * files, as `flush` does; memtables frozen later wait for a later call.
   *
   * @example
   * await tree.flushFrozen(tree.freeze())
   */
  async flushFrozen(lsnMax: number = Number.POSITIVE_INFINITY): Promise<void> {
    this.#checkWritable('flush')
    await this.#flusher.run(lsnMax)
    if (this.#options.autoCompact && !this.#options.readOnly) this.#compactor.schedule()
  }

  /**
   * Runs compactions until none is due. With `full`, first merges every table into one sorted
   * run at the deepest level (dropping all shadowed versions and tombstones).
   *
   * @example
   * await tree.compact()              // what is due
   * await tree.compact({ full: true }) // everything
   */
  async compact(options: { full?: boolean } = {}): Promise<void> {
    this.#checkWritable('compact')
    await this.#compactor.compact(options.full === true)
  }

  /**
   * Restores the tree from a sorted stream (a snapshot): the tree must be empty. Writes tables
   * straight into the bottom level and makes `lsn` both applied and durable.
   *
   * @example
   * await tree.bulkLoad(readSnapshotEntries(), snapshot.lsn)
   */
  async bulkLoad(entries: AsyncIterable<[Uint8Array, Uint8Array]> | Iterable<[Uint8Array, Uint8Array]>, lsn: number): Promise<void> {
    this.#checkWritable('bulkLoad')
    assert(Number.isSafeInteger(lsn) && lsn >= 0, 'bulkLoad lsn is a safe integer')
    if (this.#versions.current.tableCount > 0 || !this.#mem.isEmpty || this.#appliedLsn > 0) {
      throw new CairnError('INVALID_ARGUMENT', 'bulkLoad needs an empty state tree')
    }
    this.#flusher.bytesWritten += await bulkLoadTables(entries, lsn, this.#flusher.output(this.#options.tableBytesTarget, lsn), this.#versions)
    this.#appliedLsn = Math.max(this.#appliedLsn, lsn)
    this.#mem.reset(this.#appliedLsn)
  }

  /**
   * Pins the current version's files until `release()` (for checkpoints and backups): the table
   * files with their sizes and the manifest describing exactly them, durable up to `durableLsn`.
   * The files stay on disk, even when compactions replace them, until released.
   *
   * @example
   * const v = tree.retainVersion(); try { for (const t of v.tables) await copy(t.path, dest(t.name)) } finally { v.release() }
   */
  retainVersion(): RetainedVersion {
    this.#checkOpen()
    const retained = this.#versions.retain()
    this.#readers++
    let released = false
    const release = (): void => {
      if (released) return
      released = true
      this.#readers--
      retained.release()
    }
    return { ...retained, release }
  }

  /**
   * Scans, read snapshots and retained versions not yet finished or released, and gets reading
   * a table: while any is open, closing the tree would fail them (an owner that closes idle
   * trees waits for 0).
   */
  get readerCount(): number {
    return this.#readers
  }

  /**
   * Counters to report write and space amplification.
   *
   * @example
   * const s = tree.stats(); console.log(s.tableBytes, s.writeAmplification)
   */
  stats(): StateStats {
    return stateStats({
      version: this.#versions.current,
      compaction: this.#compaction,
      cache: this.#cache,
      counters: {
        bytesApplied: this.#mem.bytesApplied,
        bytesWrittenFlush: this.#flusher.bytesWritten,
        bytesWrittenCompaction: this.#compactor.bytesWritten,
        flushCount: this.#flusher.count,
        compactionCount: this.#compactor.count,
      },
      appliedLsn: this.#appliedLsn,
      memtableBytes: this.#mem.active.bytes,
      frozenMemtableBytes: this.#mem.frozenBytes,
      frozenMemtableCount: this.#mem.frozen.length,
      rangeTombstoneCount: this.#mem.tombstones(this.#versions.current.tombstones).length,
      pinnedObsoleteTableCount: this.#versions.pinnedObsoleteTableCount,
    })
  }

  /** Resolves when background work (flushes, compactions, file deletions) has settled. For tests and shutdown. */
  async idle(): Promise<void> {
    await this.#flusher.idle()
    await this.#compactor.idle()
    await this.#versions.idle()
  }

  /**
   * Closes the tree without flushing (the log is the WAL): waits for running flushes and
   * compactions, then releases every file. Further calls fail with `CLOSED`.
   *
   * @example
   * await tree.close()
   */
  async close(): Promise<void> {
    if (this.#closed) return
    // Let running work finish first (it stops early once closed is set below).
    this.#closed = true
    this.#versions.markClosed()
    await this.#flusher.idle()
    await this.#compactor.idle()
    await this.#versions.close()
  }
}
