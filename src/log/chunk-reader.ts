/**
 * Sequential reads of a file in large chunks, so that framing code can ask for "the bytes at
 * this offset" without one system call per frame. Each chunk is a fresh buffer: views handed
 * out stay valid after the reader moves on.
 */
import type { FileHandle } from '../io/file-system.js'

export const readChunkBytes = 1024 * 1024

export class ChunkReader {
  readonly #handle: FileHandle
  readonly #end: number
  #chunk = new Uint8Array(0)
  #chunkStart = 0

  /** Reads `handle` up to byte offset `end` (exclusive). */
  constructor(handle: FileHandle, end: number) {
    this.#handle = handle
    this.#end = end
  }

  get end(): number {
    return this.#end
  }

  /**
   * The loaded chunk and the index of `position` in it, with at least `length` bytes available
   * after it unless the file ends first.
   */
  async at(position: number, length: number): Promise<{ chunk: Uint8Array; index: number }> {
    const loadedEnd = this.#chunkStart + this.#chunk.length
    const inChunk = position >= this.#chunkStart && position <= loadedEnd
    const covered = inChunk && (position + length <= loadedEnd || loadedEnd >= this.#end)
    if (!covered) {
      const size = Math.max(0, Math.min(Math.max(readChunkBytes, length), this.#end - position))
      const chunk = new Uint8Array(size)
      const n = await this.#handle.read(chunk, 0, chunk.length, position)
      this.#chunk = n === chunk.length ? chunk : chunk.subarray(0, n)
      this.#chunkStart = position
    }
    return { chunk: this.#chunk, index: position - this.#chunkStart }
  }
}
