/**
 * The logical replication connection: START_REPLICATION over `pg`'s `replication: 'database'`
 * connection, spoken here directly (CopyData framing, keepalives, standby status updates) so that
 * nothing acknowledges on the ingester's behalf.
 *
 * Invariants:
 * - the only LSN ever sent to Postgres as flushed is the one the owner passes to `confirm`
 *   (the end of the last commit durably written to cairn); a keepalive asking for a reply is
 *   answered with that same LSN, never with what was received;
 * - messages are handed to `onMessage` in the order Postgres sent them; `pause` stops reading
 *   the socket (backpressure), `resume` starts again;
 * - a message that does not decode ends the stream: `done` rejects with its `SOURCE_PROTOCOL`
 *   (never a throw out of the socket's data handler) and nothing after it is handed on.
 */
import pg from 'pg'
import { CairnError } from '../../io/errors.js'
import { formatLsn, type PgLsn } from './lsn.js'
import { decodePgoutput, malformedPgoutput, type PgoutputMessage } from './pgoutput.js'

/** How often a status update is sent even when nothing changed (under `wal_sender_timeout`'s 60 s default). */
export const statusIntervalMsDefault = 10_000

export interface ReplicationStreamOptions {
  connection: pg.ClientConfig
  slot: string
  publication: string
  startLsn: PgLsn
  onMessage: (msg: PgoutputMessage, walEnd: PgLsn) => void
  /** The server's WAL end from a keepalive (for lag). */
  onKeepalive?: (walEnd: PgLsn, sentAtMs: number) => void
}

interface PgConnection {
  on(event: 'copyData', listener: (msg: { chunk: Buffer }) => void): void
  sendCopyFromChunk(chunk: Buffer): void
  stream: { pause(): void; resume(): void }
}

const pgEpochMs = 946_684_800_000

export class ReplicationStream {
  readonly #client: pg.Client
  readonly #options: ReplicationStreamOptions
  #confirmed: PgLsn
  #timer: NodeJS.Timeout | undefined
  #stopping = false
  #failed = false
  readonly #reject: (e: unknown) => void
  /** Settles when the stream ends: resolves on `stop`, rejects on any other end. */
  readonly done: Promise<void>

  private constructor(client: pg.Client, options: ReplicationStreamOptions, done: Promise<void>, reject: (e: unknown) => void) {
    this.#client = client
    this.#options = options
    this.#confirmed = options.startLsn
    this.done = done
    this.#reject = reject
  }

  static async start(options: ReplicationStreamOptions): Promise<ReplicationStream> {
    const client = new pg.Client({ ...options.connection, replication: 'database' } as pg.ClientConfig)
    let stream: ReplicationStream | undefined
    client.on('error', () => {})
    await client.connect()
    const connection = (client as unknown as { connection: PgConnection }).connection
    connection.on('copyData', ({ chunk }) => stream?.onCopyData(chunk))
    const ident = (s: string) => `"${s.replaceAll('"', '""')}"`
    const sql = `START_REPLICATION SLOT ${ident(options.slot)} LOGICAL ${formatLsn(options.startLsn)} (proto_version '1', publication_names '${ident(options.publication).replaceAll("'", "''")}', messages 'true')`
    let rejectDone!: (e: unknown) => void
    const done = new Promise<void>((resolve, reject) => {
      rejectDone = reject
      client.query(sql).then(
        () => (stream?.stopping ? resolve() : reject(new CairnError('SOURCE_UNAVAILABLE', 'Postgres ended the replication stream'))),
        (e: unknown) => (stream?.stopping ? resolve() : reject(e)),
      )
      client.on('end', () => (stream?.stopping ? resolve() : reject(new CairnError('SOURCE_UNAVAILABLE', 'the replication connection to Postgres closed'))))
    })
    stream = new ReplicationStream(client, options, done, rejectDone)
    done.catch(() => undefined)
    stream.#timer = setInterval(() => stream?.sendStatus(false), statusIntervalMsDefault)
    stream.#timer.unref()
    return stream
  }

  get stopping(): boolean {
    return this.#stopping
  }

  /** The last LSN confirmed to Postgres. */
  get confirmedLsn(): PgLsn {
    return this.#confirmed
  }

  /** Confirms `lsn` (the end LSN of a commit now durable in cairn) to Postgres. Never moves back. */
  confirm(lsn: PgLsn): void {
    if (lsn <= this.#confirmed) return
    this.#confirmed = lsn
    this.sendStatus(false)
  }

  pause(): void {
    ;(this.#client as unknown as { connection: PgConnection }).connection.stream.pause()
  }

  resume(): void {
    ;(this.#client as unknown as { connection: PgConnection }).connection.stream.resume()
  }

  async stop(): Promise<void> {
    if (this.#stopping) return
    this.#stopping = true
    clearInterval(this.#timer)
    await this.#client.end().catch(() => undefined)
    await this.done.catch(() => undefined)
  }

  private onCopyData(chunk: Buffer): void {
    if (this.#stopping || this.#failed) return
    const kind = chunk[0]
    if (kind === 0x77 /* w: XLogData */) {
      let msg: PgoutputMessage
      try {
        if (chunk.length < 25) throw malformedPgoutput(`an XLogData header of ${chunk.length} bytes`)
        msg = decodePgoutput(chunk.subarray(25))
      } catch (e) {
        this.#fail(e)
        return
      }
      this.#options.onMessage(msg, chunk.readBigUInt64BE(9))
    } else if (kind === 0x6b /* k: primary keepalive */) {
      if (chunk.length < 18) {
        this.#fail(malformedPgoutput(`a keepalive of ${chunk.length} bytes`))
        return
      }
      const walEnd = chunk.readBigUInt64BE(1)
      const sentAtMs = pgEpochMs + Number(chunk.readBigInt64BE(9) / 1000n)
      this.#options.onKeepalive?.(walEnd, sentAtMs)
      // Answered with what is durable, never with walEnd (that would confirm what cairn lacks).
      if (chunk[17] === 1) this.sendStatus(false)
    }
  }

  /** Ends the stream with `e` (`done` rejects with it first, so the close that follows is not what it reports). */
  #fail(e: unknown): void {
    this.#failed = true
    clearInterval(this.#timer)
    this.#reject(e)
    void this.#client.end().catch(() => undefined)
  }

  private sendStatus(replyRequested: boolean): void {
    if (this.#stopping) return
    const out = Buffer.alloc(34)
    out[0] = 0x72 // 'r'
    out.writeBigUInt64BE(this.#confirmed, 1) // written
    out.writeBigUInt64BE(this.#confirmed, 9) // flushed: what confirmed_flush_lsn becomes
    out.writeBigUInt64BE(this.#confirmed, 17) // applied
    out.writeBigInt64BE(BigInt(Date.now() - pgEpochMs) * 1000n, 25)
    out[33] = replyRequested ? 1 : 0
    try {
      ;(this.#client as unknown as { connection: PgConnection }).connection.sendCopyFromChunk(out)
    } catch {
      // The connection is gone; `done` reports it.
    }
  }
}
