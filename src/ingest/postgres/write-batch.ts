/**
 * The partition write the stream applier is building: its ops, the progress they stand for, and
 * an overlay so that a later change in the same write reads what an earlier one wrote.
 *
 * Invariants:
 * - ops keep the order of the stream; `seq` orders the overlay, the chunks and the truncates
 *   against each other, so the value a key has "so far" is the latest of them;
 * - a truncate hides every earlier value of its table in this write (overlay and chunks alike);
 * - the progress (source LSN, table progress) is the payload of this same write, so rows and the
 *   progress they stand for become durable together (stream-applier.ts).
 */
import type { StateOpInput } from '../../partition/index.js'
import type { ChunkEntry, Window } from './chunk-window.js'
import type { TableProgress } from './ingest-status.js'
import { tableRange } from './key-encoding.js'
import type { PgLsn } from './lsn.js'

/** A key as a map key (latin1: one char a byte). */
export const keyString = (key: Uint8Array): string => Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1')

/**
 * @example
 * const batch = new WriteBatch()
 * batch.put(key, '{"id":1}')
 * batch.valueOf(key, 'public.t') // '{"id":1}'
 */
export class WriteBatch {
  readonly ops: StateOpInput[] = []
  /** Ops so far in this batch (orders the overlay, the chunks and truncates). */
  #seq = 0
  /** The last value this batch gives a key the stream changed (null: deleted). */
  readonly #overlay = new Map<string, { seq: number; value: string | null }>()
  /** Chunk rows this batch writes, looked up (rarely: an unchanged TOAST value) by a map built on demand. */
  readonly #chunks: { seq: number; table: string; entries: ChunkEntry[]; map?: Map<string, string> }[] = []
  /** Tables truncated in this batch, at which op. */
  readonly #truncated = new Map<string, number>()
  readonly tables: Record<string, TableProgress | null> = {}
  /** The batch holds a change to write even without a commit (a table removed). */
  pending = false
  src?: PgLsn
  bytes = 0
  /** Windows whose chunk this write settles. */
  readonly windows: Window[] = []

  /** Puts `value` at `key`; returns the key string. */
  put(key: Uint8Array, value: string): string {
    const k = keyString(key)
    this.ops.push({ type: 'put', key, value })
    this.#overlay.set(k, { seq: ++this.#seq, value })
    this.bytes += key.length + value.length
    return k
  }

  /** Deletes `key`; returns the key string. */
  delete(key: Uint8Array): string {
    const k = keyString(key)
    this.ops.push({ type: 'delete', key })
    this.#overlay.set(k, { seq: ++this.#seq, value: null })
    this.bytes += key.length
    return k
  }

  /** Deletes every row of `table`. */
  truncate(table: string): void {
    const { start, end } = tableRange(table)
    this.ops.push({ type: 'deleteRange', start, end })
    this.#truncated.set(table, ++this.#seq)
  }

  /** Writes a chunk's rows (those the stream did not touch). */
  addChunk(table: string, entries: ChunkEntry[]): void {
    for (const e of entries) this.ops.push(e)
    this.#chunks.push({ seq: ++this.#seq, table, entries })
  }

  /**
   * The value this batch gives `key` of `table` so far: its text, `null` (deleted, or its table
   * truncated), or `undefined` when the batch does not change it (what is written holds).
   */
  valueOf(key: Uint8Array, table: string | undefined): string | null | undefined {
    const k = keyString(key)
    let best: { seq: number; value: string | null } | undefined = this.#overlay.get(k)
    for (const c of this.#chunks) {
      if (c.table !== table || c.seq <= (best?.seq ?? 0)) continue
      c.map ??= new Map(c.entries.map((e) => [keyString(e.key), e.value]))
      const value = c.map.get(k)
      if (value !== undefined) best = { seq: c.seq, value }
    }
    const truncatedAt = table === undefined ? undefined : this.#truncated.get(table)
    if (best !== undefined && best.seq > (truncatedAt ?? 0)) return best.value
    return truncatedAt !== undefined ? null : undefined
  }
}
