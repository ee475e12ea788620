/**
 * The copy of tables while the stream runs: a queue of tables worked by `copyParallelism`
 * workers, each table in primary-key order, one chunk at a time, each chunk inside a DBLog
 * window: low watermark, SELECT, high watermark (transactional `pg_logical_emit_message`s, so
 * they arrive in the stream in commit order); the stream applier writes the chunk at its high
 * watermark, without the keys the stream touched in between.
 *
 * Invariants:
 * - the low watermark is committed before the chunk's SELECT starts and the high watermark is
 *   emitted after it ended, so every change the SELECT may or may not have seen sits between
 *   the two in the stream;
 * - a table resumes after the last chunk recorded durably (`lastKey`); a chunk whose write is
 *   not durable is read again, never skipped;
 * - a table's chunks are read in key order and their windows follow each other in the stream
 *   (each high watermark is emitted before the next low one), so their writes, and the
 *   `lastKey` they record, come in key order too; at most `chunksInFlightMax` wait for theirs.
 */
import { randomBytes } from 'node:crypto'
import type pg from 'pg'
import { encodeKey } from './key-encoding.js'
import { rowJson } from './row-encoding.js'
import { connectText, ident, quoteTable, type SourceTable } from './source.js'
import type { ChunkEntry, ChunkRows, ChunkSnapshot, StreamApplier } from './stream-applier.js'

export const chunkRowsDefault = 10_000
export const copyParallelismDefault = 2
/**
 * Chunks of one table read ahead of the one being written: the next SELECT overlaps the wait
 * for the previous high watermark and its write.
 */
export const chunksInFlightMax = 2

export interface SnapshotterOptions {
  url: string
  applier: StreamApplier
  prefix: string
  chunkRows: number
  copyParallelism: number
  /** Awaited between a chunk's SELECT and its high watermark (tests change rows in the window). */
  onChunkRead?: (table: string, rows: number) => void | Promise<void>
  onTableStart?: (table: string) => void
  /** After a copy failed: true when the table left the publication (the failure is then expected). */
  tableGone: (table: string) => Promise<boolean>
}

export class Snapshotter {
  readonly #o: SnapshotterOptions
  readonly #queue: SourceTable[] = []
  readonly #queued = new Set<string>()
  readonly #nonce = randomBytes(6).toString('hex')
  #windowCount = 0
  #running = 0
  #stopped = false
  #failure: ((e: unknown) => void) | undefined
  readonly #clients: pg.Client[] = []
  /** Chunk SELECTs run (tests count them). */
  chunksRead = 0
  readonly failed: Promise<never>
  #idle: (() => void)[] = []

  constructor(options: SnapshotterOptions) {
    this.#o = options
    this.failed = new Promise<never>((_, reject) => {
      this.#failure = reject
    })
    this.failed.catch(() => undefined)
  }

  /** Queues `table` for a copy unless it is queued, being copied, or done. */
  enqueue(table: SourceTable): void {
    if (this.#stopped || this.#queued.has(table.name)) return
    if (this.#o.applier.progressOf(table.name)?.state === 'done') return
    this.#queued.add(table.name)
    this.#queue.push(table)
    this.#spawn()
  }

  /** True while a table waits or is being copied. */
  get busy(): boolean {
    return this.#queue.length > 0 || this.#running > 0
  }

  /** Resolves once no table waits and none is being copied. */
  idle(): Promise<void> {
    if (!this.busy) return Promise.resolve()
    return new Promise((resolve) => this.#idle.push(resolve))
  }

  async stop(): Promise<void> {
    this.#stopped = true
    await Promise.all(this.#clients.map((c) => c.end().catch(() => undefined)))
  }

  #spawn(): void {
    while (this.#running < this.#o.copyParallelism && this.#queue.length > 0) {
      const table = this.#queue.shift()!
      this.#running++
      this.#copy(table)
        .catch(async (e: unknown) => {
          if (this.#stopped || !this.#o.applier.tables.has(table.name)) return
          if (await this.#o.tableGone(table.name).catch(() => false)) return
          this.#failure?.(e)
        })
        .finally(() => {
          this.#running--
          this.#queued.delete(table.name)
          if (!this.#stopped) this.#spawn()
          if (!this.busy) for (const f of this.#idle.splice(0)) f()
        })
    }
  }

  async #copy(table: SourceTable): Promise<void> {
    const client = await connectText(this.#o.url, 'cairn-ingest-copy')
    this.#clients.push(client)
    try {
      this.#o.onTableStart?.(table.name)
      let lastKey = this.#o.applier.progressOf(table.name)?.lastKey
      const inFlight: Promise<boolean>[] = []
      // A chunk to read again (see the applier's snapshot check): the ones in flight after it are
      // discarded too, and the table goes on from its durable key.
      const reread = async (): Promise<void> => {
        await Promise.allSettled(inFlight.splice(0))
        this.#o.applier.resumeChunks(table.name)
        lastKey = this.#o.applier.progressOf(table.name)?.lastKey
      }
      try {
        for (;;) {
          if (this.#stopped || !this.#o.applier.tables.has(table.name)) return
          if (this.#o.applier.progressOf(table.name)?.state === 'done') return
          const { rows, written } = await this.#chunk(client, table, lastKey)
          inFlight.push(written)
          lastKey = rows.lastKey
          if (rows.last || inFlight.length >= chunksInFlightMax) {
            if (await inFlight.shift()!) await reread()
            else if (rows.last) {
              let again = false
              for (const w of inFlight.splice(0)) again = (await w) || again
              if (!again) break
              await reread()
            }
          }
        }
      } finally {
        // Settled before the connection ends (a failed one is reported by the awaits above).
        await Promise.allSettled(inFlight)
      }
    } finally {
      await client.end().catch(() => undefined)
      this.#clients.splice(this.#clients.indexOf(client), 1)
    }
  }

  async #emit(client: pg.Client, mark: 'L' | 'H', id: string): Promise<void> {
    await client.query('SELECT pg_logical_emit_message(true, $1, $2)', [this.#o.prefix, JSON.stringify({ w: mark, id })])
  }

  /** Reads one chunk inside its window; `written` settles once the applier wrote it (true: not written, read it again). */
  async #chunk(client: pg.Client, table: SourceTable, lastKey: string[] | undefined): Promise<{ rows: ChunkRows; written: Promise<boolean> }> {
    const id = `${this.#nonce}.${++this.#windowCount}`
    const window = this.#o.applier.openWindow(id, table.name)
    try {
      await this.#emit(client, 'L', id)
      const rows = await this.#select(client, table, lastKey)
      this.chunksRead++
      await this.#o.onChunkRead?.(table.name, rows.entries.length)
      window.rows = rows
      await this.#emit(client, 'H', id)
      const written = window.done.then(
        () => window.retry,
        (e: unknown) => {
          throw e
        },
      ).finally(() => this.#o.applier.forgetWindow(window))
      written.catch(() => undefined)
      return { rows, written }
    } catch (e) {
      this.#o.applier.forgetWindow(window)
      throw e
    }
  }

  async #select(client: pg.Client, table: SourceTable, lastKey: string[] | undefined): Promise<ChunkRows> {
    const cols = table.columns.map((c) => ident(c.name)).join(', ')
    const keyCols = table.keyColumns.map(ident)
    const keyTypes = table.keyColumns.map((k) => table.columns.find((c) => c.name === k)!.typeName)
    const order = keyCols.join(', ')
    const params: unknown[] = []
    let where = ''
    if (lastKey !== undefined) {
      // Row comparison: the keyset after the last row, in the index's order.
      where = `WHERE (${order}) > (${lastKey.map((_, i) => `$${i + 1}::${keyTypes[i]!}`).join(', ')})`
      params.push(...lastKey)
    }
    params.push(this.#o.chunkRows)
    const sql = `SELECT ${cols} FROM ${quoteTable(table.name)} ${where} ORDER BY ${order} LIMIT $${params.length}`
    // One snapshot for the chunk, and its list of transactions in progress (see the applier).
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
    let result: pg.QueryResult<(string | null)[]>
    let snapshot: ChunkSnapshot
    try {
      const snap = await client.query<{ s: string }>('SELECT pg_current_snapshot()::text AS s')
      snapshot = parseSnapshot(snap.rows[0]!.s)
      result = await client.query<(string | null)[]>({ text: sql, values: params, rowMode: 'array' })
    } finally {
      await client.query('COMMIT').catch(() => undefined)
    }
    const keyIndex = table.keyColumns.map((k) => table.columns.findIndex((c) => c.name === k))
    const keyColumns = keyIndex.map((i) => table.columns[i]!)
    const entries: ChunkEntry[] = []
    let bytes = 0
    for (const row of result.rows) {
      const value = rowJson(table.columns, row)
      const key = encodeKey(
        table.name,
        keyColumns,
        keyIndex.map((i) => row[i] ?? null),
      )
      bytes += key.length + value.length
      entries.push({ type: 'put', key, value })
    }
    const last = result.rows[result.rows.length - 1]
    return {
      entries,
      snapshot,
      last: result.rows.length < this.#o.chunkRows,
      bytes,
      ...(last !== undefined && { lastKey: keyIndex.map((i) => last[i] as string) }),
    }
  }
}

/** `xmin:xmax:xip,...` (64-bit xids) as the stream's 32-bit xids. */
function parseSnapshot(text: string): ChunkSnapshot {
  const [, xmax, xip] = text.split(':')
  const low = (x: string): number => Number(BigInt(x) & 0xffff_ffffn)
  return { xmax: low(xmax!), xip: new Set(xip === undefined || xip === '' ? [] : xip.split(',').map(low)) }
}
