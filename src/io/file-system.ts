/**
 * The file-system seam. All engine code reaches the disk through this interface so that tests
 * can swap in a fault-injecting implementation (`FaultFileSystem`) or one that simulates power
 * loss (`MemoryFileSystem`). Paths are absolute or relative POSIX paths, never user input:
 * callers validate names before building a path.
 *
 * Contract every implementation keeps (checked by test/io/file-system.conformance.ts):
 * - `write` writes all bytes or throws; `read` returns fewer bytes only at end of file.
 * - nothing is durable until `sync` (file contents) and `syncDir` (its directory entry); what
 *   was not synced may survive a power loss in part, or whole (docs/crash-model.md).
 * - errors from the operating system carry Node's `code` (`ENOENT`, `EEXIST`, `EIO` ...).
 */

export type OpenMode =
  /** read only; the file must exist */
  | 'read'
  /** read and write; the file must exist */
  | 'readWrite'
  /** create a new file for read and write; fails with EEXIST if it exists */
  | 'createNew'
  /** create or truncate, for read and write */
  | 'createOrTruncate'

export interface FileStat {
  size: number
  isDirectory: boolean
  /**
   * When the file's contents (a directory's entries) last changed, in milliseconds since the
   * epoch, by the wall clock (coarse: the kernel stamps it). Metadata: not made durable by
   * `sync` (fdatasync), so after power loss it may be older than the contents.
   */
  mtimeMs: number
  /**
   * Optional: which file this is (a real disk's device and inode number): two paths with one
   * identity are names of one file (hard links); two files never share one while both exist.
   */
  identity?: string
}

export interface FileHandle {
  readonly path: string
  /** Reads up to `length` bytes at `position` into `buffer` at `offset`; returns bytes read. */
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number>
  /**
   * `read` as a blocking call, for small reads likely served from the OS page cache, where a
   * thread-pool round trip costs more than the read (a point lookup's one block). It blocks the
   * event loop for the read: callers bound how long (see the state's sync-read budget).
   * Optional: a file system without it is read through `read` only.
   */
  readSync?(buffer: Uint8Array, offset: number, length: number, position: number): number
  /** Writes all of `data` at `position`. */
  write(data: Uint8Array, position: number): Promise<void>
  /** Writes all of `data` at the current end of the file. */
  append(data: Uint8Array): Promise<void>
  truncate(size: number): Promise<void>
  /**
   * Makes the file's contents durable, with the size needed to read them back: fdatasync is
   * enough (on Linux it flushes a size change with the data; it skips only metadata such as
   * mtime that reading back does not need). If it fails, what was written since the last
   * successful sync may be lost even if a later sync succeeds (see docs/crash-model.md).
   */
  sync(): Promise<void>
  size(): Promise<number>
  close(): Promise<void>
}

export interface FileSystem {
  /**
   * Set only by file systems that simulate crashes: changes with each simulated crash, so that
   * locks held by engine objects from before it are known to be dead.
   */
  readonly generation?: number | undefined
  open(path: string, mode: OpenMode): Promise<FileHandle>
  readFile(path: string): Promise<Uint8Array>
  /** Makes the directory's entries (creations, renames, removals) durable. */
  syncDir(path: string): Promise<void>
  rename(from: string, to: string): Promise<void>
  link(existing: string, newPath: string): Promise<void>
  unlink(path: string): Promise<void>
  /** Creates a directory; its parents must exist unless `recursive`. No error if it exists. */
  mkdir(path: string, recursive?: boolean): Promise<void>
  /** Removes a directory and everything below it. No error if it does not exist. */
  removeTree(path: string): Promise<void>
  /** Names in a directory, sorted. */
  list(path: string): Promise<string[]>
  /** `undefined` when the path does not exist. */
  stat(path: string): Promise<FileStat | undefined>
  /**
   * Optional: an exclusive OS-level lock, held until `release()` or until the process dies.
   * Creates `path` with `owner` as its contents (never visible empty) and locks it; `undefined`
   * when another opener holds it, in this process or another. `release()` removes the file.
   */
  lockExclusive?(path: string, owner: Uint8Array): Promise<{ release(): Promise<void> } | undefined>
}
