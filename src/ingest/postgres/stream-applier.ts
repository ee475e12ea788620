/**
 * Applies the replication stream to the partition, whole source transactions at a time, and
 * merges copied chunks in at their high watermark (DBLog).
 *
 * Invariants:
 * - one partition write holds whole source transactions (several, when they queue up), or part
 *   of one transaction too large for a write; only a write that ends on a commit carries `src`
 *   (the end LSN of its last commit), so a published position never splits a transaction;
 * - the progress a write makes (source LSN, chunk progress) is the payload of that same write:
 *   rows and the progress they stand for are durable together or not at all;
 * - Postgres is told only the `src` of a durable write (`confirm` after `write` resolved);
 * - a chunk row is written at its window's high watermark, and only if no change of the stream
 *   inside the window touched its key (nor a truncate of its table): the stream always wins;
 * - a transaction whose commit is at or below the durable source LSN was applied already and is
 *   skipped (Postgres may resend from its confirmed position);
 * - a transaction the stream applied before a window opened but that the chunk's snapshot did
 *   not see (its commit record precedes the low watermark, yet it left Postgres' process array
 *   after the snapshot was taken) counts as inside the window: its keys are dropped from the
 *   chunk too, or, if its keys were too many to remember, the chunk is read again.
 *
 * Its parts: chunk-window.ts (windows and the snapshot check), write-batch.ts (the write being
 * built), toast-resolver.ts (unchanged TOAST values), source-relation.ts (keys and rows of a
 * tuple), message-queue.ts (backpressure).
 */
import { assert } from '../../io/assert.js'
import { CairnError } from '../../io/errors.js'
import type { Partition } from '../../partition/index.js'
import { addUnseenBefore, type ChunkEntry, chunkProgress, newWindow, type RecentTxn, recentTxnsMax, rememberKey, type Window } from './chunk-window.js'
import { foldProgress, type IngestMeta, type IngestProgress, type TableProgress } from './ingest-status.js'
import { formatLsn, type PgLsn, parseLsn } from './lsn.js'
import { MessageQueue } from './message-queue.js'
import { type ColumnValue, malformedPgoutput, type PgoutputMessage, type RelationMessage, unchangedToast } from './pgoutput.js'
import { rowObjectJson } from './row-encoding.js'
import type { SourceTable } from './source.js'
import { relationKey, relationRow, type SourceRelation, sourceRelation } from './source-relation.js'
import { ToastResolver } from './toast-resolver.js'
import { keyString, WriteBatch } from './write-batch.js'

export { type ChunkEntry, type ChunkRows, type ChunkSnapshot, recentTxnKeysMax, recentTxnsMax, type Window } from './chunk-window.js'

/** A write is cut at about this many bytes of rows (a larger transaction spans several writes). */
export const batchBytesMaxDefault = 4 * 1024 * 1024

export interface StreamApplierOptions {
  partition: Partition
  meta: IngestMeta
  prefix: string
  batchBytesMax?: number
  /** Describes a table the stream shows (new in the publication); the applier queues its copy. */
  describe: (oid: number, name: string) => Promise<SourceTable>
  /** A row's current text values, fetched by key (an unchanged TOAST column with no stored row). */
  fetchRow: (table: SourceTable, key: (string | null)[]) => Promise<Record<string, unknown> | undefined>
  onNewTable: (table: SourceTable) => void
  onDurable: (src: PgLsn | undefined, lsn: number) => void
  pause: () => void
  resume: () => void
}

const decoder = new TextDecoder()

/**
 * @example
 * const applier = new StreamApplier({ partition, meta, prefix: 'cairn:slot', describe, fetchRow, onNewTable, onDurable, pause, resume })
 * stream.onMessage = (msg, walEnd) => applier.push(msg, walEnd)
 * await applier.stop()
 */
export class StreamApplier {
  readonly #o: StreamApplierOptions
  readonly meta: IngestMeta
  readonly tables = new Map<string, SourceTable>()
  readonly #relations = new Map<number, SourceRelation>()
  readonly #windows = new Map<string, Window>()
  readonly #queue: MessageQueue
  #batch = new WriteBatch()
  #txn: { skip: boolean; finalLsn: PgLsn; commitTimeMs: number; recent: RecentTxn } | undefined
  readonly #recent: RecentTxn[] = []
  /** Unchanged TOAST values of updates, merged from the old row, the stored one or the source. */
  readonly #toast: ToastResolver
  /** Tables whose chunks are discarded until the snapshotter reads them again from the durable key. */
  readonly #rereading = new Set<string>()
  #stopped = false
  #failure: unknown
  /** The WAL end Postgres last reported (for lag). */
  walEnd: PgLsn = 0n
  lastCommitTimeMs: number | undefined
  readonly done: Promise<void>

  constructor(options: StreamApplierOptions) {
    this.#o = options
    this.meta = options.meta
    this.#toast = new ToastResolver({ stored: (key) => this.#stored(key), fetchRow: options.fetchRow })
    this.#queue = new MessageQueue(options)
    this.done = this.#run()
    this.done.catch(() => undefined)
  }

  /** Called by the replication stream, in order, synchronously. */
  push(msg: PgoutputMessage, walEnd: PgLsn): void {
    if (walEnd > this.walEnd) this.walEnd = walEnd
    this.#queue.push(msg, walEnd)
  }

  /** Registers a chunk's window before its low watermark is emitted. */
  openWindow(id: string, table: string): Window {
    const failure = this.#failure ?? (this.#stopped ? new CairnError('CLOSED', 'the ingester stopped') : undefined)
    const w = newWindow(id, table, failure)
    if (failure === undefined) this.#windows.set(id, w)
    return w
  }

  forgetWindow(w: Window): void {
    this.#windows.delete(w.id)
  }

  /** Adds a table to ingest (new in the publication); its queued copy is recorded with the next write. */
  addTable(table: SourceTable): void {
    if (this.tables.has(table.name)) return
    this.tables.set(table.name, table)
    if (this.progressOf(table.name) === undefined) this.#batch.tables[table.name] = { state: 'queued', rowsCopied: 0, bytesCopied: 0, chunksCopied: 0 }
  }

  /** The latest progress of a table (what is durable, or pending in the batch being built). */
  progressOf(table: string): TableProgress | undefined {
    return table in this.#batch.tables ? (this.#batch.tables[table] ?? undefined) : this.meta.tables[table]
  }

  /**
   * A table that left the publication (dropped, or removed from it): no longer tracked, its rows
   * deleted and its progress removed in the next write; its chunks in flight are not written.
   */
  removeTable(name: string): void {
    this.tables.delete(name)
    this.#batch.truncate(name)
    this.#batch.tables[name] = null
    this.#batch.pending = true
    for (const w of this.#windows.values()) if (w.table === name) w.truncated = true
    this.#queue.wake()
  }

  /** The snapshotter is about to read `table` again from its durable key: its chunks count again. */
  resumeChunks(table: string): void {
    this.#rereading.delete(table)
  }

  /** Stops after writing what is whole; windows in flight fail. */
  async stop(): Promise<void> {
    this.#stopped = true
    this.#queue.wake()
    await this.done.catch(() => undefined)
  }

  async #run(): Promise<void> {
    try {
      for (;;) {
        if (this.#stopped) break
        const next = this.#queue.shift()
        if (next === undefined) {
          if (this.#txn === undefined && (this.#batch.src !== undefined || this.#batch.pending)) {
            await this.#flush(true)
            continue
          }
          await this.#queue.wait()
          continue
        }
        await this.#handle(next.msg)
        if (this.#batch.bytes >= (this.#o.batchBytesMax ?? batchBytesMaxDefault)) await this.#flush(this.#txn === undefined)
      }
      // A clean stop writes what is whole (a transaction cut short is sent again by Postgres).
      if (this.#txn === undefined && this.#batch.src !== undefined) await this.#flush(true)
    } catch (e) {
      this.#failure = e
      throw e
    } finally {
      const reason = this.#failure ?? new CairnError('CLOSED', 'the ingester stopped before this chunk was written')
      for (const w of this.#windows.values()) w.reject(reason)
      for (const w of this.#batch.windows) w.reject(reason)
      this.#windows.clear()
    }
  }

  async #handle(msg: PgoutputMessage): Promise<void> {
    switch (msg.tag) {
      case 'begin': {
        const durable = this.meta.sourceLsn === undefined ? 0n : parseLsn(this.meta.sourceLsn)
        this.#txn = { skip: msg.finalLsn < durable, finalLsn: msg.finalLsn, commitTimeMs: msg.commitTimeMs, recent: { xid: msg.xid, keys: new Map(), count: 0 } }
        return
      }
      case 'commit': {
        const txn = this.#txn
        this.#txn = undefined
        if (txn === undefined || txn.skip) return
        this.#recent.push(txn.recent)
        if (this.#recent.length > recentTxnsMax) this.#recent.shift()
        this.#batch.src = msg.endLsn
        this.lastCommitTimeMs = msg.commitTimeMs
        return
      }
      case 'relation':
        return this.#relation(msg)
      case 'other':
        return
    }
    if (this.#txn === undefined || this.#txn.skip) return
    switch (msg.tag) {
      case 'insert': {
        const rel = this.#rel(msg.oid)
        const key = relationKey(rel, msg.newTuple)
        this.#toast.forget(keyString(key))
        this.#put(rel, key, rowObjectJson(rel.message.columns, relationRow(rel, msg.newTuple)))
        return
      }
      case 'update':
        return this.#update(msg.oid, msg.oldKind, msg.oldTuple, msg.newTuple)
      case 'delete': {
        const rel = this.#rel(msg.oid)
        const key = relationKey(rel, msg.oldTuple, 'delete')
        this.#toast.forget(keyString(key))
        this.#delete(rel, key)
        return
      }
      case 'truncate':
        for (const oid of msg.oids) {
          const rel = this.#rel(oid)
          this.#batch.truncate(rel.table.name)
          for (const w of this.#windows.values()) if (w.open && w.table === rel.table.name) w.truncated = true
        }
        return
      case 'message':
        if (msg.prefix === this.#o.prefix) this.#watermark(msg.content)
        return
    }
  }

  #rel(oid: number): SourceRelation {
    const rel = this.#relations.get(oid)
    // pgoutput describes every relation in a session before its first change: a protocol defect.
    if (rel === undefined) throw malformedPgoutput(`relation ${oid} used before it was described`)
    return rel
  }

  async #relation(msg: RelationMessage): Promise<void> {
    const name = `${msg.schema}.${msg.name}`
    let table = this.tables.get(name)
    if (table === undefined) {
      table = await this.#o.describe(msg.oid, name)
      this.addTable(table)
      this.#o.onNewTable(table)
    }
    this.#relations.set(msg.oid, sourceRelation(msg, table))
  }

  async #update(oid: number, oldKind: 'K' | 'O' | undefined, oldTuple: ColumnValue[] | undefined, newTuple: ColumnValue[]): Promise<void> {
    const rel = this.#rel(oid)
    // A key column left out of the new tuple (unchanged TOAST) is the old one.
    const keyTuple = newTuple.map((v, i) => (v === unchangedToast && oldTuple !== undefined ? oldTuple[i]! : v))
    const newKey = relationKey(rel, keyTuple, 'update')
    const oldKey = oldTuple === undefined ? newKey : relationKey(rel, oldTuple, 'update')
    const oldK = keyString(oldKey)
    const newK = keyString(newKey)
    const row = await this.#toast.updatedRow(rel, { oldKind, oldTuple, newTuple, keyTuple, oldKey, oldK, newK })
    if (oldK !== newK) this.#delete(rel, oldKey)
    this.#put(rel, newKey, rowObjectJson(rel.message.columns, row))
  }

  /** The row `key` has after what is written and what this batch does so far. */
  async #stored(key: Uint8Array): Promise<Record<string, unknown> | undefined> {
    let text = this.#batch.valueOf(key, tableOfKey(key))
    if (text === undefined) {
      const value = await this.#o.partition.get(key)
      text = value === undefined ? null : decoder.decode(value)
    }
    return text === null ? undefined : (JSON.parse(text) as Record<string, unknown>)
  }

  /** Counts a change of `k` in the open windows of `table` and in the current transaction's keys. */
  #touch(table: string, k: string): void {
    for (const w of this.#windows.values()) if (w.open && w.table === table) w.touched.add(k)
    const recent = this.#txn?.recent
    if (recent !== undefined) rememberKey(recent, table, k)
  }

  #put(rel: SourceRelation, key: Uint8Array, value: string): void {
    this.#touch(rel.table.name, this.#batch.put(key, value))
  }

  #delete(rel: SourceRelation, key: Uint8Array): void {
    this.#touch(rel.table.name, this.#batch.delete(key))
  }

  #watermark(content: Uint8Array): void {
    let mark: { w?: string; id?: string }
    try {
      mark = JSON.parse(decoder.decode(content))
    } catch {
      return
    }
    const w = mark.id === undefined ? undefined : this.#windows.get(mark.id)
    // A window of an earlier run (or one given up) is not ours to close.
    if (w === undefined) return
    if (mark.w === 'L') {
      w.open = true
      w.before = this.#recent.slice()
      return
    }
    if (mark.w !== 'H' || !w.open) return
    const rows = w.rows
    assert(rows !== undefined, 'a chunk is read before its high watermark is emitted')
    this.#windows.delete(w.id)
    w.open = false
    if (rows.snapshot !== undefined) addUnseenBefore(w, rows.snapshot)
    if (!this.tables.has(w.table)) {
      // The table left the publication: nothing of it is written any more.
      this.#batch.windows.push(w)
      return
    }
    if (w.retry || this.#rereading.has(w.table)) {
      // Neither written nor recorded: this chunk and the table's later ones in flight are read again.
      w.retry = true
      this.#rereading.add(w.table)
      this.#batch.windows.push(w)
      return
    }
    const prev = this.progressOf(w.table)
    if (!w.truncated) {
      // Most windows saw no change of their table: then every row goes, with no key looked at.
      const kept: ChunkEntry[] = w.touched.size === 0 ? rows.entries : rows.entries.filter((e) => !w.touched.has(keyString(e.key)))
      this.#batch.addChunk(w.table, kept)
    }
    this.#batch.bytes += rows.bytes
    const txn = this.#txn
    assert(txn !== undefined, 'a watermark is transactional')
    this.#batch.tables[w.table] = chunkProgress(prev, rows, txn.finalLsn)
    this.#batch.windows.push(w)
  }

  async #flush(whole: boolean): Promise<void> {
    const batch = this.#batch
    this.#batch = new WriteBatch()
    const progress: IngestProgress = { ingest: 1 }
    // Mid-transaction, the last commit is not where this write ends: record no position.
    if (whole && batch.src !== undefined) progress.src = formatLsn(batch.src)
    else if (batch.src !== undefined) this.#batch.src = batch.src
    if (Object.keys(batch.tables).length > 0) progress.tables = batch.tables
    if (batch.ops.length === 0 && progress.src === undefined && progress.tables === undefined) return
    const lsn = await this.#o.partition.write({ ops: batch.ops, payloads: [JSON.stringify(progress)] })
    foldProgress(this.meta, lsn, progress)
    this.#o.onDurable(progress.src === undefined ? undefined : batch.src, lsn)
    for (const w of batch.windows) w.resolve()
  }
}

/** The table a cairn key belongs to (the text before its first 0 byte). */
function tableOfKey(key: Uint8Array): string | undefined {
  const end = key.indexOf(0)
  return end < 0 ? undefined : decoder.decode(key.subarray(0, end))
}
