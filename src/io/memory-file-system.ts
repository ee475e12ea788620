/**
 * An in-memory file system with a crash model as harsh as Linux (ext4, xfs), for tests of
 * durability. docs/crash-model.md says what it promises and why each rule is what a real disk does.
 *
 * Invariants of the model:
 * - what was synced (`sync` for a file's contents and size, `syncDir` for a directory's entries)
 *   survives `powerLoss()`; nothing else is promised either way: each unsynced 4 KiB page keeps
 *   its new or its old bytes, an unsynced size change may or may not persist, and a directory
 *   keeps a random prefix of its operations since its last sync (a seeded RNG decides);
 * - `processCrash()` kills every handle (EIO) and bumps `generation`, but the page cache stays:
 *   the next "process" reads what the last one wrote, synced or not;
 * - a failed writeback (`failNextSync`) marks its pages clean without persisting them, and each
 *   descriptor open on the file reports it from exactly one later `sync` (Linux errseq).
 */
import { posix } from 'node:path'
import type { FileHandle, FileStat, FileSystem, OpenMode } from './file-system.js'
import { DirNode, FileNode, type PowerLossKeep } from './memory-nodes.js'
import { defaultSeed, type SeededRandom, seededRandom } from './seeded-random.js'

export { pageBytes, type PowerLossKeep } from './memory-nodes.js'

function sysError(code: string, message: string): NodeJS.ErrnoException {
  const e = new Error(`${code}: ${message}`) as NodeJS.ErrnoException
  e.code = code
  return e
}

class MemoryFileHandle implements FileHandle {
  readonly path: string
  readonly #fs: MemoryFileSystem
  readonly #node: FileNode
  readonly #generation: number
  readonly #writable: boolean
  /** errseq: the file's error count this descriptor has reported (or sampled at open). */
  #errorsSeen: number
  #syncsInFlight = 0
  #closed = false

  constructor(fs: MemoryFileSystem, path: string, node: FileNode, writable: boolean) {
    this.#fs = fs
    this.path = path
    this.#node = node
    this.#writable = writable
    this.#generation = fs.generation
    // errseq_sample: an error no descriptor has reported yet is reported to this one too.
    this.#errorsSeen = node.errorSeen ? node.errors : 0
  }

  #check(write: boolean): void {
    if (this.#closed) throw sysError('EBADF', `${this.path} is closed`)
    if (this.#generation !== this.#fs.generation) throw sysError('EIO', `${this.path}: the process that opened it crashed`)
    if (write && !this.#writable) throw sysError('EBADF', `${this.path} is read-only`)
  }

  async read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    return this.readSync(buffer, offset, length, position)
  }

  readSync(buffer: Uint8Array, offset: number, length: number, position: number): number {
    this.#check(false)
    const n = Math.max(0, Math.min(length, this.#node.length - position))
    buffer.set(this.#node.data.subarray(position, position + n), offset)
    return n
  }

  async write(data: Uint8Array, position: number): Promise<void> {
    this.#check(true)
    this.#node.write(data, position)
    this.#node.mtimeMs = this.#fs.now()
  }

  async append(data: Uint8Array): Promise<void> {
    await this.write(data, this.#node.length)
  }

  async truncate(size: number): Promise<void> {
    this.#check(true)
    this.#node.truncate(size)
    this.#node.mtimeMs = this.#fs.now()
  }

  async sync(): Promise<void> {
    this.#check(false)
    this.#syncsInFlight += 1
    try {
      await this.#writeback()
      // A crash between the writeback and this check killed the caller: a dead process learns
      // nothing, least of all that a sync whose pages the crash or a failed writeback lost is done.
      this.#check(false)
      // file_check_and_advance_wb_err: one report per descriptor per error. Of several syncs in
      // flight on this descriptor, whichever checks first takes it, in no order the caller can
      // rely on: the model lets a later one take it (the earlier then succeeds) at random.
      if (this.#node.errors !== this.#errorsSeen && !(this.#syncsInFlight > 1 && this.#fs.coin())) {
        this.#errorsSeen = this.#node.errors
        this.#node.errorSeen = true
        throw sysError('EIO', `${this.path}: writeback failed, data written since the last successful sync may be lost`)
      }
    } finally {
      this.#syncsInFlight -= 1
    }
  }

  async #writeback(): Promise<void> {
    const node = this.#node
    const gate = this.#fs.syncGate(false)
    if (gate === undefined && node.inflight.size === 0) {
      node.finishWriteback(node.startWriteback(false), this.#fs.takeFailure(node))
      return
    }
    // Pages under an earlier writeback are not written again: this sync waits for it instead
    // (filemap_fdatawait), and that writeback's failure is this sync's failure too.
    const earlier = [...node.inflight].map((wb) => wb.done)
    const writeback = node.startWriteback(true)
    if (gate !== undefined) await gate
    if (this.#generation !== this.#fs.generation) {
      node.finishWriteback(writeback, 'abandoned')
      throw sysError('EIO', `${this.path}: the process crashed during sync`)
    }
    node.finishWriteback(writeback, this.#fs.takeFailure(node))
    await Promise.all(earlier)
    if (this.#generation !== this.#fs.generation) throw sysError('EIO', `${this.path}: the process crashed during sync`)
  }

  async size(): Promise<number> {
    this.#check(false)
    return this.#node.length
  }

  async close(): Promise<void> {
    this.#closed = true
  }

  /** Makes the next writeback of this handle's file fail (see `MemoryFileSystem.failNextSync`). */
  failNextSync(): boolean {
    this.#node.failNext = true
    return true
  }
}

export interface MemoryFileSystemOptions {
  /** Seeds what survives a power loss; default `CAIRN_SEED`, else random (see `seed`). */
  seed?: number
  /** The clock of modification times, in milliseconds since the epoch; default `Date.now`. */
  now?: () => number
}

/**
 * @example
 * const fs = new MemoryFileSystem({ seed: 7 })
 * // ... run the engine on fs ...
 * fs.processCrash()   // kill -9: handles die, the page cache stays
 * fs.powerLoss()      // synced data stays; unsynced pages and entries survive at random
 * fs.powerLoss({ keep: 'synced-only' })  // the strictest outcome, for a test that needs it
 */
export class MemoryFileSystem implements FileSystem {
  /** The seed of the RNG that decides what survives power loss: rerun with it to replay. */
  readonly seed: number
  /** The clock of modification times (`FileStat.mtimeMs`). */
  readonly now: () => number
  readonly #rng: SeededRandom
  readonly #root = new DirNode()
  /** `stat`'s identities of files, given on first stat (a node is one file, whatever its names). */
  readonly #identities = new WeakMap<FileNode, string>()
  #lastIdentity = 0
  #generation = 0
  /** Gates of `holdSyncs` calls not yet released, for file syncs and directory syncs. */
  readonly #fileHolds = new Set<Promise<void>>()
  readonly #dirHolds = new Set<Promise<void>>()

  constructor(options: MemoryFileSystemOptions = {}) {
    this.seed = options.seed ?? defaultSeed()
    this.now = options.now ?? Date.now
    this.#rng = seededRandom(this.seed)
  }

  /** Bumped by each crash; handles (and in-process locks) from an older generation are dead. */
  get generation(): number {
    return this.#generation
  }

  #split(path: string): { parent: DirNode; name: string } {
    const normalized = posix.resolve('/', path)
    const name = posix.basename(normalized)
    const parent = this.#lookup(posix.dirname(normalized))
    if (!(parent instanceof DirNode)) throw sysError('ENOENT', `no directory for ${path}`)
    return { parent, name }
  }

  #lookup(path: string): FileNode | DirNode | undefined {
    const parts = posix
      .resolve('/', path)
      .split('/')
      .filter((p) => p.length > 0)
    let node: FileNode | DirNode = this.#root
    for (const part of parts) {
      if (!(node instanceof DirNode)) return undefined
      const next: FileNode | DirNode | undefined = node.entries.get(part)
      if (next === undefined) return undefined
      node = next
    }
    return node
  }

  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    const { parent, name } = this.#split(path)
    let node = parent.entries.get(name)
    if (node instanceof DirNode) throw sysError('EISDIR', path)
    if (mode === 'createNew' && node !== undefined) throw sysError('EEXIST', path)
    if ((mode === 'read' || mode === 'readWrite') && node === undefined) throw sysError('ENOENT', path)
    if (node === undefined) {
      node = new FileNode()
      node.mtimeMs = this.now()
      parent.set(name, node)
      parent.mtimeMs = node.mtimeMs
    } else if (mode === 'createOrTruncate') {
      node.truncate(0)
      node.mtimeMs = this.now()
    }
    return new MemoryFileHandle(this, posix.resolve('/', path), node, mode !== 'read')
  }

  async readFile(path: string): Promise<Uint8Array> {
    const node = this.#lookup(path)
    if (node === undefined) throw sysError('ENOENT', path)
    if (node instanceof DirNode) throw sysError('EISDIR', path)
    return node.contents().slice()
  }

  async syncDir(path: string): Promise<void> {
    const node = this.#lookup(path)
    if (!(node instanceof DirNode)) throw sysError('ENOENT', path)
    const upTo = node.syncPoint()
    const gate = this.syncGate(true)
    if (gate !== undefined) {
      const generation = this.#generation
      await gate
      if (generation !== this.#generation) throw sysError('EIO', `${path}: the process crashed during sync`)
    }
    node.finishSync(upTo)
  }

  async rename(from: string, to: string): Promise<void> {
    const source = this.#split(from)
    const node = source.parent.entries.get(source.name)
    if (node === undefined) throw sysError('ENOENT', from)
    const target = this.#split(to)
    if (source.parent === target.parent) {
      source.parent.rename(source.name, target.name, node)
    } else {
      // Across directories each side is its own directory's operation (see docs/crash-model.md).
      source.parent.delete(source.name)
      target.parent.set(target.name, node)
    }
    source.parent.mtimeMs = target.parent.mtimeMs = this.now()
  }

  async link(existing: string, newPath: string): Promise<void> {
    const node = this.#lookup(existing)
    if (node === undefined) throw sysError('ENOENT', existing)
    if (node instanceof DirNode) throw sysError('EPERM', existing)
    const target = this.#split(newPath)
    if (target.parent.entries.has(target.name)) throw sysError('EEXIST', newPath)
    target.parent.set(target.name, node)
    target.parent.mtimeMs = this.now()
  }

  async unlink(path: string): Promise<void> {
    const { parent, name } = this.#split(path)
    const node = parent.entries.get(name)
    if (node === undefined) throw sysError('ENOENT', path)
    if (node instanceof DirNode) throw sysError('EISDIR', path)
    parent.delete(name)
    parent.mtimeMs = this.now()
  }

  async mkdir(path: string, recursive = false): Promise<void> {
    const normalized = posix.resolve('/', path)
    if (normalized === '/') return
    const existing = this.#lookup(normalized)
    if (existing instanceof DirNode) return
    if (existing !== undefined) throw sysError('EEXIST', path)
    if (recursive) await this.mkdir(posix.dirname(normalized), true)
    const { parent, name } = this.#split(normalized)
    const dir = new DirNode()
    dir.mtimeMs = parent.mtimeMs = this.now()
    parent.set(name, dir)
  }

  async removeTree(path: string): Promise<void> {
    const normalized = posix.resolve('/', path)
    if (this.#lookup(normalized) === undefined) return
    const { parent, name } = this.#split(normalized)
    parent.delete(name)
    parent.mtimeMs = this.now()
  }

  async list(path: string): Promise<string[]> {
    const node = this.#lookup(path)
    if (node === undefined) throw sysError('ENOENT', path)
    if (!(node instanceof DirNode)) throw sysError('ENOTDIR', path)
    return [...node.entries.keys()].sort()
  }

  async stat(path: string): Promise<FileStat | undefined> {
    const node = this.#lookup(path)
    if (node === undefined) return undefined
    if (node instanceof DirNode) return { size: 0, isDirectory: true, mtimeMs: node.mtimeMs }
    let identity = this.#identities.get(node)
    if (identity === undefined) {
      identity = `memory:${++this.#lastIdentity}`
      this.#identities.set(node, identity)
    }
    return { size: node.length, isDirectory: false, mtimeMs: node.mtimeMs, identity }
  }

  /**
   * The next writeback of the file at `path` (the next `sync` of it, from any handle) fails like
   * a Linux writeback error: its dirty pages are marked clean without reaching the disk (reads
   * still see them until power loss), and every descriptor open on the file reports EIO from
   * exactly one later sync; a descriptor opened later reports it only if none has yet.
   */
  failNextSync(path: string): void {
    const node = this.#lookup(path)
    if (node === undefined) throw sysError('ENOENT', path)
    if (node instanceof DirNode) throw sysError('EISDIR', path)
    node.failNext = true
  }

  /**
   * The kernel's flusher writes the file's dirty pages back on its own, as it does every few
   * seconds: they become durable without any sync, or, after `failNextSync`, are dropped and the
   * error waits for a descriptor to report it (one opened later, too, if none is open).
   */
  backgroundWriteback(path: string): void {
    const node = this.#lookup(path)
    if (node === undefined) throw sysError('ENOENT', path)
    if (node instanceof DirNode) throw sysError('EISDIR', path)
    node.finishWriteback(node.startWriteback(false), this.takeFailure(node))
  }

  /** @internal A fair coin from the seeded RNG. */
  coin(): boolean {
    return this.#rng.next() < 0.5
  }

  /** @internal How the writeback of `node` ending now ends: consumes a pending `failNextSync`. */
  takeFailure(node: FileNode): 'persisted' | 'failed' {
    const failed = node.failNext
    node.failNext = false
    return failed ? 'failed' : 'persisted'
  }

  /**
   * Holds every file sync (and, with `dirs`, every directory sync) started from now on until the
   * returned function is called, so a test can act while an fsync is in flight. A sync in flight
   * when the process crashes fails with EIO and persists nothing.
   */
  holdSyncs(options: { dirs?: boolean } = {}): () => void {
    let open!: () => void
    const gate = new Promise<void>((resolve) => {
      open = resolve
    })
    this.#fileHolds.add(gate)
    if (options.dirs === true) this.#dirHolds.add(gate)
    return () => {
      this.#fileHolds.delete(gate)
      this.#dirHolds.delete(gate)
      open()
    }
  }

  /** @internal What a sync starting now waits for, or `undefined` when nothing holds it. */
  syncGate(dir: boolean): Promise<void> | undefined {
    const holds = dir ? this.#dirHolds : this.#fileHolds
    if (holds.size === 0) return undefined
    return Promise.all([...holds]).then(() => undefined)
  }

  /** The process dies (kill -9): every handle dies, in-process locks die, the page cache stays. */
  processCrash(): void {
    this.#generation += 1
  }

  /**
   * The machine loses power: `processCrash()`, then every file keeps what it synced plus, at
   * random (by `keep`, default `random`), some of its unsynced pages and size, and every
   * directory keeps what it synced plus a random prefix of its later operations.
   */
  powerLoss(options: { keep?: PowerLossKeep } = {}): void {
    const keep = options.keep ?? 'random'
    this.processCrash()
    const seen = new Set<FileNode>()
    const visit = (dir: DirNode): void => {
      dir.resolvePowerLoss(keep, this.#rng)
      for (const name of [...dir.entries.keys()].sort()) {
        const child = dir.entries.get(name)!
        if (child instanceof DirNode) visit(child)
        else if (!seen.has(child)) {
          seen.add(child)
          child.resolvePowerLoss(keep, this.#rng)
        }
      }
    }
    visit(this.#root)
  }
}
