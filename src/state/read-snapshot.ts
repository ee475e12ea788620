/**
 * A read snapshot: a consistent view of the state at one applied LSN, stable while writes,
 * flushes and compactions go on. It holds frozen memtables (O(1) copy-on-write clones) and one
 * ref on a version, which pins that version's table files until `close()`.
 *
 * Invariants: every read returns what the state held at `lsn`; after `close()` reads fail with
 * `CLOSED` and the version ref is released exactly once (by `close()`, or, for a snapshot that
 * became garbage unclosed, by the finalization registry below).
 */
import { CairnError } from '../io/errors.js'
import { type ViewParts, viewGet, viewScan } from './read-view.js'
import type { ScanRange } from './types.js'

/**
 * The safety net for snapshots nobody closes: once one is garbage, its pin is released. The held
 * value is the close callback, which does not reference the snapshot.
 */
const unclosedSnapshots = new FinalizationRegistry<() => Promise<void>>((onClose) => void onClose().catch(() => undefined))

/**
 * A consistent view of a partition's state pinned at one LSN (`Partition.readSnapshot()`):
 * writes go on, the view does not change. Close it when done: it pins table files until then.
 *
 * @example
 * const snap = p.readSnapshot()
 * try { console.log(snap.lsn, await snap.get(key)) } finally { await snap.close() }
 */
export class ReadSnapshot {
  /** The applied LSN this snapshot shows. */
  readonly lsn: number
  readonly #view: ViewParts
  readonly #onClose: () => Promise<void>
  readonly #isTreeOpen: () => boolean
  #closed = false

  constructor(lsn: number, view: ViewParts, onClose: () => Promise<void>, isTreeOpen: () => boolean) {
    this.lsn = lsn
    this.#view = view
    this.#onClose = onClose
    this.#isTreeOpen = isTreeOpen
    unclosedSnapshots.register(this, onClose, this)
  }

  #check(): void {
    if (this.#closed) throw new CairnError('CLOSED', 'this read snapshot is closed')
    if (!this.#isTreeOpen()) throw new CairnError('CLOSED', 'the state this snapshot reads is closed')
  }

  /** @example const v = await snap.get(Buffer.from('k')) */
  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    this.#check()
    return viewGet(this.#view, key)
  }

  /** @example for await (const [k, v] of snap.scan({ gte: a, lt: b })) { ... } */
  scan(range: ScanRange = {}): AsyncIterableIterator<[Uint8Array, Uint8Array]> {
    this.#check()
    // Each iterator holds its own ref so closing the snapshot mid-scan does not unpin its files.
    const version = this.#view.version.ref()
    return viewScan(this.#view, range, () => version.unref(), this.#isTreeOpen)
  }

  /** Releases the snapshot's pins; resolves once files it alone kept alive are deleted. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    unclosedSnapshots.unregister(this)
    await this.#onClose()
  }
}
