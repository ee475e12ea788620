/**
 * The real file system. Handles use raw descriptors and the callback API (one thread-pool trip
 * per call, no FileHandle bookkeeping): the log's latency is a write plus a sync, so each trip
 * counts. `sync` is fdatasync: it flushes the data and the metadata needed to read it back
 * (the size), which is all cairn relies on; `syncDir` fsyncs the directory so that new, renamed
 * and removed entries survive power loss.
 */
import fs, { promises as fsp } from 'node:fs'
import { promisify } from 'node:util'
import type { FileHandle, FileStat, FileSystem, OpenMode } from './file-system.js'
import { lockFileExclusive, nativeLocks } from './os-file-lock.js'

const flagsByMode: Record<OpenMode, string> = {
  read: 'r',
  readWrite: 'r+',
  createNew: 'wx+',
  createOrTruncate: 'w+',
}

/**
 * Writes up to this size are done with a blocking call: copying a few KiB into the page cache
 * takes microseconds, less than the thread-pool round trip it saves on every small append.
 */
export const syncWriteBytesMax = 16 * 1024

const openFd = promisify(fs.open)
const readFd = promisify(fs.read)
const writeFd = promisify(fs.write)
const fdatasyncFd = promisify(fs.fdatasync)
const fsyncFd = promisify(fs.fsync)
const ftruncateFd = promisify(fs.ftruncate)
const fstatFd = promisify(fs.fstat)
const closeFd = promisify(fs.close)

class NodeFileHandle implements FileHandle {
  readonly path: string
  readonly #fd: number

  constructor(path: string, fd: number) {
    this.path = path
    this.#fd = fd
  }

  async read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    let total = 0
    while (total < length) {
      const { bytesRead } = await readFd(this.#fd, buffer, offset + total, length - total, position + total)
      if (bytesRead === 0) break
      total += bytesRead
    }
    return total
  }

  readSync(buffer: Uint8Array, offset: number, length: number, position: number): number {
    let total = 0
    while (total < length) {
      const bytesRead = fs.readSync(this.#fd, buffer, offset + total, length - total, position + total)
      if (bytesRead === 0) break
      total += bytesRead
    }
    return total
  }

  async write(data: Uint8Array, position: number): Promise<void> {
    let done = 0
    while (done < data.length) {
      const left = data.length - done
      done +=
        left <= syncWriteBytesMax
          ? fs.writeSync(this.#fd, data, done, left, position + done)
          : (await writeFd(this.#fd, data, done, left, position + done)).bytesWritten
    }
  }

  async append(data: Uint8Array): Promise<void> {
    await this.write(data, await this.size())
  }

  async truncate(size: number): Promise<void> {
    await ftruncateFd(this.#fd, size)
  }

  async sync(): Promise<void> {
    await fdatasyncFd(this.#fd)
  }

  async size(): Promise<number> {
    return (await fstatFd(this.#fd)).size
  }

  async close(): Promise<void> {
    await closeFd(this.#fd)
  }
}

/**
 * The file system a user runs: the local disk (the default of `Store.open`). Every engine write
 * goes through this seam, so tests can swap in `MemoryFileSystem` or `FaultFileSystem` from
 * `cairn/testing`.
 *
 * @example
 * const store = await Store.open('./data', { fs: new NodeFileSystem() })
 */
export class NodeFileSystem implements FileSystem {
  /** An OS lock where the native addon loads (see os-file-lock.ts); else a lock-file protocol. */
  readonly lockExclusive =
    nativeLocks === undefined
      ? undefined
      : (path: string, owner: Uint8Array): Promise<{ release(): Promise<void> } | undefined> => lockFileExclusive(nativeLocks!, path, owner)

  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    return new NodeFileHandle(path, await openFd(path, flagsByMode[mode], 0o644))
  }

  async readFile(path: string): Promise<Uint8Array> {
    // A plain Uint8Array, not a Buffer: Buffer#slice is a view where Uint8Array#slice copies,
    // and callers of the seam must see the same semantics on every implementation.
    const b = await fsp.readFile(path)
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
  }

  async syncDir(path: string): Promise<void> {
    const fd = await openFd(path, 'r')
    try {
      await fsyncFd(fd)
    } finally {
      await closeFd(fd)
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
      // bigint: an inode number may not fit a double, and identities must not collide.
      const s = await fsp.stat(path, { bigint: true })
      return { size: Number(s.size), isDirectory: s.isDirectory(), mtimeMs: Number(s.mtimeMs), identity: `${s.dev}:${s.ino}` }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw e
    }
  }
}
