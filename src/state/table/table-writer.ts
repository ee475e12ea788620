/**
 * Writes one table file from entries given in strictly increasing key order.
 * Invariants: the file is written under a temp name, fsynced, then renamed to its final name;
 * the caller fsyncs the directory before any manifest references it (so a published table is
 * complete and durable). Writes go out in chunks of `writeChunkBytes` so memory stays bounded.
 */
import { posix } from 'node:path'
import { assert } from '../../io/assert.js'
import { tempSuffix } from '../../io/atomic-write.js'
import type { FileHandle, FileSystem } from '../../io/file-system.js'
import { BlockBuilder } from './block.js'
import { buildBloom, hashKey } from './bloom-filter.js'
import { encodeBloom, encodeFooter, encodeIndex, type TableInfo, tableFileName } from './table-format.js'
import { compareBytes, copyBytes } from '../types.js'

/** Pending output is written to the file once it reaches this size. */
export const writeChunkBytes = 256 * 1024

export class TableWriter {
  readonly id: number
  readonly path: string
  readonly #fs: FileSystem
  readonly #handle: FileHandle
  readonly #blockBytes: number
  readonly #block: BlockBuilder
  #pending: Buffer[] = []
  #pendingBytes = 0
  #written = 0
  #lastKeys: Uint8Array[] = []
  #offsets: number[] = []
  #lengths: number[] = []
  #hashes = new Uint32Array(1024)
  #entries = 0
  #smallest: Uint8Array | undefined
  #last: Uint8Array | undefined
  #minSeq = Number.MAX_SAFE_INTEGER
  #maxSeq = 0
  #done = false

  private constructor(fs: FileSystem, handle: FileHandle, id: number, path: string, blockBytes: number) {
    this.#fs = fs
    this.#handle = handle
    this.id = id
    this.path = path
    this.#blockBytes = blockBytes
    this.#block = new BlockBuilder(blockBytes * 2)
  }

  static async create(fs: FileSystem, dir: string, id: number, blockBytes: number): Promise<TableWriter> {
    assert(blockBytes >= 64, 'blockBytes is at least 64')
    const path = posix.join(dir, tableFileName(id))
    const handle = await fs.open(path + tempSuffix, 'createOrTruncate')
    return new TableWriter(fs, handle, id, path, blockBytes)
  }

  get entries(): number {
    return this.#entries
  }

  /** Bytes of the file so far (written, pending and the open block). */
  get estimatedBytes(): number {
    return this.#written + this.#pendingBytes + this.#block.estimatedBytes
  }

  /** Adds one entry; resolves when any chunk it filled was written. Returns undefined when nothing had to be written. */
  add(key: Uint8Array, seq: number, value: Uint8Array | undefined): Promise<void> | undefined {
    assert(!this.#done, 'add after finish')
    assert(this.#last === undefined || compareBytes(this.#last, key) < 0, 'table keys strictly increase')
    if (this.#smallest === undefined) this.#smallest = copyBytes(key)
    this.#last = key
    if (this.#entries === this.#hashes.length) {
      const next = new Uint32Array(this.#hashes.length * 2)
      next.set(this.#hashes)
      this.#hashes = next
    }
    this.#hashes[this.#entries] = hashKey(key)
    this.#entries++
    if (seq < this.#minSeq) this.#minSeq = seq
    if (seq > this.#maxSeq) this.#maxSeq = seq
    this.#block.add(key, seq, value)
    if (this.#block.estimatedBytes >= this.#blockBytes) {
      this.#finishBlock()
      if (this.#pendingBytes >= writeChunkBytes) return this.#writePending()
    }
    return undefined
  }

  #finishBlock(): void {
    const bytes = this.#block.finish()
    this.#lastKeys.push(copyBytes(this.#last!))
    this.#offsets.push(this.#written + this.#pendingBytes)
    this.#lengths.push(bytes.length)
    this.#pending.push(bytes)
    this.#pendingBytes += bytes.length
  }

  async #writePending(): Promise<void> {
    if (this.#pendingBytes === 0) return
    const data = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending, this.#pendingBytes)
    const at = this.#written
    this.#pending = []
    this.#written += this.#pendingBytes
    this.#pendingBytes = 0
    await this.#handle.write(data, at)
  }

  /**
   * Writes index, bloom and footer, fsyncs, closes and renames to the final name. The caller
   * must fsync the directory. `tombstoneLsn`: see TableInfo.
   */
  async finish(tombstoneLsn: number): Promise<TableInfo> {
    assert(this.#entries > 0, 'a table holds at least one entry')
    assert(!this.#done, 'finish twice')
    this.#done = true
    if (this.#block.count > 0) this.#finishBlock()
    const indexOffset = this.#written + this.#pendingBytes
    const index = encodeIndex({ smallest: this.#smallest!, lastKeys: this.#lastKeys, offsets: this.#offsets, lengths: this.#lengths })
    const { bits, probes } = buildBloom(this.#hashes, this.#entries)
    const bloom = encodeBloom(bits, probes)
    const footer = encodeFooter({
      indexOffset,
      indexLength: index.length,
      bloomLength: bloom.length,
      entryCount: this.#entries,
      minSeq: this.#minSeq,
      maxSeq: this.#maxSeq,
    })
    this.#pending.push(index, bloom, footer)
    this.#pendingBytes += index.length + bloom.length + footer.length
    await this.#writePending()
    await this.#handle.sync()
    await this.#handle.close()
    await this.#fs.rename(this.path + tempSuffix, this.path)
    return {
      id: this.id,
      bytes: this.#written,
      entries: this.#entries,
      smallest: this.#smallest!,
      largest: this.#lastKeys[this.#lastKeys.length - 1]!,
      minSeq: this.#minSeq,
      maxSeq: this.#maxSeq,
      tombstoneLsn,
    }
  }

  /** Gives up: closes and removes the temp file (best effort: a leftover is removed at next open). */
  async abort(): Promise<void> {
    this.#done = true
    await this.#handle.close().catch(() => undefined)
    await this.#fs.unlink(this.path + tempSuffix).catch(() => undefined)
  }
}
