/**
 * The open partitions of a store, bounded: at most `openMax` are open (and hold descriptors and
 * memory); the least recently used idle one is closed to make room for another, which is
 * reopened on demand.
 *
 * Invariants:
 * - one open member per id: concurrent `acquire`s of an id share one open, and a reopen waits
 *   until the close of the evicted member has finished (never two members on one directory);
 * - only an idle member is closed (the member says so: nothing in flight, no reader open);
 *   the bound is soft: while every open member is busy, an open goes over it, and the excess is
 *   closed as soon as members are idle again (at the next acquire);
 * - victims are chosen in a macrotask of their own, after the microtasks of the current one: a
 *   member handed out in one turn has started its call (and is busy) before eviction looks at it;
 * - after `close()`, nothing is opened and every member is closed.
 */
import { assert } from '../io/assert.js'
import { CairnError } from '../io/errors.js'

/** What the pool asks of a member. */
export interface PoolMember {
  /** True when nothing uses the member: it may be closed. */
  readonly idle: boolean
}

interface Entry<P> {
  promise: Promise<P>
  /** Set once open. */
  member: P | undefined
}

export interface PartitionPoolOptions<P> {
  /** Open members at most (soft: see the invariants). */
  openMax: number
  /** Closes a member the pool evicts (it is no longer in the pool when this is called). */
  evict: (id: string, member: P) => Promise<void>
}

const nextMacrotask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/**
 * @example
 * const pool = new PartitionPool<Partition>({ openMax: 256, evict: (id, p) => p.close() })
 * const p = await pool.acquire('orders', () => openPartition('orders'))
 */
export class PartitionPool<P extends PoolMember> {
  readonly openMax: number
  readonly #evict: (id: string, member: P) => Promise<void>
  /** Members by id, least recently used first (a Map keeps insertion order; a use re-inserts). */
  readonly #entries = new Map<string, Entry<P>>()
  /** Evicted members still closing, by id. */
  readonly #closing = new Map<string, Promise<void>>()
  #trimScheduled = false
  #closed = false
  #evictions = 0

  constructor(options: PartitionPoolOptions<P>) {
    assert(Number.isSafeInteger(options.openMax) && options.openMax >= 1, 'openMax is a positive integer')
    this.openMax = options.openMax
    this.#evict = options.evict
  }

  /** Members open or opening. */
  get size(): number {
    return this.#entries.size
  }

  /** Members closed to make room, since the pool was made. */
  get evictions(): number {
    return this.#evictions
  }

  /** The open member of `id`, without touching its place in the order; undefined if not open. */
  peek(id: string): P | undefined {
    return this.#entries.get(id)?.member
  }

  /** Ids of members open or opening. */
  ids(): string[] {
    return [...this.#entries.keys()]
  }

  /**
   * The member of `id`: the open one (now the most recently used), or one `open` opens once
   * there is room. A failed open leaves nothing behind (the next acquire tries again).
   */
  acquire(id: string, open: () => Promise<P>): Promise<P> {
    if (this.#closed) return Promise.reject(new CairnError('CLOSED', 'the store is closed: open it again'))
    const entry = this.#entries.get(id)
    if (entry !== undefined) {
      this.#entries.delete(id)
      this.#entries.set(id, entry)
      if (this.#entries.size > this.openMax) this.#scheduleTrim()
      return entry.promise
    }
    const created: Entry<P> = { promise: undefined as unknown as Promise<P>, member: undefined }
    // In the map before the open starts: it counts against the bound from now on.
    this.#entries.set(id, created)
    created.promise = this.#open(id, created, open)
    created.promise.then(
      (member) => {
        created.member = member
      },
      () => {
        if (this.#entries.get(id) === created) this.#entries.delete(id)
      },
    )
    return created.promise
  }

  async #open(id: string, entry: Entry<P>, open: () => Promise<P>): Promise<P> {
    const closing = this.#closing.get(id)
    if (closing !== undefined) await closing
    if (this.#entries.size > this.openMax) {
      await nextMacrotask()
      const victims: Promise<void>[] = []
      while (this.#entries.size > this.openMax) {
        const victim = this.#victim(entry)
        if (victim === undefined) break
        victims.push(this.#evictEntry(victim))
      }
      // The victims' descriptors and memory are given back before this open takes its own.
      await Promise.all(victims)
    }
    if (this.#closed) throw new CairnError('CLOSED', 'the store is closed: open it again')
    return await open()
  }

  /** The least recently used idle open member, other than `except`. */
  #victim(except?: Entry<P>): string | undefined {
    for (const [id, e] of this.#entries) {
      if (e !== except && e.member !== undefined && e.member.idle) return id
    }
    return undefined
  }

  #evictEntry(id: string): Promise<void> {
    const entry = this.#entries.get(id)!
    this.#entries.delete(id)
    this.#evictions++
    // A failed close is not the next user's failure: the member is out of the pool either way,
    // and its reopen finds (and reports) any damage on disk.
    const closing = this.#evict(id, entry.member!)
      .catch(() => undefined)
      .finally(() => {
        if (this.#closing.get(id) === closing) this.#closing.delete(id)
      })
    this.#closing.set(id, closing)
    return closing
  }

  /**
   * Takes `id`'s member out of the pool (waiting for its open, if one is running) and closes it
   * with `closeMember`, busy or not: for a caller that replaces the partition (a restore). The
   * next acquire opens anew, after this close. Resolves false when `id` was not in the pool.
   */
  async remove(id: string, closeMember: (member: P) => Promise<void>): Promise<boolean> {
    const entry = this.#entries.get(id)
    if (entry === undefined) {
      await this.#closing.get(id)
      return false
    }
    this.#entries.delete(id)
    const closing = entry.promise.then(closeMember, () => undefined).finally(() => {
      if (this.#closing.get(id) === closing) this.#closing.delete(id)
    })
    this.#closing.set(id, closing)
    await closing
    return true
  }

  #scheduleTrim(): void {
    if (this.#trimScheduled) return
    this.#trimScheduled = true
    void nextMacrotask().then(() => {
      this.#trimScheduled = false
      while (!this.#closed && this.#entries.size > this.openMax) {
        const victim = this.#victim()
        if (victim === undefined) break
        void this.#evictEntry(victim)
      }
    })
  }

  /**
   * Stops opening, waits for opens in flight, and closes every member with `closeMember`;
   * resolves with the errors of the closes that failed. Idempotent.
   */
  async close(closeMember: (id: string, member: P) => Promise<void>): Promise<unknown[]> {
    this.#closed = true
    const errors: unknown[] = []
    const entries = [...this.#entries]
    this.#entries.clear()
    for (const [id, entry] of entries) {
      let member: P
      try {
        member = await entry.promise
      } catch {
        continue
      }
      try {
        await closeMember(id, member)
      } catch (e) {
        errors.push(e)
      }
    }
    await Promise.all(this.#closing.values())
    return errors
  }
}
