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
 */
import { assert } from '../../io/assert.js'
import { CairnError } from '../../io/errors.js'
import type { Partition, StateOpInput } from '../../partition/index.js'
import { encodeKey, tableRange } from './key-encoding.js'
import { foldProgress, type IngestMeta, type IngestProgress, type TableProgress } from './ingest-status.js'
import { formatLsn, type PgLsn, parseLsn } from './lsn.js'
import { type ColumnValue, malformedPgoutput, type PgoutputMessage, type RelationMessage, unchangedToast } from './pgoutput.js'
import type { SourceTable } from './source.js'
import { columnJson, rowObjectJson } from './row-encoding.js'

/** A write is cut at about this many bytes of rows (a larger transaction spans several writes). */
export const batchBytesMaxDefault = 4 * 1024 * 1024
/** Messages queued before the socket is paused (backpressure). */
export const queuedMessagesMax = 20_000
/** Transactions remembered (with their keys) for the snapshot check of the next low watermark. */
export const recentTxnsMax = 64
/** Keys remembered per recent transaction; a larger one makes a chunk that did not see it read again. */
export const recentTxnKeysMax = 50_000

/** A copied row, already shaped as the put that writes it (one object per row, not two). */
export interface ChunkEntry {
  type: 'put'
  key: Uint8Array
  value: string
}

/** The chunk's snapshot (`pg_current_snapshot()`), as 32-bit xids like the stream's. */
export interface ChunkSnapshot {
  xmax: number
  xip: Set<number>
}

export interface ChunkRows {
  entries: ChunkEntry[]
  snapshot?: ChunkSnapshot
  /** Key text of the chunk's last row (where the next chunk starts). */
  lastKey?: string[]
  /** The table has no rows past this chunk. */
  last: boolean
  bytes: number
}

export interface Window {
  id: string
  table: string
  open: boolean
  touched: Set<string>
  truncated: boolean
  rows?: ChunkRows
  /** The transactions applied just before the low watermark. */
  before: RecentTxn[]
  /** Set at the high watermark when the chunk was not written and must be read again. */
  retry: boolean
  /** Settles once the chunk's write is durable (or the ingester stops or fails). */
  done: Promise<void>
  resolve: () => void
  reject: (e: unknown) => void
}

interface RecentTxn {
  xid: number
  /** Keys touched, by table; undefined once over `recentTxnKeysMax`. */
  keys: Map<string, Set<string>> | undefined
  count: number
}

/** True when the snapshot did not see `xid` (in progress, or begun after it): 32-bit wraparound order. */
function invisible(snapshot: ChunkSnapshot, xid: number): boolean {
  return snapshot.xip.has(xid) || ((xid - snapshot.xmax) >>> 0) < 0x8000_0000
}

interface Relation {
  message: RelationMessage
  table: SourceTable
  /** Index in the relation's columns of each key column. */
  keyIndex: number[]
}

interface Batch {
  ops: StateOpInput[]
  /** Ops so far in this batch (orders the overlay, the chunks and truncates). */
  seq: number
  /** The last value this batch gives a key the stream changed (null: deleted). */
  overlay: Map<string, { seq: number; value: string | null }>
  /** Chunk rows this batch writes, looked up (rarely: an unchanged TOAST value) by a map built on demand. */
  chunks: { seq: number; table: string; entries: ChunkEntry[]; map?: Map<string, string> }[]
  /** Tables truncated in this batch, at which op. */
  truncated: Map<string, number>
  tables: Record<string, TableProgress | null>
  /** The batch holds a change to write even without a commit (a table removed). */
  pending: boolean
  src?: PgLsn
  bytes: number
  windows: Window[]
}

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

const keyString = (key: Uint8Array): string => Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1')
const decoder = new TextDecoder()

export class StreamApplier {
  readonly #o: StreamApplierOptions
  readonly meta: IngestMeta
  readonly tables = new Map<string, SourceTable>()
  readonly #relations = new Map<number, Relation>()
  readonly #windows = new Map<string, Window>()
  readonly #queue: { msg: PgoutputMessage; walEnd: PgLsn }[] = []
  #wake: (() => void) | undefined
  #paused = false
  #batch: Batch = newBatch()
  #txn: { skip: boolean; finalLsn: PgLsn; commitTimeMs: number; recent: RecentTxn } | undefined
  readonly #recent: RecentTxn[] = []
  /** Rows written with unchanged TOAST columns that had no value to take (key string -> columns); rare, see #update. */
  readonly #unresolved = new Map<string, Set<string>>()
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
    this.done = this.#run()
    this.done.catch(() => undefined)
  }

  /** Called by the replication stream, in order, synchronously. */
  push(msg: PgoutputMessage, walEnd: PgLsn): void {
    if (walEnd > this.walEnd) this.walEnd = walEnd
    this.#queue.push({ msg, walEnd })
    if (!this.#paused && this.#queue.length >= queuedMessagesMax) {
      this.#paused = true
      this.#o.pause()
    }
    this.#wake?.()
  }

  /** Registers a chunk's window before its low watermark is emitted. */
  openWindow(id: string, table: string): Window {
    let resolve!: () => void
    let reject!: (e: unknown) => void
    const done = new Promise<void>((res, rej) => {
      resolve = res
      reject = rej
    })
    done.catch(() => undefined)
    const w: Window = { id, table, open: false, touched: new Set(), truncated: false, before: [], retry: false, done, resolve, reject }
    if (this.#failure !== undefined || this.#stopped) reject(this.#failure ?? new CairnError('CLOSED', 'the ingester stopped'))
    else this.#windows.set(id, w)
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
    const { start, end } = tableRange(name)
    this.#batch.ops.push({ type: 'deleteRange', start, end })
    this.#batch.truncated.set(name, ++this.#batch.seq)
    this.#batch.tables[name] = null
    this.#batch.pending = true
    for (const w of this.#windows.values()) if (w.table === name) w.truncated = true
    this.#wake?.()
  }

  /** Stops after writing what is whole; windows in flight fail. */
  async stop(): Promise<void> {
    this.#stopped = true
    this.#wake?.()
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
          await new Promise<void>((resolve) => {
            this.#wake = resolve
          })
          this.#wake = undefined
          continue
        }
        if (this.#paused && this.#queue.length < queuedMessagesMax / 2) {
          this.#paused = false
          this.#o.resume()
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
        const key = this.#key(rel, msg.newTuple)
        if (this.#unresolved.size > 0) this.#unresolved.delete(keyString(key))
        this.#put(rel, key, rowObjectJson(rel.message.columns, this.#row(rel, msg.newTuple)))
        return
      }
      case 'update':
        return this.#update(msg.oid, msg.oldKind, msg.oldTuple, msg.newTuple)
      case 'delete': {
        const rel = this.#rel(msg.oid)
        const key = this.#key(rel, msg.oldTuple, 'delete')
        if (this.#unresolved.size > 0) this.#unresolved.delete(keyString(key))
        this.#delete(rel, key)
        return
      }
      case 'truncate':
        for (const oid of msg.oids) {
          const rel = this.#rel(oid)
          const { start, end } = tableRange(rel.table.name)
          this.#batch.ops.push({ type: 'deleteRange', start, end })
          this.#batch.truncated.set(rel.table.name, ++this.#batch.seq)
          for (const w of this.#windows.values()) if (w.open && w.table === rel.table.name) w.truncated = true
        }
        return
      case 'message':
        if (msg.prefix === this.#o.prefix) this.#watermark(msg.content)
        return
    }
  }

  #rel(oid: number): Relation {
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
    const keyIndex = table.keyColumns.map((k) => msg.columns.findIndex((c) => c.name === k))
    if (keyIndex.some((i) => i < 0)) {
      throw new CairnError('SOURCE_TABLE_UNSUPPORTED', `table ${name} no longer publishes its key columns (${table.keyColumns.join(', ')}): restart the ingester`, {
        context: { table: name },
      })
    }
    this.#relations.set(msg.oid, { message: msg, table, keyIndex })
  }

  #key(rel: Relation, tuple: ColumnValue[], what = 'change'): Uint8Array {
    const values: (string | null)[] = []
    for (const i of rel.keyIndex) {
      const v = tuple[i]
      if (v === unchangedToast || (v === null && rel.table.replicaIdentity !== 'full')) {
        throw new CairnError(
          'SOURCE_TABLE_UNSUPPORTED',
          `a ${what} of table ${rel.table.name} does not carry its key (${rel.table.keyColumns.join(', ')}); its REPLICA IDENTITY is ${rel.message.replicaIdentity}: give the table a primary key or set REPLICA IDENTITY FULL`,
          { context: { table: rel.table.name } },
        )
      }
      values.push(v ?? null)
    }
    return encodeKey(
      rel.table.name,
      rel.keyIndex.map((i) => ({ typeOid: rel.message.columns[i]!.typeOid })),
      values,
    )
  }

  #row(rel: Relation, tuple: ColumnValue[], fallback?: Record<string, unknown>): Record<string, unknown> {
    const row: Record<string, unknown> = {}
    for (const [i, col] of rel.message.columns.entries()) {
      const v = tuple[i]
      row[col.name] = v === unchangedToast ? fallback?.[col.name] : columnJson(col.typeOid, v ?? null)
    }
    return row
  }

  async #update(oid: number, oldKind: 'K' | 'O' | undefined, oldTuple: ColumnValue[] | undefined, newTuple: ColumnValue[]): Promise<void> {
    const rel = this.#rel(oid)
    // A key column left out of the new tuple (unchanged TOAST) is the old one.
    const keyTuple = newTuple.map((v, i) => (v === unchangedToast && oldTuple !== undefined ? oldTuple[i]! : v))
    const newKey = this.#key(rel, keyTuple, 'update')
    const oldKey = oldTuple === undefined ? newKey : this.#key(rel, oldTuple, 'update')
    let row: Record<string, unknown>
    const oldK = keyString(oldKey)
    const newK = keyString(newKey)
    if (newTuple.includes(unchangedToast)) {
      // Unchanged TOAST values: from the old row (REPLICA IDENTITY FULL sends it whole; a key
      // tuple 'K' holds only the key, its other columns are nulls that mean nothing), else the
      // stored row, else (a row not copied yet) the source's current row.
      let base: Record<string, unknown> | undefined
      if (oldKind === 'O' && oldTuple !== undefined && !oldTuple.includes(unchangedToast)) base = this.#row(rel, oldTuple)
      base ??= await this.#stored(oldKey)
      // Columns the base cannot give: absent, or themselves written without a value (see below).
      const unknown = this.#unresolved.get(oldK)
      const missing = rel.message.columns.filter((c, i) => newTuple[i] === unchangedToast && (base === undefined || !(c.name in base) || unknown?.has(c.name))).map((c) => c.name)
      if (missing.length > 0) {
        const current = await this.#o.fetchRow(
          rel.table,
          rel.keyIndex.map((i) => keyTuple[i] as string | null),
        )
        if (current !== undefined) {
          base = { ...base }
          for (const name of missing) base[name] = current[name]
          missing.length = 0
        }
      }
      row = this.#row(rel, newTuple, base)
      // A transaction replayed on top of its own partial write (it spanned writes and the
      // ingester stopped inside it) can find neither the old row nor the new one in the source:
      // remember which columns were written as null for lack of a value, so a later update of
      // that row asks the source again instead of carrying the null on.
      if (missing.length > 0) this.#unresolved.set(newK, new Set(missing))
      else this.#unresolved.delete(newK)
    } else {
      row = this.#row(rel, newTuple)
      this.#unresolved.delete(newK)
    }
    if (oldK !== newK) this.#unresolved.delete(oldK)
    if (keyString(oldKey) !== keyString(newKey)) this.#delete(rel, oldKey)
    this.#put(rel, newKey, rowObjectJson(rel.message.columns, row))
  }

  /** The row `key` has after what is written and what this batch does so far. */
  async #stored(key: Uint8Array): Promise<Record<string, unknown> | undefined> {
    const k = keyString(key)
    const batch = this.#batch
    const table = this.#tableOfKey(key)
    let best: { seq: number; value: string | null } | undefined = batch.overlay.get(k)
    for (const c of batch.chunks) {
      if (c.table !== table || c.seq <= (best?.seq ?? 0)) continue
      c.map ??= new Map(c.entries.map((e) => [keyString(e.key), e.value]))
      const value = c.map.get(k)
      if (value !== undefined) best = { seq: c.seq, value }
    }
    const truncatedAt = table === undefined ? undefined : batch.truncated.get(table)
    let text: string | null
    if (best !== undefined && best.seq > (truncatedAt ?? 0)) text = best.value
    else if (truncatedAt !== undefined) text = null
    else {
      const value = await this.#o.partition.get(key)
      text = value === undefined ? null : decoder.decode(value)
    }
    return text === null ? undefined : (JSON.parse(text) as Record<string, unknown>)
  }

  #tableOfKey(key: Uint8Array): string | undefined {
    const end = key.indexOf(0)
    return end < 0 ? undefined : decoder.decode(key.subarray(0, end))
  }

  #touch(table: string, k: string): void {
    for (const w of this.#windows.values()) if (w.open && w.table === table) w.touched.add(k)
    const recent = this.#txn?.recent
    if (recent?.keys === undefined) return
    if (++recent.count > recentTxnKeysMax) {
      recent.keys = undefined
      return
    }
    const keys = recent.keys.get(table)
    if (keys === undefined) recent.keys.set(table, new Set([k]))
    else keys.add(k)
  }

  /** The snapshotter is about to read `table` again from its durable key: its chunks count again. */
  resumeChunks(table: string): void {
    this.#rereading.delete(table)
  }

  #put(rel: Relation, key: Uint8Array, value: string): void {
    const k = keyString(key)
    this.#batch.ops.push({ type: 'put', key, value })
    this.#batch.overlay.set(k, { seq: ++this.#batch.seq, value })
    this.#batch.bytes += key.length + value.length
    this.#touch(rel.table.name, k)
  }

  #delete(rel: Relation, key: Uint8Array): void {
    const k = keyString(key)
    this.#batch.ops.push({ type: 'delete', key })
    this.#batch.overlay.set(k, { seq: ++this.#batch.seq, value: null })
    this.#batch.bytes += key.length
    this.#touch(rel.table.name, k)
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
    // Transactions before the low watermark that the chunk's snapshot did not see.
    if (rows.snapshot !== undefined) {
      // The oldest remembered one unseen too: older ones may be, and they are forgotten.
      const oldest = w.before[0]
      if (w.before.length >= recentTxnsMax && oldest !== undefined && invisible(rows.snapshot, oldest.xid)) w.retry = true
      for (const t of w.before) {
        if (!invisible(rows.snapshot, t.xid)) continue
        if (t.keys === undefined) w.retry = true
        else for (const k of t.keys.get(w.table) ?? []) w.touched.add(k)
      }
    }
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
      const kept = w.touched.size === 0 ? rows.entries : rows.entries.filter((e) => !w.touched.has(keyString(e.key)))
      const ops = this.#batch.ops
      for (const e of kept) ops.push(e)
      this.#batch.chunks.push({ seq: ++this.#batch.seq, table: w.table, entries: kept })
    }
    this.#batch.bytes += rows.bytes
    const txn = this.#txn
    assert(txn !== undefined, 'a watermark is transactional')
    this.#batch.tables[w.table] = {
      state: rows.last ? 'done' : 'copying',
      rowsCopied: (prev?.rowsCopied ?? 0) + rows.entries.length,
      bytesCopied: (prev?.bytesCopied ?? 0) + rows.bytes,
      chunksCopied: (prev?.chunksCopied ?? 0) + 1,
      ...((rows.lastKey ?? prev?.lastKey) !== undefined && { lastKey: rows.lastKey ?? prev?.lastKey }),
      ...(rows.last && { doneAtLsn: formatLsn(txn.finalLsn) }),
    }
    this.#batch.windows.push(w)
  }

  async #flush(whole: boolean): Promise<void> {
    const batch = this.#batch
    this.#batch = newBatch()
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

function newBatch(): Batch {
  return { ops: [], seq: 0, overlay: new Map(), chunks: [], truncated: new Map(), tables: {}, pending: false, bytes: 0, windows: [] }
}
