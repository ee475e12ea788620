/**
 * better-sqlite3 peer: WAL journal, `synchronous=FULL` (every commit fsyncs the WAL), one
 * statement per transaction for single writes. better-sqlite3 is synchronous: a write blocks the
 * event loop for its fsync, so "concurrent" writers run strictly one after another (no group
 * commit possible from one connection).
 */
import Database from 'better-sqlite3'
import { join } from 'node:path'
import { type Entry, type Peer, type PeerFactory, type PeerOpenOptions, u64Of } from './peer.js'

class SqlitePeer implements Peer {
  readonly name = 'better-sqlite3'
  readonly note = 'WAL + synchronous=FULL, one INSERT per transaction; synchronous API, so writers serialise'
  readonly concurrentWrites = false
  readonly #db: Database.Database
  readonly #log: boolean
  readonly #put: Database.Statement
  readonly #get: Database.Statement
  readonly #putMany: (entries: readonly Entry[]) => void
  readonly #k: (key: Uint8Array) => number | Buffer

  constructor(db: Database.Database, log: boolean) {
    this.#db = db
    this.#log = log
    this.#k = log ? u64Of : (key) => Buffer.from(key.buffer, key.byteOffset, key.byteLength)
    this.#put = db.prepare(log ? 'INSERT OR REPLACE INTO log (id, v) VALUES (?, ?)' : 'INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)')
    this.#get = db.prepare(log ? 'SELECT v FROM log WHERE id = ?' : 'SELECT v FROM kv WHERE k = ?').pluck()
    this.#putMany = db.transaction((entries: readonly Entry[]) => {
      for (const [k, v] of entries) this.#put.run(this.#k(k), v)
    })
  }

  async durablePut(key: Uint8Array, value: Uint8Array): Promise<void> {
    // Autocommit: one INSERT is one transaction.
    this.#put.run(this.#k(key), value)
  }

  async durablePutBatch(entries: readonly Entry[]): Promise<void> {
    this.#putMany(entries)
  }

  async load(entries: readonly Entry[]): Promise<void> {
    this.#db.pragma('synchronous = OFF')
    const chunk = 100_000
    for (let i = 0; i < entries.length; i += chunk) this.#putMany(entries.slice(i, i + chunk))
    this.#db.pragma('wal_checkpoint(TRUNCATE)')
    this.#db.pragma('synchronous = FULL')
  }

  get(key: Uint8Array): Uint8Array | undefined {
    return this.#get.get(this.#k(key)) as Uint8Array | undefined
  }

  async scan(options: { gte?: Uint8Array; lt?: Uint8Array; limit?: number }, visit: (key: Uint8Array, value: Uint8Array) => void): Promise<number> {
    const col = this.#log ? 'id' : 'k'
    const where: string[] = []
    const args: Array<number | Buffer> = []
    if (options.gte) {
      where.push(`${col} >= ?`)
      args.push(this.#k(options.gte))
    }
    if (options.lt) {
      where.push(`${col} < ?`)
      args.push(this.#k(options.lt))
    }
    const sql = `SELECT ${col} AS k, v FROM ${this.#log ? 'log' : 'kv'}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${col}${options.limit !== undefined ? ` LIMIT ${options.limit}` : ''}`
    const stmt = this.#db.prepare(sql).raw()
    let n = 0
    const keyBuf = new Uint8Array(8)
    for (const row of stmt.iterate(...args) as Iterable<[number | Uint8Array, Uint8Array]>) {
      // Log mode keys come back as integers; hand out a key view like the other peers do.
      visit(typeof row[0] === 'number' ? keyBuf : row[0], row[1])
      n++
    }
    return n
  }

  async close(): Promise<void> {
    this.#db.close()
  }
}

export const sqlitePeer: PeerFactory = {
  name: 'better-sqlite3',
  async open(dir: string, options: PeerOpenOptions): Promise<Peer> {
    const db = new Database(join(dir, 'db.sqlite'))
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = FULL')
    if (options.cacheBytes !== undefined) db.pragma(`cache_size = -${Math.max(1, Math.floor(options.cacheBytes / 1024))}`)
    if (options.mode === 'log') db.exec('CREATE TABLE IF NOT EXISTS log (id INTEGER PRIMARY KEY, v BLOB NOT NULL)')
    else db.exec('CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID')
    return new SqlitePeer(db, options.mode === 'log')
  },
}

