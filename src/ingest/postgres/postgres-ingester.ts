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
 *
 * Its parts: ingest-checkpointer.ts (recovery, catalog checkpoints, the trim hold),
 * ingester-status.ts (the status), slot-usage.ts and fetch-source-row.ts (queries of the source),
 * postgres-ingest-options.ts (the options).
 */
import type pg from 'pg'
import { CairnError } from '../../io/errors.js'
import type { Partition } from '../../partition/index.js'
import { fetchSourceRow } from './fetch-source-row.js'
import { IngestCheckpointer } from './ingest-checkpointer.js'
import type { IngestMeta, IngestStatus } from './ingest-status.js'
import { type CopyClock, ingesterStatus } from './ingester-status.js'
import { type PgLsn, parseLsn } from './lsn.js'
import { defaultSourceName, type PostgresIngestOptions } from './postgres-ingest-options.js'
import { ReplicationStream } from './replication-stream.js'
import { readSlotUsage } from './slot-usage.js'
import { chunkRowsDefault, copyParallelismDefault, Snapshotter } from './snapshotter.js'
import { checkSource, connectionConfig, connectText, describeTable, ensurePublication, ensureSlot, publishedTables, qualify, type SourceTable, unavailable } from './source.js'
import { StreamApplier } from './stream-applier.js'

export { defaultSourceName, type IngestHooks, type PostgresIngestOptions } from './postgres-ingest-options.js'

/** How often the status is taken, reported and (when it changed) checkpointed to the catalog. */
export const statusIntervalMs = 1000
/** How often the slot's retained WAL and the publication's tables are polled. */
export const pollIntervalMs = 2000
/** How long a stream that ended is checked for a lost slot before its own error is reported. */
export const slotLostCheckMs = 1000
/** After this long without a write, a heartbeat message moves the slot on (an idle source). */
export const heartbeatIdleMsDefault = 10_000

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
  #books: IngestCheckpointer | undefined
  #control!: pg.Client
  #stream!: ReplicationStream
  #applier!: StreamApplier
  #snapshotter!: Snapshotter
  #phase: IngestStatus['phase'] = 'starting'
  #error: { code: string; message: string } | undefined
  #timers: NodeJS.Timeout[] = []
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
    this.#books = new IngestCheckpointer({ store, partitionId: this.partitionId, partition: this.#partition, slot: this.slot, publication: this.publication })
    const meta = await this.#books.recover()
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
      fetchRow: (table, key) => fetchSourceRow(this.#control, table, key),
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

  /** Polls the slot (retained WAL, invalidation) and the publication (tables added). */
  async #poll(): Promise<void> {
    if (this.#stopping !== undefined) return
    const usage = await readSlotUsage(this.#control, this.slot)
    this.#currentWal = usage.currentWal
    if (usage.retainedWalBytes !== undefined) this.#retainedWalBytes = usage.retainedWalBytes
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
    return ingesterStatus(
      {
        partition: this.partitionId,
        slot: this.slot,
        publication: this.publication,
        phase: this.#phase,
        meta: this.#applier?.meta,
        tables: this.#applier?.tables ?? [],
        clocks: this.#clocks,
        confirmedLsn: this.#stream?.confirmedLsn,
        head: this.#currentWal ?? this.#applier?.walEnd ?? 0n,
        lastCommitTimeMs: this.#applier?.lastCommitTimeMs,
        retainedWalBytes: this.#retainedWalBytes,
        error: this.#error,
      },
      Date.now(),
    )
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
    return this.#books!.checkpoint(meta, () => (this.#applier === undefined ? undefined : this.status()), force)
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
    this.#books?.release()
  }
}
