/**
 * lmdb-js peer. Opened with `noSync: false` (the default, stated explicitly) so a write's
 * promise resolves only once its transaction is flushed to disk. On Linux lmdb-js defaults to
 * `overlappingSync: true`: the commit and the flush are decoupled, but without `separateFlushed`
 * the promise returned by `put` still waits for the flush. lmdb-js batches all puts issued in
 * the same event turn into one transaction (`eventTurnBatching`), so concurrent puts share one
 * commit + flush: its own group commit.
 */
import { open, type RootDatabase } from 'lmdb'
import type { Entry, Peer, PeerFactory, PeerOpenOptions } from './peer.js'

class LmdbPeer implements Peer {
  readonly name = 'lmdb'
  readonly note = 'noSync:false, overlappingSync (default on Linux): put resolves after flush; puts in one event turn share a transaction'
  readonly concurrentWrites = true
  readonly #db: RootDatabase<Buffer, Buffer>

  constructor(db: RootDatabase<Buffer, Buffer>) {
    this.#db = db
  }

  async durablePut(key: Uint8Array, value: Uint8Array): Promise<void> {
    await this.#db.put(key as Buffer, value as Buffer)
  }

  async durablePutBatch(entries: readonly Entry[]): Promise<void> {
    await this.#db.batch(() => {
      for (const [k, v] of entries) void this.#db.put(k as Buffer, v as Buffer)
    })
  }

  async load(entries: readonly Entry[]): Promise<void> {
    const chunk = 100_000
    for (let i = 0; i < entries.length; i += chunk) {
      this.#db.transactionSync(() => {
        for (let j = i; j < Math.min(entries.length, i + chunk); j++) this.#db.putSync(entries[j]![0] as Buffer, entries[j]![1] as Buffer)
      })
    }
  }

  get(key: Uint8Array): Uint8Array | undefined {
    return this.#db.get(key as Buffer)
  }

  async scan(options: { gte?: Uint8Array; lt?: Uint8Array; limit?: number }, visit: (key: Uint8Array, value: Uint8Array) => void): Promise<number> {
    let n = 0
    const range = this.#db.getRange({
      ...(options.gte && { start: options.gte as Buffer }),
      ...(options.lt && { end: options.lt as Buffer }),
      ...(options.limit !== undefined && { limit: options.limit }),
    })
    for (const { key, value } of range) {
      visit(key, value)
      n++
    }
    return n
  }

  async close(): Promise<void> {
    await this.#db.close()
  }
}

export const lmdbPeer: PeerFactory = {
  name: 'lmdb',
  async open(dir: string, _options: PeerOpenOptions): Promise<Peer> {
    const db = open<Buffer, Buffer>({
      path: dir,
      keyEncoding: 'binary',
      encoding: 'binary',
      noSync: false,
      compression: false,
      cache: false,
      mapSize: 8 * 1024 ** 3,
    })
    return new LmdbPeer(db)
  },
}
