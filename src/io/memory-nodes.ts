/**
 * The files and directories of `MemoryFileSystem`, each holding two states: the page cache (what
 * reads see) and the disk (what survives power loss), and what separates them: dirty 4 KiB
 * pages and an unwritten size for a file, a log of entry operations for a directory.
 *
 * Invariants:
 * - a page the cache changed is in `dirty` until a writeback takes it, then in that writeback
 *   until it ends: persisted, or failed and dropped (a failed page is clean but never reaches
 *   the disk, as on Linux), or abandoned by a crash (dirty again);
 * - `sizeVersion === 0` exactly when the size on disk is the cache's size;
 * - a directory's `pending` operations are in the order they were made, and a power loss keeps
 *   a prefix of them (a journal replays in order);
 * - `resolvePowerLoss` leaves cache and disk equal, with nothing dirty or pending.
 * See docs/crash-model.md for why each rule holds on Linux.
 */
import { assert } from './assert.js'
import type { SeededRandom } from './seeded-random.js'

/** The unit in which unsynced data survives power loss, or not: a page of the page cache. */
export const pageBytes = 4096

/**
 * What a power loss keeps of what was not synced: `random` (the default) draws it, as a real disk
 * might; `synced-only` keeps nothing unsynced; `all` keeps every unsynced change.
 */
export type PowerLossKeep = 'random' | 'synced-only' | 'all'

/**
 * One writeback: the dirty pages it took when it started (they are clean, under writeback, until
 * it ends; a write meanwhile dirties them again) and the size it will write.
 */
export interface Writeback {
  pages: { page: number; bytes: Uint8Array | undefined }[]
  length: number
  sizeVersion: number
  /** Set when it has ended (persisted, failed, abandoned, or overtaken by a power loss). */
  ended: boolean
  /** Resolves when it has ended. */
  done: Promise<void>
  settle(): void
}

/** Probability that a power loss keeps none, or all, of a file's or directory's unsynced changes. */
const extremeChance = 0.25

type Choice = 'none' | 'all' | 'each'

function choose(keep: PowerLossKeep, rng: SeededRandom): Choice {
  if (keep === 'synced-only') return 'none'
  if (keep === 'all') return 'all'
  const r = rng.next()
  return r < extremeChance ? 'none' : r < 2 * extremeChance ? 'all' : 'each'
}

export class FileNode {
  /** When the contents last changed (`MemoryFileSystem`'s clock); not modeled by power loss. */
  mtimeMs = 0
  /** The page cache: what reads see. */
  data = new Uint8Array(0)
  length = 0
  /** The disk: what power loss falls back to. Its length is the size on disk. */
  durable = new Uint8Array(0)
  /** Pages changed since a writeback took them. */
  readonly dirty = new Set<number>()
  /** Writebacks started (by held syncs) and not yet ended. */
  readonly inflight = new Set<Writeback>()
  sizeVersion = 0
  #version = 0
  /** Set by `failNextSync`: the next writeback of this file fails. */
  failNext = false
  /** errseq: writeback errors recorded so far, and whether a handle has reported the latest one. */
  errors = 0
  errorSeen = false

  ensureCapacity(size: number): void {
    if (size <= this.data.length) return
    const next = new Uint8Array(Math.max(size, this.data.length * 2, 256))
    next.set(this.data.subarray(0, this.length))
    this.data = next
  }

  contents(): Uint8Array {
    return this.data.subarray(0, this.length)
  }

  #touch(from: number, to: number): void {
    if (to <= from) return
    for (let page = Math.floor(from / pageBytes); page * pageBytes < to; page++) this.dirty.add(page)
  }

  #resize(size: number): void {
    this.length = size
    this.#version += 1
    this.sizeVersion = this.#version
  }

  write(data: Uint8Array, position: number): void {
    if (data.length === 0) return
    const end = position + data.length
    this.ensureCapacity(end)
    if (position > this.length) this.data.fill(0, this.length, position)
    this.data.set(data, position)
    this.#touch(Math.min(position, this.length), end)
    if (end > this.length) this.#resize(end)
  }

  truncate(size: number): void {
    if (size === this.length) return
    this.ensureCapacity(size)
    if (size > this.length) {
      this.data.fill(0, this.length, size)
      this.#touch(this.length, size)
    }
    this.#resize(size)
  }

  /**
   * Starts a writeback: takes the dirty pages. `deferred` when it ends later (a held sync): then
   * it copies them, since the cache may change before it ends.
   */
  startWriteback(deferred: boolean): Writeback {
    const pages: Writeback['pages'] = []
    for (const page of this.dirty) {
      const start = page * pageBytes
      pages.push({ page, bytes: deferred ? this.data.slice(start, Math.min(start + pageBytes, this.length)) : undefined })
    }
    this.dirty.clear()
    let settle!: () => void
    const done = new Promise<void>((resolve) => {
      settle = resolve
    })
    const wb: Writeback = { pages, length: this.length, sizeVersion: this.sizeVersion, ended: false, done, settle }
    if (deferred) this.inflight.add(wb)
    return wb
  }

  /**
   * Ends a writeback. When it failed, its pages stay clean but never reach the disk (what Linux
   * does: the data stays readable until the page is evicted, then it is gone), and the error is
   * recorded for every open descriptor (errseq). The size is metadata, left to a later sync.
   * `abandoned`: the process died first; its pages count as unsynced again.
   */
  finishWriteback(wb: Writeback, outcome: 'persisted' | 'failed' | 'abandoned'): void {
    if (wb.ended) return
    wb.ended = true
    this.inflight.delete(wb)
    wb.settle()
    if (outcome === 'abandoned') {
      for (const { page } of wb.pages) this.dirty.add(page)
      return
    }
    if (outcome === 'failed') {
      this.errors += 1
      this.errorSeen = false
      return
    }
    if (wb.length !== this.durable.length) {
      const next = new Uint8Array(wb.length)
      next.set(this.durable.subarray(0, Math.min(wb.length, this.durable.length)))
      this.durable = next
    }
    if (this.sizeVersion === wb.sizeVersion) this.sizeVersion = 0
    for (const { page, bytes } of wb.pages) {
      const start = page * pageBytes
      const end = Math.min(start + pageBytes, wb.length)
      if (start < end) this.durable.set((bytes ?? this.data.subarray(start, end)).subarray(0, end - start), start)
    }
  }

  /**
   * Power loss: each page not yet written back (dirty, or under a writeback that has not ended)
   * independently keeps its new bytes or its old; the size on disk may or may not become the
   * cache's. Then cache and disk are the same.
   */
  resolvePowerLoss(keep: PowerLossKeep, rng: SeededRandom): void {
    assert(this.sizeVersion !== 0 || this.length === this.durable.length, 'a clean size matches the disk')
    // Page index -> its new bytes (from the page's start; zeros after them).
    const unsynced = new Map<number, Uint8Array>()
    for (const wb of this.inflight) {
      for (const { page, bytes } of wb.pages) unsynced.set(page, bytes!)
      wb.ended = true
      wb.settle()
    }
    this.inflight.clear()
    for (const page of this.dirty) {
      // A page the cache truncated away keeps what its blocks held, should the truncate be lost.
      const start = page * pageBytes
      if (start < this.length) unsynced.set(page, this.data.subarray(start, Math.min(start + pageBytes, this.length)))
    }
    const choice = unsynced.size === 0 && this.sizeVersion === 0 ? 'none' : choose(keep, rng)
    const keepSize = this.sizeVersion !== 0 && (choice === 'all' || (choice === 'each' && rng.next() < 0.5))
    const length = keepSize ? this.length : this.durable.length
    const out = new Uint8Array(length)
    out.set(this.durable.subarray(0, Math.min(length, this.durable.length)))
    if (choice !== 'none') {
      for (const page of [...unsynced.keys()].sort((a, b) => a - b)) {
        if (choice === 'each' && rng.next() < 0.5) continue
        const start = page * pageBytes
        const end = Math.min(start + pageBytes, length)
        if (start >= end) continue
        const bytes = unsynced.get(page)!.subarray(0, end - start)
        out.set(bytes, start)
        out.fill(0, start + bytes.length, end)
      }
    }
    this.durable = out
    this.data = out.slice()
    this.length = length
    this.dirty.clear()
    this.sizeVersion = 0
    this.errors = 0
    this.errorSeen = false
  }
}

type Entry = FileNode | DirNode

/** One directory operation: `name` now names `node` (or nothing); a rename also frees `from`. */
interface DirOp {
  seq: number
  name: string
  node: Entry | undefined
  from?: string
}

export class DirNode {
  /** When the entries last changed (`MemoryFileSystem`'s clock); not modeled by power loss. */
  mtimeMs = 0
  /** The entries as the page cache (the dentry cache) sees them. */
  readonly entries = new Map<string, Entry>()
  /** The entries on disk. */
  durable = new Map<string, Entry>()
  /** Operations since the last directory sync, oldest first. */
  pending: DirOp[] = []
  #seq = 0

  #record(op: Omit<DirOp, 'seq'>): void {
    this.#seq += 1
    this.pending.push({ ...op, seq: this.#seq })
  }

  set(name: string, node: Entry): void {
    this.entries.set(name, node)
    this.#record({ name, node })
  }

  delete(name: string): void {
    this.entries.delete(name)
    this.#record({ name, node: undefined })
  }

  /** A rename within this directory: one operation, so power loss keeps one name or the other. */
  rename(from: string, to: string, node: Entry): void {
    this.entries.delete(from)
    this.entries.set(to, node)
    this.#record({ name: to, node, from })
  }

  /** The operations a directory sync starting now makes durable: those up to this number. */
  syncPoint(): number {
    return this.#seq
  }

  #apply(op: DirOp): void {
    if (op.from !== undefined) this.durable.delete(op.from)
    if (op.node === undefined) this.durable.delete(op.name)
    else this.durable.set(op.name, op.node)
  }

  finishSync(upTo: number): void {
    let n = 0
    while (n < this.pending.length && this.pending[n]!.seq <= upTo) this.#apply(this.pending[n++]!)
    this.pending = this.pending.slice(n)
  }

  /** Power loss: a prefix of the pending operations reaches the disk. */
  resolvePowerLoss(keep: PowerLossKeep, rng: SeededRandom): void {
    const total = this.pending.length
    if (total > 0) {
      const choice = choose(keep, rng)
      const kept = choice === 'none' ? 0 : choice === 'all' ? total : rng.int(0, total)
      for (const op of this.pending.slice(0, kept)) this.#apply(op)
    }
    this.pending = []
    this.entries.clear()
    for (const [name, node] of this.durable) this.entries.set(name, node)
  }
}
