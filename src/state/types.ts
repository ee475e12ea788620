/**
 * Shared shapes of the state engine. Keys and values are byte strings ordered by unsigned byte
 * comparison; every entry carries the LSN (sequence) of the record that wrote it, so that a
 * range tombstone only hides entries older than itself, wherever they live.
 */

export type StateOp =
  | { type: 'put'; key: Uint8Array; value: Uint8Array }
  | { type: 'delete'; key: Uint8Array }
  /** Deletes every key in `[start, end)`. An empty or inverted range deletes nothing. */
  | { type: 'deleteRange'; start: Uint8Array; end: Uint8Array }

export interface ScanRange {
  gte?: Uint8Array
  gt?: Uint8Array
  lte?: Uint8Array
  lt?: Uint8Array
  reverse?: boolean
  limit?: number
}

/** A range deletion `[start, end)` written at LSN `seq`: hides entries with a lower seq. */
export interface RangeTombstone {
  start: Uint8Array
  end: Uint8Array
  seq: number
}

/** One version of one key: `value` undefined is a point tombstone (delete). */
export interface VersionedValue {
  seq: number
  value: Uint8Array | undefined
}

/** Scan bounds after normalisation: undefined key means unbounded on that side. */
export interface Bounds {
  lower: Uint8Array | undefined
  lowerInclusive: boolean
  upper: Uint8Array | undefined
  upperInclusive: boolean
}

/**
 * Unsigned byte order. A plain loop for short keys: far cheaper than the native Buffer.compare
 * call (which validates its arguments) for the 8-64 byte keys that dominate.
 */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  if (n > 64) return Buffer.compare(a, b)
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!
    if (d !== 0) return d < 0 ? -1 : 1
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1
}

/**
 * A copy of `bytes`, a plain Uint8Array that owns its bytes (small copies share a slab, see
 * SlabCopier). Not `.slice()`: on a Buffer that is a view, so a caller could write into a cached
 * block or the memtable.
 */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  if (bytes.length <= slabCopyBytesMax) return sharedCopier.copy(bytes)
  const out = new Uint8Array(bytes.length)
  out.set(bytes)
  return out
}

/** Slab size for `SlabCopier`: small copies are carved out of one allocation this big. */
export const slabBytes = 16 * 1024
/** Largest copy carved from a slab; bigger ones get their own allocation. */
export const slabCopyBytesMax = slabBytes / 16

/** Largest slab a scan's copier grows to (see SlabCopier). */
export const scanSlabBytesMax = 64 * 1024

/**
 * Copies many small byte strings cheaply: a fresh ArrayBuffer per copy costs far more than the
 * copy itself, so copies share slabs (each copy's bytes are its own; a slab lives as long as any
 * copy in it). Slabs start at `slabBytes` and double up to `slabBytesMax`: a scan, which hands
 * out two copies per entry, makes a quarter of the allocations with 64 KiB slabs, while a short
 * one allocates little. The cost: a copy a caller keeps pins its whole slab.
 */
export class SlabCopier {
  readonly #slabBytesMax: number
  #slab = new Uint8Array(0)
  #used = 0
  #nextSlabBytes = slabBytes

  constructor(slabBytesMax = slabBytes) {
    this.#slabBytesMax = slabBytesMax
  }

  copy(bytes: Uint8Array): Uint8Array {
    const n = bytes.length
    if (n > slabCopyBytesMax) {
      const out = new Uint8Array(n)
      out.set(bytes)
      return out
    }
    if (this.#used + n > this.#slab.length) {
      this.#slab = new Uint8Array(this.#nextSlabBytes)
      this.#nextSlabBytes = Math.min(2 * this.#nextSlabBytes, this.#slabBytesMax)
      this.#used = 0
    }
    const at = this.#used
    // set-at-offset and a view by constructor: measured 40% cheaper than subarray, then set.
    this.#slab.set(bytes, at)
    this.#used = at + n
    return new Uint8Array(this.#slab.buffer, at, n)
  }
}

export function boundsOf(range: ScanRange): Bounds {
  let lower: Uint8Array | undefined
  let lowerInclusive = true
  if (range.gte !== undefined) lower = range.gte
  if (range.gt !== undefined && (lower === undefined || compareBytes(range.gt, lower) >= 0)) {
    lower = range.gt
    lowerInclusive = false
  }
  let upper: Uint8Array | undefined
  let upperInclusive = true
  if (range.lte !== undefined) upper = range.lte
  if (range.lt !== undefined && (upper === undefined || compareBytes(range.lt, upper) <= 0)) {
    upper = range.lt
    upperInclusive = false
  }
  return { lower, lowerInclusive, upper, upperInclusive }
}

/** True when `key` is at or above the lower bound. */
export function aboveLower(b: Bounds, key: Uint8Array): boolean {
  if (b.lower === undefined) return true
  const c = compareBytes(key, b.lower)
  return c > 0 || (c === 0 && b.lowerInclusive)
}

/** True when `key` is at or below the upper bound. */
export function belowUpper(b: Bounds, key: Uint8Array): boolean {
  if (b.upper === undefined) return true
  const c = compareBytes(key, b.upper)
  return c < 0 || (c === 0 && b.upperInclusive)
}

/** Copier behind `copyBytes` (single-threaded: one per module instance is enough). */
const sharedCopier = new SlabCopier()
/** Copier behind `resultCopy`: its slabs hold values handed to callers and nothing else. */
const resultCopier = new SlabCopier()

/**
 * A copy of `bytes` to hand to a caller (a point read's value). Never from `copyBytes`' slabs,
 * which hold memtable keys and values: a result's `.buffer` holds only values already handed
 * out by reads, so writing anywhere into it cannot change the engine's data. (A buffer of its
 * own per value was measured at a quarter more CPU per cached point read.)
 */
export function resultCopy(bytes: Uint8Array): Uint8Array {
  return resultCopier.copy(bytes)
}
