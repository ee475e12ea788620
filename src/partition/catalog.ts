/**
 * The store's catalog: which partitions exist, their log ids, and small per-partition metadata
 * that later layers (snapshots, ingest, replication) keep here.
 *
 * Invariants:
 * - the file is replaced atomically (temp, fsync, rename, fsync dir) and carries a sha256 of its
 *   body, checked on every load: a damaged catalog is CORRUPT_CATALOG, never guessed at;
 * - updates are serialized, and the in-memory copy changes only after the new file is durable;
 * - `epoch` only grows; a later fenced backend checks it before every write.
 */
import { posix } from 'node:path'
import { atomicWriteFile } from '../io/atomic-write.js'
import { sha256Hex } from '../io/checksum.js'
import { CairnError, CorruptionError, IoError, isNotFound } from '../io/errors.js'
import type { FileSystem } from '../io/file-system.js'

export const catalogFileName = 'catalog.json'
export const catalogFormat = 'cairn-catalog'
export const catalogVersion = 1
/** The catalog is small metadata; a bound keeps a runaway writer from bloating every update. */
export const catalogBytesMax = 16 * 1024 * 1024

export interface CatalogPartition {
  logId: string
  createdAtMs: number
  /** Small durable metadata owned by higher layers, by namespace (e.g. `snapshot`, `ingest:pg`). */
  meta: Record<string, unknown>
}

export interface CatalogData {
  format: typeof catalogFormat
  version: number
  storeId: string
  createdAtMs: number
  epoch: number
  partitions: Record<string, CatalogPartition>
}

export class Catalog {
  readonly fs: FileSystem
  readonly path: string
  #data: CatalogData
  #updating: Promise<unknown> = Promise.resolve()

  private constructor(fs: FileSystem, path: string, data: CatalogData) {
    this.fs = fs
    this.path = path
    this.#data = data
  }

  /** A deep copy of the current catalog. */
  get data(): CatalogData {
    return structuredClone(this.#data)
  }

  partition(id: string): CatalogPartition | undefined {
    const entry = this.#data.partitions[id]
    return entry === undefined ? undefined : structuredClone(entry)
  }

  partitionIds(): string[] {
    return Object.keys(this.#data.partitions).sort()
  }

  static async load(fs: FileSystem, dir: string): Promise<Catalog | undefined> {
    const path = posix.join(dir, catalogFileName)
    let bytes: Uint8Array
    try {
      bytes = await fs.readFile(path)
    } catch (e) {
      if (isNotFound(e)) return undefined
      throw new IoError('read', path, e)
    }
    return new Catalog(fs, path, decodeCatalog(bytes, path))
  }

  static async create(fs: FileSystem, dir: string, storeId: string): Promise<Catalog> {
    const data: CatalogData = { format: catalogFormat, version: catalogVersion, storeId, createdAtMs: Date.now(), epoch: 0, partitions: {} }
    const path = posix.join(dir, catalogFileName)
    try {
      await atomicWriteFile(fs, path, encodeCatalog(data))
    } catch (e) {
      throw new IoError('write', path, e)
    }
    return new Catalog(fs, path, data)
  }

  /**
   * Applies `change` to a copy and makes it durable; the visible catalog changes only after.
   *
   * @example
   * await catalog.update((c) => { c.partitions.orders!.meta.snapshot = { lsn: 42 } })
   */
  update(change: (data: CatalogData) => void): Promise<void> {
    const run = this.#updating.then(async () => {
      const next = structuredClone(this.#data)
      change(next)
      const bytes = encodeCatalog(next)
      if (bytes.length > catalogBytesMax) {
        throw new CairnError('INVALID_ARGUMENT', `the catalog would exceed ${catalogBytesMax} bytes: keep per-partition metadata small`)
      }
      try {
        await atomicWriteFile(this.fs, this.path, bytes)
      } catch (e) {
        throw new IoError('write', this.path, e)
      }
      this.#data = next
    })
    this.#updating = run.catch(() => undefined)
    return run
  }
}

function encodeCatalog(data: CatalogData): Uint8Array {
  const body = JSON.stringify(data)
  return new TextEncoder().encode(JSON.stringify({ checksum: sha256Hex(body), body: data }, null, 2))
}

function decodeCatalog(bytes: Uint8Array, path: string): CatalogData {
  const damaged = (why: string, cause?: unknown) =>
    new CorruptionError('CORRUPT_CATALOG', `catalog ${path} is damaged (${why}): restore the store from a backup`, {
      context: { path },
      cause,
    })
  let parsed: { checksum?: unknown; body?: unknown }
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch (e) {
    throw damaged('not valid JSON', e)
  }
  if (typeof parsed !== 'object' || parsed === null || typeof parsed.checksum !== 'string') throw damaged('no checksum')
  if (sha256Hex(JSON.stringify(parsed.body)) !== parsed.checksum) throw damaged('checksum mismatch')
  const data = parsed.body as CatalogData
  if (data?.format !== catalogFormat) throw damaged('not a cairn catalog')
  if (data.version !== catalogVersion) {
    throw new CairnError('UNSUPPORTED_FORMAT', `catalog ${path} has version ${data.version}; this cairn reads ${catalogVersion}: upgrade cairn`, {
      context: { path, version: data.version },
    })
  }
  return data
}
