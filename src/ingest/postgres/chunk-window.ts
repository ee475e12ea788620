/**
 * A chunk's window (DBLog): the stretch of the stream between a chunk's low and high watermark,
 * and the keys the stream changed inside it, which the chunk must not overwrite.
 *
 * Invariants:
 * - a window counts the keys of its table that the stream touched while it was open, and whether
 *   its table was truncated (or left the publication) meanwhile;
 * - a transaction applied before the low watermark that the chunk's snapshot did not see (its
 *   commit record came first, yet it left Postgres' process array after the snapshot) counts as
 *   inside the window: its keys are touched too, or, when its keys were too many to remember or
 *   it may be older than the transactions remembered, the chunk is read again (`retry`);
 * - a window's `done` settles once: resolved when the chunk's write is durable, rejected when the
 *   ingester stops or fails first.
 */
import type { TableProgress } from './ingest-status.js'
import { formatLsn, type PgLsn } from './lsn.js'

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

/** A transaction the stream applied, with the keys it touched by table (for the snapshot check). */
export interface RecentTxn {
  xid: number
  /** Keys touched, by table; undefined once over `recentTxnKeysMax`. */
  keys: Map<string, Set<string>> | undefined
  count: number
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

/**
 * A new window, not open yet (its low watermark opens it); `failure` rejects it at once.
 *
 * @example
 * const w = newWindow('chunk-7', 'public.orders', undefined)
 * await w.done
 */
export function newWindow(id: string, table: string, failure: unknown): Window {
  let resolve!: () => void
  let reject!: (e: unknown) => void
  const done = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  done.catch(() => undefined)
  const w: Window = { id, table, open: false, touched: new Set(), truncated: false, before: [], retry: false, done, resolve, reject }
  if (failure !== undefined) reject(failure)
  return w
}

/** Remembers that the transaction `recent` touched `k` of `table` (forgetting all once over the bound). */
export function rememberKey(recent: RecentTxn, table: string, k: string): void {
  if (recent.keys === undefined) return
  if (++recent.count > recentTxnKeysMax) {
    recent.keys = undefined
    return
  }
  const keys = recent.keys.get(table)
  if (keys === undefined) recent.keys.set(table, new Set([k]))
  else keys.add(k)
}

/**
 * At the high watermark: the transactions before the low watermark that the chunk's snapshot did
 * not see count as inside the window (their keys touched, or the chunk marked for `retry`).
 */
export function addUnseenBefore(w: Window, snapshot: ChunkSnapshot): void {
  // The oldest remembered one unseen too: older ones may be, and they are forgotten.
  const oldest = w.before[0]
  if (w.before.length >= recentTxnsMax && oldest !== undefined && invisible(snapshot, oldest.xid)) w.retry = true
  for (const t of w.before) {
    if (!invisible(snapshot, t.xid)) continue
    if (t.keys === undefined) w.retry = true
    else for (const k of t.keys.get(w.table) ?? []) w.touched.add(k)
  }
}

/** A table's progress after the chunk `rows` is written on top of `prev`, at a watermark of the transaction ending at `finalLsn`. */
export function chunkProgress(prev: TableProgress | undefined, rows: ChunkRows, finalLsn: PgLsn): TableProgress {
  return {
    state: rows.last ? 'done' : 'copying',
    rowsCopied: (prev?.rowsCopied ?? 0) + rows.entries.length,
    bytesCopied: (prev?.bytesCopied ?? 0) + rows.bytes,
    chunksCopied: (prev?.chunksCopied ?? 0) + 1,
    ...((rows.lastKey ?? prev?.lastKey) !== undefined && { lastKey: rows.lastKey ?? prev?.lastKey }),
    ...(rows.last && { doneAtLsn: formatLsn(finalLsn) }),
  }
}

/** True when the snapshot did not see `xid` (in progress, or begun after it): 32-bit wraparound order. */
function invisible(snapshot: ChunkSnapshot, xid: number): boolean {
  return snapshot.xip.has(xid) || ((xid - snapshot.xmax) >>> 0) < 0x8000_0000
}
