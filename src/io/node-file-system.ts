/**
 * The real file system, on `node:fs/promises`. `sync` is fsync (not fdatasync: a log append
 * grows the file and its size must be durable too); `syncDir` fsyncs the directory so that new,
 * renamed and removed entries survive power loss.
 */
import { promises as fsp } from 'node:fs'
import type { FileHandle, FileStat, FileSystem, OpenMode } from './file-system.js'

const flagsByMode: Record<OpenMode, string> = {
  read: 'r',
  readWrite: 'r+',
  createNew: 'wx+',
  createOrTruncate: 'w+',
}

class NodeFileHandle implements FileHandle {
  readonly path: string
  readonly #handle: fsp.FileHandle

  constructor(path: string, handle: fsp.FileHandle) {
    this.path = path
    this.#handle = handle
  }

  async read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    let total = 0
    while (total < length) {
      const { bytesRead } = await this.#handle.read(buffer, offset + total, length - total, position + total)
      if (bytesRead === 0) break
      total += bytesRead
    }
    return total
  }

  async write(data: Uint8Array, position: number): Promise<void> {
    let done = 0
    while (done < data.length) {
      const { bytesWritten } = await this.#handle.write(data, done, data.length - done, position + done)
      done += bytesWritten
    }
  }

  async append(data: Uint8Array): Promise<void> {
    await this.write(data, await this.size())
  }

  async truncate(size: number): Promise<void> {
    await this.#handle.truncate(size)
  }

  async sync(): Promise<void> {
    await this.#handle.sync()
  }

  async size(): Promise<number> {
    return (await this.#handle.stat()).size
  }

  async close(): Promise<void> {
    await this.#handle.close()
  }
}

/** The file system a user runs: the local disk. */
export class NodeFileSystem implements FileSystem {
  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    return new NodeFileHandle(path, await fsp.open(path, flagsByMode[mode], 0o644))
  }

  async readFile(path: string): Promise<Uint8Array> {
    // A plain Uint8Array, not a Buffer: Buffer#slice is a view where Uint8Array#slice copies,
    // and callers of the seam must see the same semantics on every implementation.
    const b = await fsp.readFile(path)
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
  }

  async syncDir(path: string): Promise<void> {
    const handle = await fsp.open(path, 'r')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  }

  async rename(from: string, to: string): Promise<void> {
    await fsp.rename(from, to)
  }

  async link(existing: string, newPath: string): Promise<void> {
    await fsp.link(existing, newPath)
  }

  async unlink(path: string): Promise<void> {
    await fsp.unlink(path)
  }

  async mkdir(path: string, recursive = false): Promise<void> {
    try {
      await fsp.mkdir(path, { recursive })
    } catch (e) {
      // An existing directory is fine; an existing file is not (it stays EEXIST, as in memory).
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || !(await fsp.stat(path)).isDirectory()) throw e
    }
  }

  async removeTree(path: string): Promise<void> {
    await fsp.rm(path, { recursive: true, force: true })
  }

  async list(path: string): Promise<string[]> {
    return (await fsp.readdir(path)).sort()
  }

  async stat(path: string): Promise<FileStat | undefined> {
    try {
      const s = await fsp.stat(path)
      return { size: s.size, isDirectory: s.isDirectory() }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw e
    }
  }
}
