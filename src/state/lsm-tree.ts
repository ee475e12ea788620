/**
 * The LSM tree holding one partition's state: a mutable memtable, frozen memtables being
 * flushed, and a current version of immutable table files (see version.ts), described durably
 * by the manifest. The partition's log is the write-ahead log: `apply` only touches memory, and
 * after a crash the owner replays the log from `durableLsn + 1`.
 *
 * Invariants:
 * - appliedLsn >= durableLsn; durableLsn only grows; all effects of LSNs <= durableLsn are in the
 *   tables and tombstones of the current version, which the on-disk manifest describes;
 * - a table file is referenced by a manifest only after it was fsynced, renamed into place and
 *   its directory fsynced; published files are never rewritten;
 * - a table file is deleted only when no version holds it (the current one, a read snapshot's,
 *   an in-flight scan's, or one retained by `retainVersion`), and, when it came from a failed
 *   attempt, only after a later manifest that does not list it was durably written;
 * - flushes run one at a time, compactions one at a time, and manifest installs are serialized;
 *   a flush and a compaction may overlap (the compaction edit is applied to the version current
 *   at install time, and flushes only ever add L0 tables).
 *
 * Scheduling: the tree never flushes on its own. The owner calls `flush()` when `needsFlush()`
 * (the partition does it in the background). After a flush, if `autoCompact` (default), a
 * compaction runs in the background when one is due; `compact()` runs them to completion.
 */
import { posix } from 'node:path'
import { assert } from '../io/assert.js'
import { atomicWriteFile } from '../io/atomic-write.js'
import { CairnError, CorruptionError } from '../io/errors.js'
import type { FileSystem } from '../io/file-system.js'
import { BlockCache } from './block-cache.js'
import {
  type CompactionJob,
  type CompactionOptions,
  fullCompaction,
  levelBytesMax,
  pickCompaction,
  rangeTombstoneCountTriggerDefault,
  runCompaction,
  type TombstoneReclaim,
} from './compaction.js'
import { validateStateOps } from './limits.js'
import { encodeManifest, type ManifestData, type ManifestTable, manifestFileName } from './manifest.js'
import { Memtable } from './memtable.js'
import { fragmentTombstones, insertTombstone, liveTombstones } from './range-tombstones.js'
import { ReadSnapshot } from './read-snapshot.js'
import { type ViewParts, viewGet, viewScan } from './read-view.js'
import { type TableInfo, tableFileName } from './table-format.js'
import { Table } from './table-reader.js'
import { TableWriter } from './table-writer.js'
import { compareBytes, copyBytes, resultCopy, type RangeTombstone, type ScanRange, type StateOp } from './types.js'
import { closeAll, openOwned, openReadOnly, sortLevels } from './tree-open.js'
import { levelCount, Version } from './version.js'

export const memtableBytesMaxDefault = 64 * 1024 * 1024
export const blockCacheBytesMaxDefault = 64 * 1024 * 1024
export const blockBytesDefault = 4 * 1024
export const tableBytesTargetDefault = 32 * 1024 * 1024
export const level0TableCountTriggerDefault = 4
export const level1BytesMaxDefault = 256 * 1024 * 1024
export const levelBytesMultiplierDefault = 10
export const compactionSliceMsDefault = 4

export interface StateOptions {
  fs: FileSystem
  /** Directory owned by this tree; created if missing. */
  dir: string
  /** Memtable size (approximate bytes) at which `needsFlush()` turns true. Default 64 MiB. */
  memtableBytesMax?: number
  /** Block cache capacity in bytes, when the tree makes its own cache (no `blockCache`). Default 64 MiB. */
  blockCacheBytesMax?: number
  /**
   * A block cache shared with other trees (the store's one cache for all partitions): the tree
   * uses it and does not own it (`blockCacheBytesMax` is then ignored). Absent: the tree makes
   * its own.
   */
  blockCache?: BlockCache
  /** Target data block size in bytes. Default 4 KiB. */
  blockBytes?: number
  /** Target size of a compaction output table in bytes. Default 32 MiB. */
  tableBytesTarget?: number
  /** L0 table count that triggers an L0 -> L1 compaction. Default 4. */
  level0TableCountTrigger?: number
  /** Size of level 1 in bytes before it is compacted down; level l holds this * multiplier^(l-1). Default 256 MiB. */
  level1BytesMax?: number
  /** Growth factor between levels. Default 10. */
  levelBytesMultiplier?: number
  /** Longest stretch a compaction or flush runs on the event loop before yielding, in ms. Default 4. */
  compactionSliceMs?: number
  /**
   * Flushed range tombstone fragments at which compaction reclaims them all (and the data they
   * cover), so lookups, the manifest and dead data stay bounded. Default 1024.
   */
  rangeTombstoneCountTrigger?: number
  /** Run due compactions in the background after each flush. Default true. */
  autoCompact?: boolean
  /**
   * Open the tree of a store another process owns and writes: read its manifest and tables,
   * write nothing. `apply` still works (into memory: the caller replays the log over the
   * tables); `flush`, `flushFrozen`, `compact` and `bulkLoad` fail with `READ_ONLY`, and
   * `needsFlush()` stays false. Default false.
   */
  readOnly?: boolean
}

export interface LevelStats {
  level: number
  tableCount: number
  bytes: number
  bytesMax: number
}

export interface StateStats {
  appliedLsn: number
  durableLsn: number
  tableCount: number
  tableBytes: number
  memtableBytes: number
  frozenMemtableBytes: number
  frozenMemtableCount: number
  /** Range tombstone fragments in the memtables and the version (overlapping deleteRanges are cut into non-overlapping pieces). */
  rangeTombstoneCount: number
  levels: LevelStats[]
  /** Key and value bytes passed to apply() (the logical write volume). */
  bytesApplied: number
  bytesWrittenFlush: number
  bytesWrittenCompaction: number
  /** (flush + compaction bytes) / applied bytes. */
  writeAmplification: number
  flushCount: number
  compactionCount: number
  /** Of the tree's block cache: when it is shared (`StateOptions.blockCache`), the figures are the whole cache's. */
  blockCacheBytes: number
  blockCacheHits: number
  blockCacheMisses: number
  /** Bytes of index and bloom filters in memory. */
  tableMemoryBytes: number
  /** Table files kept only because a snapshot, scan or retained version pins them. */
  pinnedObsoleteTableCount: number
}

/** The files of a retained version, kept on disk until `release()` (for checkpoints). */
export interface RetainedVersion {
  durableLsn: number
  /** Absolute (or dir-relative as given) paths of the table files. */
  files: string[]
  /** Manifest bytes describing exactly these files. */
  manifest: Uint8Array
  release(): void
}

interface VersionEdit {
  added: { level: number; table: Table }[]
  removed: Set<number>
  tombstones: RangeTombstone[]
  durableLsn: number
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

export class LsmTree {
  readonly #fs: FileSystem
  readonly #dir: string
  readonly #memtableBytesMax: number
  readonly #blockBytes: number
  readonly #compaction: CompactionOptions
  readonly #autoCompact: boolean
  readonly #readOnly: boolean
  readonly #cache: BlockCache
  #active: Memtable
  /** Frozen memtables, newest first. */
  #imms: Memtable[] = []
  /** Sum of the frozen memtables' bytes (they never change once frozen): `memtableBytes` is O(1). */
  #frozenBytes = 0
  #version: Version
  #appliedLsn: number
  #nextTableId: number
  #closed = false
  #flushChain: Promise<void> = Promise.resolve()
  #compactChain: Promise<void> = Promise.resolve()
  #installChain: Promise<void> = Promise.resolve()
  #compactionScheduled = false
  /** Paths from failed attempts: deleted after the next durable manifest write. */
  #orphans: string[] = []
  #pendingDeletes = new Set<Promise<void>>()
  #openTables = new Set<Table>()
  /** Every range tombstone of the current state, fragmented; built on demand. */
  #tombstonesCache: RangeTombstone[] | undefined
  /** A view may hold #tombstonesCache: the next deleteRange copies it instead of changing it. */
  #tombstonesShared = false
  #reclaim: TombstoneReclaim = { dueLsn: 0 }
  #pointers: (Uint8Array | undefined)[] = new Array(levelCount).fill(undefined)
  #bytesApplied = 0
  #bytesWrittenFlush = 0
  #bytesWrittenCompaction = 0
  #flushCount = 0
  #compactionCount = 0
  /** Readers holding a view: open scans, read snapshots, retained versions and gets reading a table. */
  #readers = 0
  /** Error of the last background compaction, if it failed (the next one retries). */
  backgroundError: unknown

  private constructor(options: StateOptions, cache: BlockCache, version: Version, nextTableId: number) {
    this.#fs = options.fs
    this.#dir = options.dir
    this.#memtableBytesMax = options.memtableBytesMax ?? memtableBytesMaxDefault
    this.#blockBytes = options.blockBytes ?? blockBytesDefault
    this.#compaction = {
      level0TableCountTrigger: options.level0TableCountTrigger ?? level0TableCountTriggerDefault,
      level1BytesMax: options.level1BytesMax ?? level1BytesMaxDefault,
      levelBytesMultiplier: options.levelBytesMultiplier ?? levelBytesMultiplierDefault,
      tableBytesTarget: options.tableBytesTarget ?? tableBytesTargetDefault,
      blockBytes: this.#blockBytes,
      compactionSliceMs: options.compactionSliceMs ?? compactionSliceMsDefault,
      rangeTombstoneCountTrigger: options.rangeTombstoneCountTrigger ?? rangeTombstoneCountTriggerDefault,
    }
    assert(this.#compaction.level0TableCountTrigger >= 1, 'level0TableCountTrigger >= 1')
    assert(this.#compaction.levelBytesMultiplier >= 2, 'levelBytesMultiplier >= 2')
    assert(this.#compaction.rangeTombstoneCountTrigger >= 1, 'rangeTombstoneCountTrigger >= 1')
    this.#readOnly = options.readOnly === true
    this.#autoCompact = (options.autoCompact ?? true) && !this.#readOnly
    this.#cache = cache
    this.#version = version.ref()
    this.#appliedLsn = version.durableLsn
    this.#active = new Memtable(undefined, [], 0, version.durableLsn)
    this.#nextTableId = nextTableId
    for (const t of version.tables()) this.#openTables.add(t)
  }

  /**
   * Opens (or creates) the tree in `options.dir`: makes the manifest and the directory durable,
   * reads and verifies the manifest, opens every table (verifying footer, index and bloom
   * filter), deletes orphan and temp files. With `readOnly`, only reads (see tree-open.ts):
   * `const view = await LsmTree.open({ fs, dir, readOnly: true })` beside a running owner.
   *
   * @example
   * const tree = await LsmTree.open({ fs: new NodeFileSystem(), dir: '/data/p/state' })
   * // replay the log from tree.durableLsn + 1 with tree.apply(lsn, ops)
   */
  static async open(options: StateOptions): Promise<LsmTree> {
    const { fs, dir } = options
    const cache = options.blockCache ?? new BlockCache(options.blockCacheBytesMax ?? blockCacheBytesMaxDefault)
    const state = options.readOnly === true ? await openReadOnly(fs, dir, cache) : await openOwned(fs, dir, cache)
    const { data, levels, opened, nextTableId, manifestPath } = state
    // The tree wires the release callback; a version is built before the tree exists, so route through a holder.
    const holder: { tree?: LsmTree } = {}
    let version: Version
    try {
      version = new Version(levels, data.tombstones, data.durableLsn, nextTableId, (t) => holder.tree!.#release(t))
    } catch (e) {
      await closeAll(opened)
      throw new CorruptionError('CORRUPT_MANIFEST', `state manifest ${manifestPath} describes overlapping tables`, {
        context: { file: manifestPath },
        cause: e,
      })
    }
    const tree = new LsmTree(options, cache, version, nextTableId)
    holder.tree = tree
    return tree
  }

  /** Highest LSN whose effects are all in table files (0 when none): replay the log from here + 1. */
  get durableLsn(): number {
    return this.#version.durableLsn
  }

  /** Highest LSN applied. */
  get appliedLsn(): number {
    return this.#appliedLsn
  }

  #checkOpen(): void {
    if (this.#closed) throw new CairnError('CLOSED', 'this state tree is closed')
  }

  /** For what writes files: refused on a read-only tree. */
  #checkWritable(what: string): void {
    this.#checkOpen()
    if (this.#readOnly) {
      throw new CairnError('READ_ONLY', `${what} writes files, and this state tree was opened read-only (another process owns the store): do it in the owner`, {
        context: { dir: this.#dir },
      })
    }
  }

  /** True when opened with `readOnly`. */
  get readOnly(): boolean {
    return this.#readOnly
  }

  /** For scans, which must stop once the tree (and so their files) closed. One closure for all. */
  readonly #isOpen = (): boolean => !this.#closed

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
    const m = this.#active
    for (const op of ops) {
      switch (op.type) {
        case 'put':
          m.set(owned ? op.key : copyBytes(op.key), lsn, owned ? op.value : copyBytes(op.value))
          this.#bytesApplied += op.key.length + op.value.length
          break
        case 'delete':
          m.set(owned ? op.key : copyBytes(op.key), lsn, undefined)
          this.#bytesApplied += op.key.length
          break
        case 'deleteRange':
          if (compareBytes(op.start, op.end) < 0) {
            const start = owned ? op.start : copyBytes(op.start)
            const end = owned ? op.end : copyBytes(op.end)
            m.deleteRange(start, end, lsn)
            this.#addTombstone({ start, end, seq: lsn })
          }
          this.#bytesApplied += op.start.length + op.end.length
          break
      }
    }
    m.noteLsn(lsn)
    this.#appliedLsn = lsn
  }

  /** Every range tombstone of the current state (memtables and version), fragmented. */
  #tombstones(): RangeTombstone[] {
    if (this.#tombstonesCache === undefined) {
      const all: RangeTombstone[] = [...this.#active.tombstones]
      for (const m of this.#imms) all.push(...m.tombstones)
      all.push(...this.#version.tombstones)
      this.#tombstonesCache = fragmentTombstones(all)
      this.#tombstonesShared = false
    }
    return this.#tombstonesCache
  }

  /** Adds a new deleteRange to the cached set in O(log n) (it has the highest seq yet). */
  #addTombstone(t: RangeTombstone): void {
    if (this.#tombstonesCache === undefined) return
    if (this.#tombstonesShared) {
      this.#tombstonesCache = this.#tombstonesCache.slice()
      this.#tombstonesShared = false
    }
    insertTombstone(this.#tombstonesCache, t)
  }

  /**
   * The value of `key`, or undefined. Reads the state as of the call.
   *
   * @example
   * const v = await tree.get(Buffer.from('user/1'))
   */
  get(key: Uint8Array): Promise<Uint8Array | undefined> {
    if (this.#closed) return Promise.reject(new CairnError('CLOSED', 'this state tree is closed'))
    const hit = this.#active.get(key)
    if (hit !== undefined) return Promise.resolve(hit.value === undefined ? undefined : resultCopy(hit.value))
    const version = this.#version
    // viewGet reads the memtables synchronously only, so the live list needs no copy.
    const result = viewGet({ memtables: this.#imms, version, tombstones: this.#tombstones() }, key)
    if (!(result instanceof Promise)) return Promise.resolve(result)
    // It reads a block: pin the version (and keep its tombstone set unchanged) until it is done.
    this.#tombstonesShared = true
    version.ref()
    this.#readers++
    return result.finally(() => {
      version.unref()
      this.#readers--
    })
  }

  #view(): ViewParts {
    const memtables = this.#active.size > 0 ? [this.#active.snapshot(), ...this.#imms] : [...this.#imms]
    const tombstones = this.#tombstones()
    this.#tombstonesShared = true
    return { memtables, version: this.#version.ref(), tombstones }
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
    return viewScan(
      view,
      range,
      () => {
        view.version.unref()
        this.#readers--
      },
      this.#isOpen,
    )
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
        await this.#settleDeletes()
      },
      () => !this.#closed,
    )
  }

  /**
   * Scans, read snapshots and retained versions not yet finished or released, and gets reading
   * a table: while any is open, closing the tree would fail them (the owner waits for 0).
   */
  get readerCount(): number {
    return this.#readers
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
    return this.#active.bytes + this.#frozenBytes
  }

  /** True when the memtable is over `memtableBytesMax`: the owner should call `flush()`. */
  needsFlush(): boolean {
    return !this.#readOnly && this.#active.bytes >= this.#memtableBytesMax
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
    const newestFrozen = this.#imms[0]?.lsn ?? this.#version.durableLsn
    if (!this.#active.isEmpty || this.#active.lsn > newestFrozen) {
      this.#imms.unshift(this.#active)
      this.#frozenBytes += this.#active.bytes
      this.#active = new Memtable(undefined, [], 0, this.#appliedLsn)
      this.#tombstonesCache = undefined
    }
    return this.#imms[0]?.lsn ?? this.#version.durableLsn
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
    const run = this.#flushChain.then(() => this.#flushFrozen(lsnMax))
    this.#flushChain = run.catch(() => undefined)
    await run
    if (this.#autoCompact) this.#scheduleCompaction()
  }

  async #flushFrozen(lsnMax: number): Promise<void> {
    for (;;) {
      const oldest = this.#imms[this.#imms.length - 1]
      if (oldest === undefined || oldest.lsn > lsnMax || this.#closed) return
      await this.#flushOne(oldest)
    }
  }

  async #flushOne(m: Memtable): Promise<void> {
    let table: Table | undefined
    let writer: TableWriter | undefined
    let published: string | undefined
    try {
      if (m.size > 0) {
        writer = await TableWriter.create(this.#fs, this.#dir, this.#nextTableId++, this.#blockBytes)
        let sliceStart = performance.now()
        let counter = 0
        for (const [, v] of m.entries()) {
          const w = writer.add(v.key, v.seq, v.value)
          if (w !== undefined) await w
          if ((++counter & 255) === 0 && performance.now() - sliceStart > this.#compaction.compactionSliceMs) {
            await yieldToEventLoop()
            sliceStart = performance.now()
          }
        }
        const info = await writer.finish(m.lsn)
        published = writer.path
        writer = undefined
        await this.#fs.syncDir(this.#dir)
        table = await this.#openTable(info)
        this.#bytesWrittenFlush += info.bytes
      }
      await this.#install(
        { added: table === undefined ? [] : [{ level: 0, table }], removed: new Set(), tombstones: m.tombstones, durableLsn: m.lsn },
        () => {
          const i = this.#imms.indexOf(m)
          assert(i === this.#imms.length - 1, 'the oldest frozen memtable is flushed first')
          this.#imms.splice(i, 1)
          this.#frozenBytes -= m.bytes
        },
      )
      this.#flushCount++
    } catch (e) {
      await writer?.abort()
      if (table !== undefined) await this.#discard(table)
      else if (published !== undefined) this.#orphans.push(published)
      throw e
    }
  }

  async #openTable(info: TableInfo): Promise<Table> {
    const table = await Table.open(this.#fs, posix.join(this.#dir, tableFileName(info.id)), info, this.#cache)
    this.#openTables.add(table)
    return table
  }

  /** A table written by a failed attempt: closed now, its file deleted after the next durable manifest. */
  async #discard(table: Table): Promise<void> {
    assert(table.refs === 0, 'a discarded table is in no version')
    this.#openTables.delete(table)
    await table.close().catch(() => undefined)
    this.#orphans.push(table.path)
  }

  /**
   * Installs a version edit: writes the manifest of the resulting version durably, then swaps
   * it in (with `onInstalled` run in the same synchronous step). Serialized.
   */
  #install(edit: VersionEdit, onInstalled?: () => void): Promise<void> {
    const run = this.#installChain.then(async () => {
      this.#checkOpen()
      const base = this.#version
      const levels: Table[][] = base.levels.map((tables) => tables.filter((t) => !edit.removed.has(t.id)))
      for (const { level, table } of edit.added) levels[level]!.push(table)
      sortLevels(levels)
      const merged = edit.tombstones.length === 0 ? base.tombstones : fragmentTombstones([...base.tombstones, ...edit.tombstones])
      const tombstones = liveTombstones(merged, levels)
      const durableLsn = Math.max(base.durableLsn, edit.durableLsn)
      const orphans = this.#orphans
      this.#orphans = []
      try {
        await atomicWriteFile(this.#fs, posix.join(this.#dir, manifestFileName), encodeManifest(manifestOf(levels, tombstones, durableLsn, this.#nextTableId)))
      } catch (e) {
        this.#orphans.push(...orphans)
        throw e
      }
      const next = new Version(levels, tombstones, durableLsn, this.#nextTableId, (t) => this.#release(t)).ref()
      this.#version = next
      // The read set changes only when tombstones come in or go: most compactions keep it.
      if (edit.tombstones.length > 0 || tombstones.length !== base.tombstones.length) this.#tombstonesCache = undefined
      onInstalled?.()
      base.unref()
      for (const path of orphans) this.#track(this.#fs.unlink(path).catch(() => undefined))
    })
    this.#installChain = run.catch(() => undefined)
    return run
  }

  /** A table no version holds any more: close it and delete its file. */
  #release(table: Table): void {
    this.#openTables.delete(table)
    const closing = table.close().catch(() => undefined)
    // A read-only tree's files belong to their owner, who deletes them.
    if (this.#closed || this.#readOnly) return
    this.#track(closing.then(() => this.#fs.unlink(table.path)).catch(() => undefined))
  }

  #track(p: Promise<void>): void {
    this.#pendingDeletes.add(p)
    void p.finally(() => this.#pendingDeletes.delete(p))
  }

  async #settleDeletes(): Promise<void> {
    while (this.#pendingDeletes.size > 0) await Promise.all([...this.#pendingDeletes])
  }

  #scheduleCompaction(): void {
    if (this.#compactionScheduled || this.#closed) return
    if (pickCompaction(this.#version, this.#compaction, this.#pointers, this.#reclaim) === undefined) return
    this.#compactionScheduled = true
    const run = this.#compactChain.then(async () => {
      this.#compactionScheduled = false
      if (!this.#closed) await this.#compactUntilDone(false)
    })
    this.#compactChain = run.then(
      () => {
        this.backgroundError = undefined
      },
      (e) => {
        this.backgroundError = e
      },
    )
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
    const run = this.#compactChain.then(() => this.#compactUntilDone(options.full === true))
    this.#compactChain = run.catch(() => undefined)
    await run
  }

  async #compactUntilDone(full: boolean): Promise<void> {
    if (full) {
      const job = fullCompaction(this.#version)
      if (job !== undefined) await this.#runJob(job)
    }
    for (;;) {
      if (this.#closed) return
      const job = pickCompaction(this.#version, this.#compaction, this.#pointers, this.#reclaim)
      if (job === undefined) return
      await this.#runJob(job)
    }
  }

  async #runJob(job: CompactionJob): Promise<void> {
    const base = this.#version.ref()
    try {
      if (job.level >= 1) this.#pointers[job.level] = job.inputs[0]!.info.largest
      if (job.move) {
        const table = job.inputs[0]!
        // Reuses the open table in a new level: the same file, so nothing to write but the manifest.
        await this.#install({ added: [{ level: job.outputLevel, table }], removed: new Set([table.id]), tombstones: [], durableLsn: 0 })
        this.#compactionCount++
        return
      }
      if (job.drop) {
        // Every entry is hidden by a newer tombstone, which stays until nothing older is left.
        await this.#install({ added: [], removed: new Set(job.inputs.map((t) => t.id)), tombstones: [], durableLsn: 0 })
        this.#compactionCount++
        return
      }
      const published: string[] = []
      let infos: TableInfo[]
      try {
        infos = await runCompaction(job, {
          fs: this.#fs,
          dir: this.#dir,
          options: this.#compaction,
          allocateTableId: () => this.#nextTableId++,
          tombstones: base.tombstones,
          tombstoneLsn: base.durableLsn,
          onWritten: (bytes) => {
            this.#bytesWrittenCompaction += bytes
          },
          onPublished: (path) => published.push(path),
          cancelled: () => this.#closed,
        })
      } catch (e) {
        this.#orphans.push(...published)
        throw e
      }
      const outputs: Table[] = []
      try {
        for (const info of infos) outputs.push(await this.#openTable(info))
        await this.#install({
          added: outputs.map((table) => ({ level: job.outputLevel, table })),
          removed: new Set(job.inputs.map((t) => t.id)),
          tombstones: [],
          durableLsn: 0,
        })
      } catch (e) {
        for (const t of outputs) await this.#discard(t)
        const openedPaths = new Set(outputs.map((t) => t.path))
        this.#orphans.push(...published.filter((p) => !openedPaths.has(p)))
        throw e
      }
      this.#compactionCount++
    } finally {
      base.unref()
    }
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
    if (this.#version.tableCount > 0 || !this.#active.isEmpty || this.#imms.length > 0 || this.#appliedLsn > 0) {
      throw new CairnError('INVALID_ARGUMENT', 'bulkLoad needs an empty state tree')
    }
    const bottom = levelCount - 1
    const infos: TableInfo[] = []
    const published: string[] = []
    let writer: TableWriter | undefined
    let last: Uint8Array | undefined
    try {
      for await (const [key, value] of entries) {
        if (last !== undefined && compareBytes(last, key) >= 0) {
          throw new CairnError('INVALID_ARGUMENT', 'bulkLoad entries must be in strictly increasing key order')
        }
        validateStateOps([{ type: 'put', key, value }])
        last = copyBytes(key)
        if (writer === undefined) writer = await TableWriter.create(this.#fs, this.#dir, this.#nextTableId++, this.#blockBytes)
        const w = writer.add(key, lsn, value)
        if (w !== undefined) await w
        if (writer.estimatedBytes >= this.#compaction.tableBytesTarget) {
          infos.push(await writer.finish(lsn))
          published.push(writer.path)
          writer = undefined
        }
      }
      if (writer !== undefined) {
        infos.push(await writer.finish(lsn))
        published.push(writer.path)
        writer = undefined
      }
      if (infos.length > 0) await this.#fs.syncDir(this.#dir)
    } catch (e) {
      await writer?.abort()
      this.#orphans.push(...published)
      throw e
    }
    const tables: Table[] = []
    try {
      for (const info of infos) {
        tables.push(await this.#openTable(info))
        this.#bytesWrittenFlush += info.bytes
      }
      await this.#install({ added: tables.map((table) => ({ level: bottom, table })), removed: new Set(), tombstones: [], durableLsn: lsn })
    } catch (e) {
      for (const t of tables) await this.#discard(t)
      throw e
    }
    this.#appliedLsn = Math.max(this.#appliedLsn, lsn)
    this.#active = new Memtable(undefined, [], 0, this.#appliedLsn)
  }

  /**
   * Pins the current version's files until `release()` (for checkpoints and backups), with a
   * manifest describing exactly them.
   *
   * @example
   * const v = tree.retainVersion(); try { for (const f of v.files) await fs.link(f, dest(f)) } finally { v.release() }
   */
  retainVersion(): RetainedVersion {
    this.#checkOpen()
    const version = this.#version.ref()
    this.#readers++
    let released = false
    const levels = version.levels.map((l) => [...l])
    return {
      durableLsn: version.durableLsn,
      files: [...version.tables()].map((t) => t.path),
      manifest: encodeManifest(manifestOf(levels, [...version.tombstones], version.durableLsn, version.nextTableId)),
      release: () => {
        if (released) return
        released = true
        version.unref()
        this.#readers--
      },
    }
  }

  /**
   * Counters to report write and space amplification.
   *
   * @example
   * const s = tree.stats(); console.log(s.tableBytes, s.writeAmplification)
   */
  stats(): StateStats {
    const v = this.#version
    let tableBytes = 0
    let tableMemoryBytes = 0
    const levels: LevelStats[] = []
    for (let l = 0; l < levelCount; l++) {
      const bytes = v.levelBytes(l)
      tableBytes += bytes
      for (const t of v.levels[l]!) tableMemoryBytes += t.memoryBytes
      levels.push({
        level: l,
        tableCount: v.levels[l]!.length,
        bytes,
        bytesMax: l === 0 ? 0 : levelBytesMax(this.#compaction, l),
      })
    }
    const written = this.#bytesWrittenFlush + this.#bytesWrittenCompaction
    return {
      appliedLsn: this.#appliedLsn,
      durableLsn: v.durableLsn,
      tableCount: v.tableCount,
      tableBytes,
      memtableBytes: this.#active.bytes,
      frozenMemtableBytes: this.#frozenBytes,
      frozenMemtableCount: this.#imms.length,
      rangeTombstoneCount: this.#tombstones().length,
      levels,
      bytesApplied: this.#bytesApplied,
      bytesWrittenFlush: this.#bytesWrittenFlush,
      bytesWrittenCompaction: this.#bytesWrittenCompaction,
      writeAmplification: this.#bytesApplied === 0 ? 0 : written / this.#bytesApplied,
      flushCount: this.#flushCount,
      compactionCount: this.#compactionCount,
      blockCacheBytes: this.#cache.bytes,
      blockCacheHits: this.#cache.hits,
      blockCacheMisses: this.#cache.misses,
      tableMemoryBytes,
      pinnedObsoleteTableCount: this.#openTables.size - v.tableCount,
    }
  }

  /** Resolves when background work (compaction, file deletions) has settled. For tests and shutdown. */
  async idle(): Promise<void> {
    await this.#flushChain
    await this.#compactChain
    await this.#installChain
    await this.#settleDeletes()
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
    await this.#flushChain
    await this.#compactChain
    await this.#installChain
    await this.#settleDeletes()
    for (const t of this.#openTables) await t.close().catch(() => undefined)
    this.#openTables.clear()
  }
}

function manifestOf(levels: readonly (readonly Table[])[], tombstones: RangeTombstone[], durableLsn: number, nextTableId: number): ManifestData {
  const tables: ManifestTable[] = []
  levels.forEach((tablesOfLevel, level) => {
    for (const t of tablesOfLevel) tables.push({ level, ...t.info })
  })
  return { durableLsn, nextTableId, tables, tombstones }
}
