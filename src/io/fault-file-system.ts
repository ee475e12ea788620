/**
 * A file system that fails on demand, wrapping any other. Each call (of the file system or of a
 * handle it opened) is one numbered operation; a test can fail the Nth operation once or from
 * then on, or every operation a predicate picks. Used to prove that every I/O error surfaces,
 * leaves the engine consistent, and that a retry works.
 *
 * A failed operation has no effect, except a failed `sync` over a file system that models
 * writeback errors (`MemoryFileSystem`, or another `FaultFileSystem` over one): there it fails
 * the way Linux does, by failing the writeback underneath (`failNextSync`), so the dirty pages
 * are marked clean without reaching the disk and the file's other descriptors report EIO once
 * too. A later successful sync does not bring those pages back (fsyncgate). The faulted call
 * always throws; underneath, the error may instead go to another sync in flight on the same
 * descriptor, as on Linux, which then fails too.
 */
import type { FileHandle, FileStat, FileSystem, OpenMode } from './file-system.js'

export type OperationName =
  | 'open'
  | 'readFile'
  | 'syncDir'
  | 'rename'
  | 'link'
  | 'unlink'
  | 'mkdir'
  | 'removeTree'
  | 'list'
  | 'stat'
  | 'read'
  | 'write'
  | 'append'
  | 'truncate'
  | 'sync'
  | 'size'
  | 'close'

export interface Operation {
  index: number
  name: OperationName
  path: string
}

export type FaultRule = (op: Operation) => boolean

function injectedError(op: Operation): NodeJS.ErrnoException {
  const e = new Error(`EIO: injected fault at operation ${op.index} (${op.name} ${op.path})`) as NodeJS.ErrnoException
  e.code = 'EIO'
  return e
}

/** A handle (of `MemoryFileSystem`, or of a `FaultFileSystem` over one) that can fail its file's next writeback. */
interface WritebackFailing {
  /** Arms the failure; false when nothing underneath models writeback errors. */
  failNextSync(): boolean
}

function failsWriteback(handle: FileHandle): handle is FileHandle & WritebackFailing {
  return typeof (handle as Partial<WritebackFailing>).failNextSync === 'function'
}

class FaultFileHandle implements FileHandle {
  readonly path: string
  readonly #inner: FileHandle
  readonly #fs: FaultFileSystem

  constructor(fs: FaultFileSystem, inner: FileHandle) {
    this.#fs = fs
    this.#inner = inner
    this.path = inner.path
  }

  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    return this.#fs.run('read', this.path, () => this.#inner.read(buffer, offset, length, position))
  }
  /** Present when the inner handle has it; counted and faulted as a 'read'. */
  get readSync(): FileHandle['readSync'] {
    const inner = this.#inner
    if (inner.readSync === undefined) return undefined
    return (buffer, offset, length, position) => this.#fs.runSync('read', this.path, () => inner.readSync!(buffer, offset, length, position))
  }
  write(data: Uint8Array, position: number): Promise<void> {
    return this.#fs.run('write', this.path, () => this.#inner.write(data, position))
  }
  append(data: Uint8Array): Promise<void> {
    return this.#fs.run('append', this.path, () => this.#inner.append(data))
  }
  truncate(size: number): Promise<void> {
    return this.#fs.run('truncate', this.path, () => this.#inner.truncate(size))
  }
  sync(): Promise<void> {
    return this.#fs.run(
      'sync',
      this.path,
      () => this.#inner.sync(),
      async () => {
        if (failsWriteback(this.#inner) && this.#inner.failNextSync()) await this.#inner.sync()
      },
    )
  }
  /** Makes the next writeback of this file fail, when the file system underneath models it. */
  failNextSync(): boolean {
    return failsWriteback(this.#inner) && this.#inner.failNextSync()
  }
  size(): Promise<number> {
    return this.#fs.run('size', this.path, () => this.#inner.size())
  }
  close(): Promise<void> {
    // Closing always releases the inner handle, even when the fault is reported: a real close
    // that fails still frees the descriptor.
    return this.#fs.run('close', this.path, () => this.#inner.close(), () => this.#inner.close())
  }
}

/**
 * @example
 * const fs = new FaultFileSystem(new MemoryFileSystem())
 * fs.failAt(fs.count + 3)          // the third operation from now fails once
 * fs.failWhen((op) => op.name === 'sync')  // every fsync fails until fs.heal()
 */
export class FaultFileSystem implements FileSystem {
  readonly inner: FileSystem
  /** Operations run so far. */
  count = 0
  /** When set, the recent operations (for debugging a failing test). */
  trace: Operation[] | undefined
  #rules: { rule: FaultRule; once: boolean }[] = []

  constructor(inner: FileSystem) {
    this.inner = inner
  }

  /** The inner file system's crash generation (see `FileSystem.generation`). */
  get generation(): number | undefined {
    return this.inner.generation
  }

  /**
   * The inner file system's OS lock, not subject to faults: a wrapper over the real disk must
   * still exclude a plain opener of the same store (it would take a lock-file lock over).
   */
  get lockExclusive(): FileSystem['lockExclusive'] {
    return this.inner.lockExclusive?.bind(this.inner)
  }

  /** Fails operation number `index` (1-based, counting from construction). */
  failAt(index: number, options: { persistent?: boolean } = {}): void {
    const persistent = options.persistent ?? false
    this.#rules.push({ rule: (op) => (persistent ? op.index >= index : op.index === index), once: !persistent })
  }

  failWhen(rule: FaultRule, options: { once?: boolean } = {}): void {
    this.#rules.push({ rule, once: options.once ?? false })
  }

  /** Fails the next writeback of `path` in the file system underneath, if it models writeback errors. */
  failNextSync(path: string): void {
    const inner = this.inner as Partial<{ failNextSync(path: string): void }>
    if (typeof inner.failNextSync !== 'function') throw new Error(`the file system under ${path} does not model writeback errors`)
    inner.failNextSync(path)
  }

  /** Removes every fault rule. */
  heal(): void {
    this.#rules = []
  }

  async run<T>(name: OperationName, path: string, action: () => Promise<T>, onFault?: () => Promise<unknown>): Promise<T> {
    const op = this.#next(name, path)
    if (this.#faulted(op)) {
      if (onFault !== undefined) await onFault().catch(() => undefined)
      throw injectedError(op)
    }
    return await action()
  }

  /** `run` for a synchronous operation (a handle's `readSync`): numbered and faulted the same way. */
  runSync<T>(name: OperationName, path: string, action: () => T): T {
    const op = this.#next(name, path)
    if (this.#faulted(op)) throw injectedError(op)
    return action()
  }

  #next(name: OperationName, path: string): Operation {
    this.count += 1
    const op: Operation = { index: this.count, name, path }
    this.trace?.push(op)
    return op
  }

  /** Whether a rule fails `op` (a once-rule is used up). */
  #faulted(op: Operation): boolean {
    const hit = this.#rules.findIndex((r) => r.rule(op))
    if (hit < 0) return false
    if (this.#rules[hit]!.once) this.#rules.splice(hit, 1)
    return true
  }

  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    const inner = await this.run('open', path, () => this.inner.open(path, mode))
    return new FaultFileHandle(this, inner)
  }
  readFile(path: string): Promise<Uint8Array> {
    return this.run('readFile', path, () => this.inner.readFile(path))
  }
  syncDir(path: string): Promise<void> {
    return this.run('syncDir', path, () => this.inner.syncDir(path))
  }
  rename(from: string, to: string): Promise<void> {
    return this.run('rename', from, () => this.inner.rename(from, to))
  }
  link(existing: string, newPath: string): Promise<void> {
    return this.run('link', existing, () => this.inner.link(existing, newPath))
  }
  unlink(path: string): Promise<void> {
    return this.run('unlink', path, () => this.inner.unlink(path))
  }
  mkdir(path: string, recursive?: boolean): Promise<void> {
    return this.run('mkdir', path, () => this.inner.mkdir(path, recursive))
  }
  removeTree(path: string): Promise<void> {
    return this.run('removeTree', path, () => this.inner.removeTree(path))
  }
  list(path: string): Promise<string[]> {
    return this.run('list', path, () => this.inner.list(path))
  }
  stat(path: string): Promise<FileStat | undefined> {
    return this.run('stat', path, () => this.inner.stat(path))
  }
}
