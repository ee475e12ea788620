/**
 * Merges cursors over several sources into one ordered stream holding, for each key, only the
 * version from the highest-priority source (lowest index = newest data). A binary heap orders
 * the cursors by key (in scan direction), ties broken by priority.
 *
 * Invariants: output keys strictly increase (forward) or decrease (reverse); the entry emitted
 * for a key is the one of the newest source holding it; tombstones are emitted too (the caller
 * decides what hides what). Like the cursors, `start`/`next` return a Promise only when I/O was
 * needed.
 */
import type { Cursor } from './cursor.js'
import { compareBytes } from './types.js'

export class MergeIterator {
  key: Uint8Array = new Uint8Array(0)
  seq = 0
  value: Uint8Array | undefined
  readonly #cursors: Cursor[]
  readonly #dir: number
  #heap: number[] = []

  constructor(cursors: Cursor[], reverse: boolean) {
    this.#cursors = cursors
    this.#dir = reverse ? -1 : 1
  }

  #less(a: number, b: number): boolean {
    const c = compareBytes(this.#cursors[a]!.key, this.#cursors[b]!.key) * this.#dir
    return c < 0 || (c === 0 && a < b)
  }

  #siftDown(i: number): void {
    const h = this.#heap
    for (;;) {
      const l = 2 * i + 1
      if (l >= h.length) return
      const r = l + 1
      const m = r < h.length && this.#less(h[r]!, h[l]!) ? r : l
      if (!this.#less(h[m]!, h[i]!)) return
      const t = h[i]!
      h[i] = h[m]!
      h[m] = t
      i = m
    }
  }

  #push(index: number): void {
    const h = this.#heap
    h.push(index)
    let i = h.length - 1
    while (i > 0) {
      const p = (i - 1) >>> 1
      if (!this.#less(h[i]!, h[p]!)) return
      const t = h[i]!
      h[i] = h[p]!
      h[p] = t
      i = p
    }
  }

  /** After the top cursor moved (`ok`) or ran out, restores the heap. */
  #afterAdvance(ok: boolean): void {
    const h = this.#heap
    if (ok) {
      this.#siftDown(0)
    } else {
      const last = h.pop()!
      if (h.length > 0) {
        h[0] = last
        this.#siftDown(0)
      }
    }
  }

  #settle(): boolean {
    if (this.#heap.length === 0) return false
    const c = this.#cursors[this.#heap[0]!]!
    this.key = c.key
    this.seq = c.seq
    this.value = c.value
    return true
  }

  async start(): Promise<boolean> {
    for (let i = 0; i < this.#cursors.length; i++) {
      let r = this.#cursors[i]!.start()
      if (r instanceof Promise) r = await r
      if (r) this.#push(i)
    }
    return this.#settle()
  }

  /**
   * Moves past every version of the current key. The cursor the current entry came from still
   * holds that very key object, so it is recognised without comparing bytes (an equal compare
   * reads every byte of both keys).
   */
  next(): boolean | Promise<boolean> {
    const h = this.#heap
    if (this.#cursors.length === 1) {
      // One source: its keys strictly increase (decrease), so no version to skip and no compare.
      if (h.length === 0) return false
      const r = this.#cursors[0]!.next()
      if (r instanceof Promise) return r.then((ok) => this.#afterSingle(ok))
      return this.#afterSingle(r)
    }
    const current = this.key
    while (h.length > 0) {
      const c = this.#cursors[h[0]!]!
      if (c.key !== current && compareBytes(c.key, current) !== 0) break
      const r = c.next()
      if (r instanceof Promise) return r.then((ok) => this.#nextAsync(current, ok))
      this.#afterAdvance(r)
    }
    return this.#settle()
  }

  #afterSingle(ok: boolean): boolean {
    if (!ok) this.#heap.length = 0
    return this.#settle()
  }

  async #nextAsync(current: Uint8Array, ok: boolean): Promise<boolean> {
    this.#afterAdvance(ok)
    const h = this.#heap
    while (h.length > 0) {
      const c = this.#cursors[h[0]!]!
      if (c.key !== current && compareBytes(c.key, current) !== 0) break
      let r = c.next()
      if (r instanceof Promise) r = await r
      this.#afterAdvance(r)
    }
    return this.#settle()
  }
}
