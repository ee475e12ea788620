/**
 * New partitions' catalog entries, written together: creations that arrive while a catalog
 * write runs go into the next write, one for all of them (a thousand concurrent creations cost
 * a few catalog writes, not a thousand).
 *
 * Invariants: an entry's creation resolves only once a catalog write holding it is durable, and
 * fails with that write's error otherwise; writes are serialized (the catalog's own rule).
 */
import type { Catalog, CatalogPartition } from './catalog.js'

interface Registration {
  id: string
  entry: CatalogPartition
  done: (e?: unknown) => void
}

/**
 * @example
 * const registrations = new CatalogRegistrations(catalog)
 * await registrations.add('orders', newCatalogPartition(logId))
 */
export class CatalogRegistrations {
  readonly #catalog: Catalog
  #pending: Registration[] = []
  #writing = false

  constructor(catalog: Catalog) {
    this.#catalog = catalog
  }

  /** Adds `entry` as partition `id`; resolves once it is in the catalog on disk. */
  add(id: string, entry: CatalogPartition): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ id, entry, done: (e) => (e === undefined ? resolve() : reject(e)) })
      void this.#write()
    })
  }

  async #write(): Promise<void> {
    if (this.#writing) return
    this.#writing = true
    try {
      while (this.#pending.length > 0) {
        const batch = this.#pending
        this.#pending = []
        try {
          await this.#catalog.update((c) => {
            for (const r of batch) c.partitions[r.id] = r.entry
          })
          for (const r of batch) r.done()
        } catch (e) {
          for (const r of batch) r.done(e)
        }
      }
    } finally {
      this.#writing = false
    }
  }
}
