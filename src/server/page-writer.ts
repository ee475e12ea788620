/**
 * A page of a read as JSON text, bounded by bytes as well as by count: items are encoded one
 * by one and the page stops before the item that would take it past `bytesMax` (the first item
 * always fits, so a reader always moves on; bytes are encoded so that an item is at most 4/3 of
 * the record or value, see bytesField). The text is built once, never a giant object
 * stringified at the end (which failed with "Invalid string length" past V8's string limit).
 * Every byte kept is first reserved with `reserve` (the server's bound on pages being built at
 * once), which throws to refuse the read.
 */
export class PageWriter {
  readonly #bytesMax: number
  readonly #reserve: (bytes: number) => void
  readonly #parts: string[] = []
  #bytes = 0

  constructor(bytesMax: number, reserve: (bytes: number) => void = () => {}) {
    this.#bytesMax = bytesMax
    this.#reserve = reserve
  }

  get count(): number {
    return this.#parts.length
  }

  /** Bytes of the largest item so far (at least 1), to size the next read. */
  largest = 1

  /** Adds `item` unless the page is non-empty and would go past its bound; false: the page is full. */
  add(item: unknown): boolean {
    const part = JSON.stringify(item)
    const size = Buffer.byteLength(part) + 1
    if (this.#parts.length > 0 && this.#bytes + size > this.#bytesMax) return false
    this.#reserve(size)
    this.#parts.push(part)
    this.#bytes += size
    if (size > this.largest) this.largest = size
    return true
  }

  /** Bytes still free in the page. */
  get room(): number {
    return Math.max(0, this.#bytesMax - this.#bytes)
  }

  /** `{"<field>":[...items],"next":...}` (next left out when undefined). */
  text(field: string, next: unknown): string {
    const tail = next === undefined ? '' : `,"next":${JSON.stringify(next)}`
    return `{${JSON.stringify(field)}:[${this.#parts.join(',')}]${tail}}`
  }
}
