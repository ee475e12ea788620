/**
 * classic-level (LevelDB) peer. Durable writes pass `{ sync: true }`: LevelDB appends the write
 * to its WAL and fsyncs before acknowledging. LevelDB has its own writer queue that merges
 * concurrent writes into one WAL append + fsync (a group commit), so 64 concurrent
 * `put(..., { sync: true })` share syncs.
 */
import { ClassicLevel } from 'classic-level'
import type { Entry, Peer, PeerFactory, PeerOpenOptions } from './peer.js'

class ClassicLevelPeer implements Peer {
  readonly name = 'classic-level'
  readonly note = 'put/batch with { sync: true }; LevelDB merges concurrent writers into one WAL write + fsync'
  readonly concurrentWrites = true
  readonly #db: ClassicLevel<Uint8Array, Uint8Array>

  constructor(db: ClassicLevel<Uint8Array, Uint8Array>) {
    this.#db = db
  }

  async durablePut(key: Uint8Array, value: Uint8Array): Promise<void> {
    await this.#db.put(key, value, { sync: true })
  }

  async durablePutBatch(entries: readonly Entry[]): Promise<void> {
    await this.#db.batch(
      entries.map(([key, value]) => ({ type: 'put' as const, key, value })),
      { sync: true },
    )
  }

  async load(entries: readonly Entry[]): Promise<void> {
    const chunk = 10_000
    for (let i = 0; i < entries.length; i += chunk) {
      await this.#db.batch(entries.slice(i, i + chunk).map(([key, value]) => ({ type: 'put' as const, key, value })))
    }
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return await this.#db.get(key)
  }

  async scan(options: { gte?: Uint8Array; lt?: Uint8Array; limit?: number }, visit: (key: Uint8Array, value: Uint8Array) => void): Promise<number> {
    let n = 0
    const it = this.#db.iterator({
      ...(options.gte && { gte: options.gte }),
      ...(options.lt && { lt: options.lt }),
      ...(options.limit !== undefined && { limit: options.limit }),
    })
    try {
      for (;;) {
        const batch = await it.nextv(1000)
        if (batch.length === 0) break
        for (const [k, v] of batch) visit(k, v)
        n += batch.length
      }
    } finally {
      await it.close()
    }
    return n
  }

  async close(): Promise<void> {
    await this.#db.close()
  }
}

export const classicLevelPeer: PeerFactory = {
  name: 'classic-level',
  async open(dir: string, options: PeerOpenOptions): Promise<Peer> {
    const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, {
      keyEncoding: 'view',
      valueEncoding: 'view',
      ...(options.cacheBytes !== undefined && { cacheSize: options.cacheBytes }),
    })
    await db.open()
    return new ClassicLevelPeer(db)
  },
}
