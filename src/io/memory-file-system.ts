/**
 * An in-memory file system that models what survives power loss, for tests of semantics.
 *
 * Invariants of the model (stricter than ext4, on purpose):
 * - a file's contents survive `powerLoss()` only as of its last `sync()`;
 * - a directory entry (create, rename, unlink, link, mkdir) survives only as of the last
 *   `syncDir()` of the directory holding it, so a file created and synced but whose directory
 *   was never synced is gone;
 * - after `powerLoss()` every handle opened before it fails with EIO.
 */
import { posix } from 'node:path'
import type { FileHandle, FileStat, FileSystem, OpenMode } from './file-system.js'

class FileNode {
  data = new Uint8Array(0)
  length = 0
  durable = new Uint8Array(0)

  ensureCapacity(size: number): void {
    if (size <= this.data.length) return
    const next = new Uint8Array(Math.max(size, this.data.length * 2, 256))
    next.set(this.data.subarray(0, this.length))
    this.data = next
  }

  contents(): Uint8Array {
    return this.data.subarray(0, this.length)
  }
}

class DirNode {
  entries = new Map<string, FileNode | DirNode>()
  durable = new Map<string, FileNode | DirNode>()
}

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
  #closed = false

  constructor(fs: MemoryFileSystem, path: string, node: FileNode, writable: boolean) {
    this.#fs = fs
    this.path = path
    this.#node = node
    this.#writable = writable
    this.#generation = fs.generation
  }

  #check(write: boolean): void {
    if (this.#closed) throw sysError('EBADF', `${this.path} is closed`)
    if (this.#generation !== this.#fs.generation) throw sysError('EIO', `${this.path}: lost in power loss`)
    if (write && !this.#writable) throw sysError('EBADF', `${this.path} is read-only`)
  }

  async read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    this.#check(false)
    const n = Math.max(0, Math.min(length, this.#node.length - position))
    buffer.set(this.#node.data.subarray(position, position + n), offset)
    return n
  }

  async write(data: Uint8Array, position: number): Promise<void> {
    this.#check(true)
    const node = this.#node
    const end = position + data.length
    node.ensureCapacity(end)
    if (position > node.length) node.data.fill(0, node.length, position)
    node.data.set(data, position)
    node.length = Math.max(node.length, end)
  }

  async append(data: Uint8Array): Promise<void> {
    await this.write(data, this.#node.length)
  }

  async truncate(size: number): Promise<void> {
    this.#check(true)
    const node = this.#node
    node.ensureCapacity(size)
    if (size > node.length) node.data.fill(0, node.length, size)
    node.length = size
  }

  async sync(): Promise<void> {
    this.#check(false)
    this.#node.durable = this.#node.contents().slice()
  }

  async size(): Promise<number> {
    this.#check(false)
    return this.#node.length
  }

  async close(): Promise<void> {
    this.#closed = true
  }
}

/**
 * @example
 * const fs = new MemoryFileSystem()
 * // ... run the engine on fs ...
 * fs.powerLoss()   // keep only what was fsynced
 */
export class MemoryFileSystem implements FileSystem {
  readonly #root = new DirNode()
  /** Bumped by `powerLoss()`; handles from an older generation are dead. */
  generation = 0

  #split(path: string): { parent: DirNode; name: string } {
    const normalized = posix.resolve('/', path)
    const name = posix.basename(normalized)
    const parent = this.#lookup(posix.dirname(normalized))
    if (!(parent instanceof DirNode)) throw sysError('ENOENT', `no directory for ${path}`)
    return { parent, name }
  }

  #lookup(path: string): FileNode | DirNode | undefined {
    const parts = posix.resolve('/', path).split('/').filter((p) => p.length > 0)
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
      parent.entries.set(name, node)
    } else if (mode === 'createOrTruncate') {
      node.length = 0
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
    node.durable = new Map(node.entries)
  }

  async rename(from: string, to: string): Promise<void> {
    const source = this.#split(from)
    const node = source.parent.entries.get(source.name)
    if (node === undefined) throw sysError('ENOENT', from)
    const target = this.#split(to)
    source.parent.entries.delete(source.name)
    target.parent.entries.set(target.name, node)
  }

  async link(existing: string, newPath: string): Promise<void> {
    const node = this.#lookup(existing)
    if (node === undefined) throw sysError('ENOENT', existing)
    if (node instanceof DirNode) throw sysError('EPERM', existing)
    const target = this.#split(newPath)
    if (target.parent.entries.has(target.name)) throw sysError('EEXIST', newPath)
    target.parent.entries.set(target.name, node)
  }

  async unlink(path: string): Promise<void> {
    const { parent, name } = this.#split(path)
    const node = parent.entries.get(name)
    if (node === undefined) throw sysError('ENOENT', path)
    if (node instanceof DirNode) throw sysError('EISDIR', path)
    parent.entries.delete(name)
  }

  async mkdir(path: string, recursive = false): Promise<void> {
    const normalized = posix.resolve('/', path)
    if (normalized === '/') return
    const existing = this.#lookup(normalized)
    if (existing instanceof DirNode) return
    if (existing !== undefined) throw sysError('EEXIST', path)
    if (recursive) await this.mkdir(posix.dirname(normalized), true)
    const { parent, name } = this.#split(normalized)
    parent.entries.set(name, new DirNode())
  }

  async removeTree(path: string): Promise<void> {
    const normalized = posix.resolve('/', path)
    if (this.#lookup(normalized) === undefined) return
    const { parent, name } = this.#split(normalized)
    parent.entries.delete(name)
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
    if (node instanceof DirNode) return { size: 0, isDirectory: true }
    return { size: node.length, isDirectory: false }
  }

  /**
   * Simulates power loss: every directory keeps only its synced entries, every file only its
   * synced contents, and every open handle dies.
   */
  powerLoss(): void {
    this.generation += 1
    const seen = new Set<FileNode>()
    const visit = (dir: DirNode): void => {
      dir.entries = new Map(dir.durable)
      for (const child of dir.entries.values()) {
        if (child instanceof DirNode) visit(child)
        else if (!seen.has(child)) {
          seen.add(child)
          child.data = child.durable.slice()
          child.length = child.data.length
        }
      }
    }
    visit(this.#root)
  }
}
