/**
 * The one loop that writes table files, used by flush, compaction and bulk load alike: the
 * caller feeds entries in strictly increasing key order; the output opens a table on the first
 * entry, rolls to a new one once the current table reaches `tableBytesTarget`, yields to the
 * event loop every `sliceMs` (and stops with `CLOSED` when `cancelled()` says so), and
 * `finish()` publishes what is left and fsyncs the directory.
 *
 * Invariants: every table in `infos` was written under a temp name, fsynced and renamed into
 * place, and once `finish()` resolved the directory holding them is fsynced too, so a manifest
 * may name them; `published` lists every renamed path, even when a later step fails, so the
 * caller can delete them once a manifest that does not list them is durable; `abort()` removes
 * the temp file of the table being written.
 */
import { performance } from 'node:perf_hooks'
import { CairnError } from '../io/errors.js'
import type { FileSystem } from '../io/file-system.js'
import { type TableInfo, TableWriter } from './table/index.js'

/** Entries between two looks at the clock (a power of two: the check is a mask). */
const entriesPerClockCheck = 256

export interface TableOutputOptions {
  fs: FileSystem
  dir: string
  blockBytes: number
  /** A table is finished once it reaches this size; `Infinity` writes one table (a flush). */
  tableBytesTarget: number
  /** Longest stretch on the event loop before yielding, in ms. */
  sliceMs: number
  allocateTableId: () => number
  /** Stamped on every table written (see TableInfo.tombstoneLsn). */
  tombstoneLsn: number
  /** Checked after each yield: true stops the output with `CLOSED` (the tree is closing). */
  cancelled?: () => boolean
}

export class TableOutput {
  /** Finished tables, in key order. */
  readonly infos: TableInfo[] = []
  /** Paths renamed into place (a failed caller orphans them). */
  readonly published: string[] = []
  readonly #options: TableOutputOptions
  /** One table whatever its size (a flush): no size to look at per entry. */
  readonly #unbounded: boolean
  #writer: TableWriter | undefined
  #sliceStart = performance.now()
  #counter = 0

  constructor(options: TableOutputOptions) {
    this.#options = options
    this.#unbounded = options.tableBytesTarget === Number.POSITIVE_INFINITY
  }

  /** Bytes of the finished tables. */
  get bytes(): number {
    let n = 0
    for (const info of this.infos) n += info.bytes
    return n
  }

  /**
   * Adds one entry (`value` undefined: a point tombstone). Returns a promise only when it had to
   * wait (a chunk written, a table rolled, a slice yielded): the common case costs no promise.
   */
  add(key: Uint8Array, seq: number, value: Uint8Array | undefined): Promise<void> | undefined {
    const writer = this.#writer
    if (writer === undefined) return this.#openThenAdd(key, seq, value)
    const written = writer.add(key, seq, value)
    if (written !== undefined || (!this.#unbounded && writer.estimatedBytes >= this.#options.tableBytesTarget)) return this.#afterAdd(written)
    return this.skip()
  }

  /** Counts an entry (the caller may have dropped it), yielding once the slice is used up: so a long run of drops yields too. */
  skip(): Promise<void> | undefined {
    if ((++this.#counter & (entriesPerClockCheck - 1)) !== 0 || performance.now() - this.#sliceStart <= this.#options.sliceMs) return undefined
    return this.#yield()
  }

  async #openThenAdd(key: Uint8Array, seq: number, value: Uint8Array | undefined): Promise<void> {
    const { fs, dir, blockBytes, allocateTableId } = this.#options
    this.#writer = await TableWriter.create(fs, dir, allocateTableId(), blockBytes)
    await this.add(key, seq, value)
  }

  async #afterAdd(written: Promise<void> | undefined): Promise<void> {
    if (written !== undefined) await written
    if (this.#writer!.estimatedBytes >= this.#options.tableBytesTarget) await this.#finishTable()
    await this.skip()
  }

  async #yield(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve))
    if (this.#options.cancelled?.() === true) throw new CairnError('CLOSED', 'table writing stopped: the state tree is closing')
    this.#sliceStart = performance.now()
  }

  async #finishTable(): Promise<void> {
    const writer = this.#writer!
    this.#writer = undefined
    try {
      this.infos.push(await writer.finish(this.#options.tombstoneLsn))
    } catch (e) {
      await writer.abort()
      throw e
    }
    this.published.push(writer.path)
  }

  /** Publishes the table being written, if any, and fsyncs the directory. Resolves to every table written. */
  async finish(): Promise<TableInfo[]> {
    if (this.#writer !== undefined) await this.#finishTable()
    if (this.infos.length > 0) await this.#options.fs.syncDir(this.#options.dir)
    return this.infos
  }

  /** Gives up: removes the temp file of the table being written (the published ones are the caller's). */
  async abort(): Promise<void> {
    const writer = this.#writer
    this.#writer = undefined
    await writer?.abort()
  }
}
