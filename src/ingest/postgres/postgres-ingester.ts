/**
 * The Postgres ingester: replicates published tables into one partition, streaming changes from
 * the first second while a snapshotter copies the tables (DBLog windows), and publishes a
 * consistent position once every copy is done. See docs/ingest.md.
 *
 * Invariants:
 * - the publication and the slot exist before any table is read;
 * - what Postgres is told is durable (the slot's confirmed_flush_lsn) is never past the source
 *   LSN cairn recorded durably (stream-applier.ts);
 * - at start, progress is the catalog's checkpoint (`meta.ingest`) plus the progress payloads of
 *   the log above it, which the trim hold keeps: positions never go back across restarts;
 * - every table to copy is recorded as such (catalog, or the payload of a write) before a
 *   position could be published without it.
 */
import { CairnError } from '../../io/errors.js'
import type { Partition, Store } from '../../partition/index.js'
import {
  decodeProgress,
  foldProgress,
  type IngestMeta,
  type IngestStatus,
  newMeta,
  type TableProgress,
  type TableStatus,
} from './ingest-status.js'
import { formatLsn, type PgLsn, parseLsn } from './lsn.js'
import { ReplicationStream } from './replication-stream.js'
import { chunkRowsDefault, copyParallelismDefault, Snapshotter } from './snapshotter.js'
import {
  checkSource,
  connectionConfig,
  connectText,
  describeTable,
  ensurePublication,
  ensureSlot,
  ident,
  publishedTables,
  qualify,
  quoteTable,
  type SourceTable,
  unavailable,
} from './source.js'
import { StreamApplier } from './stream-applier.js'
import { columnJson } from './row-encoding.js'
import type pg from 'pg'

/** How often the status is taken, reported and (when it changed) checkpointed to the catalog. */
export const statusIntervalMs = 1000
/** How often the slot's retained WAL and the publication's tables are polled. */
export const pollIntervalMs = 2000
/** How long a stream that ended is checked for a lost slot before its own error is reported. */
export const slotLostCheckMs = 1000
/** After this long without a write, a heartbeat message moves the slot on (an idle source). */
export const heartbeatIdleMsDefault = 10_000

export interface PostgresIngestOptions {
  url: string
  store: Store
  /** Partition the rows go to (default `pg`). */
  partition?: string
  /** Tables to ingest (`table` or `schema.table`); default: every table (FOR ALL TABLES). */
  tables?: string[]
  /** Default `cairn_<partition>`. */
  slotName?: string
  /** Default `cairn_<partition>`. */
  publicationName?: string
  /** Rows per chunk of the copy (default 10,000). */
  chunkRows?: number
  /** Tables copied at once (default 2). */
  copyParallelism?: number
  onProgress?: (status: IngestStatus) => void
  /** How long creating the slot may wait on running transactions (default 30 s). */
  slotCreateMsMax?: number
  /**
   * After this long without a write (an idle source, or one busy only outside the publication),
   * a heartbeat message is emitted so the slot's position moves and WAL is not retained
   * (default 10 s; checked every 2 s).
   */
  heartbeatIdleMs?: number
  /** @internal Test seams. */
  hooks?: IngestHooks
}

/** @internal Points where tests act inside the ingester. */
export interface IngestHooks {
  /** Awaited after a chunk's SELECT, before its high watermark: changes made here are inside its window. */
  afterChunkRead?: (table: string, rows: number) => void | Promise<void>
  /** Bytes at which a write is cut (default `batchBytesMaxDefault`). */
  batchBytesMax?: number
}

/** A slot or publication name from a partition id (slot names allow [a-z0-9_] only). */
export function defaultSourceName(partition: string): string {
  return `cairn_${partition.toLowerCase().replaceAll(/[^a-z0-9_]/g, '_')}`.slice(0, 63)
}

interface CopyClock {
  startedAtMs: number
  rowsAtStart: number
}

/**
 * @example
 * const ingester = await PostgresIngester.start({ url: 'postgres://localhost/app', store, tables: ['orders'] })
 * console.log(ingester.status().phase)
 * await ingester.stop()
 */
export class PostgresIngester {
  readonly #o: Required<Pick<PostgresIngestOptions, 'url' | 'store'>> & PostgresIngestOptions
  readonly partitionId: string
  readonly slot: string
  readonly publication: string
  #partition!: Partition
  #control!: pg.Client
  #stream!: ReplicationStream
  #applier!: StreamApplier
  #snapshotter!: Snapshotter
  #releaseHold: (() => void) | undefined
  #phase: IngestStatus['phase'] = 'starting'
  #error: { code: string; message: string } | undefined
  #timers: NodeJS.Timeout[] = []
  #checkpointing: Promise<void> = Promise.resolve()
  #lastCheckpoint = ''
  #lastWriteMs = Date.now()
  #retainedWalBytes: number | undefined
  #currentWal: PgLsn | undefined
  #clocks = new Map<string, CopyClock>()
  #stopping: Promise<void> | undefined
  #resolveDone!: () => void
  #rejectDone!: (e: unknown) => void
  /** Settles when the ingester ends: resolves after `stop`, rejects with the fatal error. */
  readonly done: Promise<void>

  private constructor(options: PostgresIngestOptions) {
    this.#o = options
    this.partitionId = options.partition ?? 'pg'
    this.slot = options.slotName ?? defaultSourceName(this.partitionId)
    this.publication = options.publicationName ?? defaultSourceName(this.partitionId)
    this.done = new Promise<void>((resolve, reject) => {
      this.#resolveDone = resolve
      this.#rejectDone = reject
    })
    this.done.catch(() => undefined)
  }

  static async start(options: PostgresIngestOptions): Promise<PostgresIngester> {
    const ingester = new PostgresIngester(options)
    try {
      await ingester.#start()
    } catch (e) {
      await ingester.#teardown()
      throw e
    }
    return ingester
  }

  /** Chunk SELECTs run by this ingester (tests count them). */
  get chunksRead(): number {
    return this.#snapshotter?.chunksRead ?? 0
  }

  async #start(): Promise<void> {
    const { store } = this.#o
    const chunkRows = this.#o.chunkRows ?? chunkRowsDefault
    const copyParallelism = this.#o.copyParallelism ?? copyParallelismDefault
    if (!Number.isSafeInteger(chunkRows) || chunkRows < 1) throw new CairnError('INVALID_ARGUMENT', `chunkRows is a positive integer (got ${chunkRows})`)
    if (!Number.isSafeInteger(copyParallelism) || copyParallelism < 1) {
      throw new CairnError('INVALID_ARGUMENT', `copyParallelism is a positive integer (got ${copyParallelism})`)
    }
    this.#partition = await store.ensurePartition(this.partitionId)
    const meta = await this.#recover()
    this.#control = await connectText(this.#o.url, 'cairn-ingest')
    await checkSource(this.#control)
    const wanted = this.#o.tables?.map(qualify)
    await ensurePublication(this.#control, this.publication, wanted)
    const hasProgress = meta.sourceLsn !== undefined || Object.keys(meta.tables).length > 0
    await ensureSlot(this.#control, this.slot, !hasProgress, this.#o.slotCreateMsMax)
    // Every table is described (and refused if cairn cannot key it) before anything streams.
    const tables: SourceTable[] = []
    for (const name of await publishedTables(this.#control, this.publication)) tables.push(await describeTable(this.#control, name))
    let missing = false
    for (const t of tables) {
      if (meta.tables[t.name] === undefined) {
        meta.tables[t.name] = { state: 'queued', rowsCopied: 0, bytesCopied: 0, chunksCopied: 0 }
        missing = true
      }
    }
    // Durable before a position could be published without them.
    if (missing) await this.#checkpoint(meta, true)
    const prefix = `cairn:${this.slot}`
    this.#applier = new StreamApplier({
      partition: this.#partition,
      meta,
      prefix,
      ...(this.#o.hooks?.batchBytesMax !== undefined && { batchBytesMax: this.#o.hooks.batchBytesMax }),
      describe: (_oid, name) => describeTable(this.#control, name),
      fetchRow: (table, key) => this.#fetchRow(table, key),
      onNewTable: (table) => this.#snapshotter.enqueue(table),
      onDurable: (src) => {
        this.#lastWriteMs = Date.now()
        if (src !== undefined) this.#stream.confirm(src)
      },
      pause: () => this.#stream.pause(),
      resume: () => this.#stream.resume(),
    })
    for (const t of tables) this.#applier.tables.set(t.name, t)
    // Tables recorded but no longer published (removed while the ingester was stopped).
    for (const name of Object.keys(meta.tables)) if (!this.#applier.tables.has(name)) this.#applier.removeTable(name)
    this.#snapshotter = new Snapshotter({
      url: this.#o.url,
      applier: this.#applier,
      prefix,
      chunkRows,
      copyParallelism,
      ...(this.#o.hooks?.afterChunkRead !== undefined && { onChunkRead: this.#o.hooks.afterChunkRead }),
      tableGone: (name) => this.#tableGone(name),
      onTableStart: (name) => this.#clocks.set(name, { startedAtMs: Date.now(), rowsAtStart: this.#applier.progressOf(name)?.rowsCopied ?? 0 }),
    })
    const startLsn = meta.sourceLsn === undefined ? 0n : parseLsn(meta.sourceLsn)
    try {
      this.#stream = await ReplicationStream.start({
        connection: connectionConfig(this.#o.url, 'cairn-ingest-stream'),
        slot: this.slot,
        publication: this.publication,
        startLsn,
        onMessage: (msg, walEnd) => this.#applier.push(msg, walEnd),
        onKeepalive: (walEnd) => {
          if (walEnd > this.#applier.walEnd) this.#applier.walEnd = walEnd
        },
      })
    } catch (e) {
      await this.#applier.stop()
      throw unavailable(e)
    }
    this.#phase = 'copying'
    for (const t of tables) this.#snapshotter.enqueue(t)
    const fail = (e: unknown) => void this.#fail(e)
    this.#applier.done.catch(fail)
    this.#stream.done.catch((e: unknown) => void this.#streamEnded(e))
    this.#snapshotter.failed.catch(fail)
    this.#timers.push(setInterval(() => this.#tick(), statusIntervalMs))
    this.#timers.push(setInterval(() => void this.#poll().catch(fail), pollIntervalMs))
    for (const t of this.#timers) t.unref()
    this.#tick()
  }

  /** The catalog's checkpoint plus the progress payloads of the log above it. */
  async #recover(): Promise<IngestMeta> {
    const stored = this.#o.store.catalog.partition(this.partitionId)?.meta.ingest as IngestMeta | undefined
    const meta: IngestMeta = stored?.version === 1 ? structuredClone(stored) : newMeta(this.slot, this.publication)
    if (stored !== undefined && (stored.slot !== this.slot || stored.publication !== this.publication)) {
      throw new CairnError(
        'INVALID_ARGUMENT',
        `partition ${this.partitionId} is ingested through slot ${stored.slot} and publication ${stored.publication}, not ${this.slot}/${this.publication}: pass those names, or ingest into another partition`,
        { context: { partition: this.partitionId } },
      )
    }
    delete meta.status
    this.#releaseHold = this.#partition.holdTrim(meta.atLsn + 1, `ingest ${this.slot}`)
    for await (const batch of this.#partition.readBatches({ fromLsn: meta.atLsn + 1 })) {
      for (const entry of batch) {
        const progress = decodeProgress(entry.payloads[0] ?? new Uint8Array())
        if (progress !== undefined) foldProgress(meta, entry.lsn, progress)
      }
    }
    return meta
  }

  async #fetchRow(table: SourceTable, key: (string | null)[]): Promise<Record<string, unknown> | undefined> {
    const where = table.keyColumns.map((k, i) => `${ident(k)} = $${i + 1}`).join(' AND ')
    const r = await this.#control.query<(string | null)[]>({
      text: `SELECT ${table.columns.map((c) => ident(c.name)).join(', ')} FROM ${quoteTable(table.name)} WHERE ${where}`,
      values: key,
      rowMode: 'array',
    })
    const row = r.rows[0]
    if (row === undefined) return undefined
    const out: Record<string, unknown> = {}
    for (const [i, c] of table.columns.entries()) out[c.name] = columnJson(c.typeOid, row[i] ?? null)
    return out
  }

  /** Polls the slot (retained WAL, invalidation) and the publication (tables added). */
  async #poll(): Promise<void> {
    if (this.#stopping !== undefined) return
    const slot = await this.#control.query<{ current: string; restart_lsn: string | null; wal_status: string | null }>(
      'SELECT pg_current_wal_lsn() AS current, restart_lsn, wal_status FROM pg_replication_slots WHERE slot_name = $1',
      [this.slot],
    )
    const row = slot.rows[0]
    if (row === undefined || row.wal_status === 'lost') {
      throw new CairnError('SOURCE_SLOT_LOST', `replication slot ${this.slot} was ${row === undefined ? 'dropped' : 'invalidated'} while ingesting: changes were lost; drop the partition and ingest again`, {
        context: { slot: this.slot },
      })
    }
    this.#currentWal = parseLsn(row.current)
    if (row.restart_lsn !== null) this.#retainedWalBytes = Number(this.#currentWal - parseLsn(row.restart_lsn))
    const published = await publishedTables(this.#control, this.publication)
    for (const name of [...this.#applier.tables.keys()]) if (!published.includes(name)) this.#applier.removeTable(name)
    for (const name of published) {
      if (this.#applier.tables.has(name)) continue
      const table = await describeTable(this.#control, name)
      if (this.#applier.tables.has(name)) continue
      this.#applier.addTable(table)
      this.#snapshotter.enqueue(table)
    }
    if (Date.now() - this.#lastWriteMs > (this.#o.heartbeatIdleMs ?? heartbeatIdleMsDefault)) {
      this.#lastWriteMs = Date.now()
      await this.#control.query('SELECT pg_logical_emit_message(true, $1, $2)', [`cairn:${this.slot}`, '{"w":"heartbeat"}'])
    }
  }

  /** True (and the table removed) when `name` is no longer in the publication. */
  async #tableGone(name: string): Promise<boolean> {
    if (!this.#applier.tables.has(name)) return true
    if ((await publishedTables(this.#control, this.publication)).includes(name)) return false
    this.#applier.removeTable(name)
    return true
  }

  /** What the ingester is doing now. */
  status(): IngestStatus {
    const meta = this.#applier?.meta
    const tables: TableStatus[] = []
    const now = Date.now()
    for (const [name, table] of this.#applier?.tables ?? []) {
      // What is durable, not what a write in the making holds.
      const p: TableProgress | undefined = meta?.tables[name]
      const state = p?.state ?? 'queued'
      const rowsCopied = p?.rowsCopied ?? 0
      const t: TableStatus = { name, state: state === 'queued' && this.#clocks.has(name) ? 'copying' : state, rowsCopied, bytesCopied: p?.bytesCopied ?? 0 }
      if (table.rowsEstimate !== undefined) t.rowsEstimate = Math.max(table.rowsEstimate, rowsCopied)
      const clock = this.#clocks.get(name)
      if (t.state === 'copying' && clock !== undefined && t.rowsEstimate !== undefined && rowsCopied > clock.rowsAtStart) {
        const rate = (rowsCopied - clock.rowsAtStart) / Math.max(1, now - clock.startedAtMs)
        t.etaMs = Math.round((t.rowsEstimate - rowsCopied) / rate)
      }
      tables.push(t)
    }
    const status: IngestStatus = { partition: this.partitionId, slot: this.slot, publication: this.publication, phase: this.#phase, tables, updatedAtMs: now }
    if (meta?.consistentLsn !== undefined) {
      status.consistentLsn = meta.consistentLsn
      if (meta.consistentSourceLsn !== undefined) status.consistentSourceLsn = meta.consistentSourceLsn
    }
    if (meta?.sourceLsn !== undefined) status.sourceLsn = meta.sourceLsn
    if (this.#stream !== undefined) status.confirmedLsn = formatLsn(this.#stream.confirmedLsn)
    if (meta?.sourceLsn !== undefined) {
      const source = parseLsn(meta.sourceLsn)
      const head = this.#currentWal ?? this.#applier.walEnd
      status.lagBytes = head > source ? Number(head - source) : 0
      const commitMs = this.#applier.lastCommitTimeMs
      status.lagMs = status.lagBytes === 0 || commitMs === undefined ? 0 : Math.max(0, now - commitMs)
    }
    if (this.#retainedWalBytes !== undefined) status.retainedWalBytes = this.#retainedWalBytes
    if (this.#error !== undefined) status.error = this.#error
    return status
  }

  #tick(): void {
    if (this.#phase === 'copying' || this.#phase === 'streaming') {
      // Back to copying when a table joins the publication.
      const copying = this.#snapshotter.busy || Object.values(this.#applier.meta.tables).some((t) => t.state !== 'done')
      this.#phase = copying ? 'copying' : 'streaming'
    }
    const status = this.status()
    this.#o.onProgress?.(status)
    void this.#checkpoint(this.#applier.meta, false).catch((e: unknown) => this.#fail(e))
  }

  /** Writes the meta (with the status) to the catalog if it changed; moves the trim hold up to it. */
  #checkpoint(meta: IngestMeta, force: boolean): Promise<void> {
    const run = this.#checkpointing.then(async () => {
      const record: IngestMeta = structuredClone({ ...meta, status: this.#partition === undefined || this.#applier === undefined ? undefined : this.status() })
      if (record.status === undefined) delete record.status
      const { updatedAtMs: _ignored, ...comparable } = record.status ?? {}
      const signature = JSON.stringify({ ...record, status: comparable })
      if (!force && signature === this.#lastCheckpoint) return
      await this.#o.store.catalog.update((c) => {
        const entry = c.partitions[this.partitionId]
        if (entry !== undefined) entry.meta.ingest = record
      })
      this.#lastCheckpoint = signature
      const release = this.#releaseHold
      this.#releaseHold = this.#partition.holdTrim(record.atLsn + 1, `ingest ${this.slot}`)
      release?.()
    })
    this.#checkpointing = run.catch(() => undefined)
    return run
  }

  /**
   * The stream ended unasked: SOURCE_SLOT_LOST if the slot is gone or invalidated (looked at a
   * few times over `slotLostCheckMs`: whoever ended the stream may drop the slot just after),
   * else the stream's error.
   */
  async #streamEnded(e: unknown): Promise<void> {
    let error = e
    const deadline = Date.now() + slotLostCheckMs
    while (this.#stopping === undefined) {
      try {
        await ensureSlot(this.#control, this.slot, false)
      } catch (slotError) {
        if (slotError instanceof CairnError && slotError.code === 'SOURCE_SLOT_LOST') error = slotError
        break
      }
      if (Date.now() >= deadline) break
      await new Promise((r) => setTimeout(r, slotLostCheckMs / 5))
    }
    await this.#fail(error)
  }

  async #fail(e: unknown): Promise<void> {
    if (this.#stopping !== undefined) return
    const error = e instanceof CairnError ? e : unavailable(e)
    this.#phase = 'failed'
    this.#error = { code: error.code, message: error.message }
    this.#stopping = this.#shutdown(true)
    await this.#stopping
    this.#rejectDone(error)
  }

  /** Stops cleanly: what is whole is written, and everything confirmed to Postgres is durable in cairn. */
  async stop(): Promise<void> {
    if (this.#stopping === undefined) {
      this.#stopping = this.#shutdown(false)
      await this.#stopping
      this.#resolveDone()
      return
    }
    await this.#stopping
  }

  async #shutdown(failed: boolean): Promise<void> {
    for (const t of this.#timers) clearInterval(t)
    this.#timers = []
    await this.#snapshotter?.stop()
    // The applier writes what is whole (and confirms it) before the stream closes.
    await this.#applier?.stop()
    await this.#stream?.stop()
    if (!failed) this.#phase = 'stopped'
    if (this.#applier !== undefined) {
      await this.#checkpoint(this.#applier.meta, true).catch(() => undefined)
      // The last word for a progress display: stopped, or failed with the error.
      this.#o.onProgress?.(this.status())
    }
    await this.#teardown()
  }

  async #teardown(): Promise<void> {
    await this.#control?.end().catch(() => undefined)
    this.#releaseHold?.()
    this.#releaseHold = undefined
  }
}
