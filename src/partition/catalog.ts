/**
 * The store's catalog: which partitions exist, the chain of logs of each, where its state lives,
 * and small per-partition metadata that later layers (snapshots, ingest, replication) keep here.
 *
 * Invariants:
 * - the file is replaced atomically (temp, fsync, rename, fsync dir) and carries a sha256 of its
 *   body, checked on every load: a damaged catalog is CORRUPT_CATALOG, never guessed at;
 * - updates are serialized, and the in-memory copy changes only after the new file is durable;
 * - `epoch` only grows; a later fenced backend checks it before every write;
 * - `version` is the store's format: 1 (one `log/` per partition) is upgraded at open
 *   (store-upgrade.ts), 2 is today's, anything newer is UNSUPPORTED_FORMAT;
 * - a partition's `logs` is its chain, oldest first, with strictly increasing first LSNs; the
 *   last one is the active log (`activeLogId`), the others are sealed. Checked on every load.
 */
import { assert } from '../io/assert.js'
import { atomicWriteFile } from '../io/atomic-write.js'
import { decodeChecksummedJson, encodeChecksummedJson } from '../io/checksummed-json.js'
import { CairnError, CorruptionError, IoError, isNotFound } from '../io/errors.js'
import type { FileSystem } from '../io/file-system.js'
import { catalogFileName, isStoreFileId, StoreLayout } from './store-layout.js'

export { catalogFileName }
export const catalogFormat = 'cairn-catalog'
/** The store format this cairn writes. */
export const catalogVersion = 2
/** The format before log chains: `partitions/<id>/log/`, one `logId` per partition. */
export const catalogVersionLegacy = 1
/** The catalog is small metadata; a bound keeps a runaway writer from bloating every update. */
export const catalogBytesMax = 16 * 1024 * 1024

/** One log of a partition's chain. */
export interface CatalogLog {
  logId: string
  /** The LSN the log started at; the log before it ends at `firstLsn - 1`. */
  firstLsn: number
}

export interface CatalogPartition {
  /** The chain, oldest first; the last is the active log, the others are sealed. */
  logs: CatalogLog[]
  /** The log appends go to (always the last of `logs`). */
  activeLogId: string
  /**
   * Where the state lives: absent, `partitions/<id>/state/`; set (by a restore),
   * `partitions/<id>/states/<stateId>/state/` (see store-layout.ts).
   */
  stateId?: string
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

/** A partition entry of format 1. */
export interface CatalogPartitionLegacy {
  logId: string
  createdAtMs: number
  meta: Record<string, unknown>
}

/** A catalog of format 1 (read only by the upgrade). */
export interface CatalogDataLegacy extends Omit<CatalogData, 'partitions'> {
  partitions: Record<string, CatalogPartitionLegacy>
}

/** What is on disk: a catalog of today's format, or one the upgrade must convert first. */
export type LoadedCatalog = { version: typeof catalogVersion; catalog: Catalog } | { version: typeof catalogVersionLegacy; data: CatalogDataLegacy }

/** A new partition's entry: one log, starting at `firstLsn`. */
export function newCatalogPartition(logId: string, firstLsn = 1, stateId?: string): CatalogPartition {
  return { logs: [{ logId, firstLsn }], activeLogId: logId, ...(stateId !== undefined && { stateId }), createdAtMs: Date.now(), meta: {} }
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
    // Own properties only: `constructor` is a valid partition id and an Object.prototype member.
    return this.has(id) ? structuredClone(this.#data.partitions[id]) : undefined
  }

  /** Whether the catalog lists `id` (no copy: the write path asks this per request). */
  has(id: string): boolean {
    return Object.hasOwn(this.#data.partitions, id)
  }

  partitionIds(): string[] {
    return Object.keys(this.#data.partitions).sort()
  }

  /**
   * Loads a catalog of today's format; `undefined` when there is none. A format-1 catalog is
   * UNSUPPORTED_FORMAT here: only a store's owner upgrades it (`loadAny`).
   */
  static async load(fs: FileSystem, dir: string): Promise<Catalog | undefined> {
    const loaded = await Catalog.loadAny(fs, dir)
    if (loaded === undefined || loaded.version === catalogVersion) return loaded?.catalog
    throw new CairnError(
      'UNSUPPORTED_FORMAT',
      `the store in ${dir} has format ${catalogVersionLegacy}: open it read-write once (cairn info --data ${dir}, or Store.open) to upgrade it`,
      { context: { dir, version: catalogVersionLegacy } },
    )
  }

  /** Loads a catalog of today's format or of format 1 (for the upgrade). */
  static async loadAny(fs: FileSystem, dir: string): Promise<LoadedCatalog | undefined> {
    const path = new StoreLayout(dir).catalogFile
    let bytes: Uint8Array
    try {
      bytes = await fs.readFile(path)
    } catch (e) {
      if (isNotFound(e)) return undefined
      throw new IoError('read', path, e)
    }
    const data = decodeCatalog(bytes, path)
    if (data.version === catalogVersionLegacy) return { version: catalogVersionLegacy, data: data as unknown as CatalogDataLegacy }
    return { version: catalogVersion, catalog: new Catalog(fs, path, data) }
  }

  static create(fs: FileSystem, dir: string, storeId: string): Promise<Catalog> {
    return Catalog.replace(fs, dir, { format: catalogFormat, version: catalogVersion, storeId, createdAtMs: Date.now(), epoch: 0, partitions: {} })
  }

  /** Writes `data` as the catalog, atomically and durably, whatever was there (the upgrade's last step). */
  static async replace(fs: FileSystem, dir: string, data: CatalogData): Promise<Catalog> {
    const path = new StoreLayout(dir).catalogFile
    assertCatalog(data)
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
      assertCatalog(next)
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
  return encodeChecksummedJson(data, 2)
}

function decodeCatalog(bytes: Uint8Array, path: string): CatalogData {
  const damaged = (why: string, cause?: unknown) =>
    new CorruptionError('CORRUPT_CATALOG', `catalog ${path} is damaged (${why}): restore the store from a backup`, {
      context: { path },
      cause,
    })
  const data = decodeChecksummedJson(bytes, damaged) as CatalogData
  if (data?.format !== catalogFormat) throw damaged('not a cairn catalog')
  if (data.version === catalogVersionLegacy) return data
  if (typeof data.version !== 'number' || data.version > catalogVersion) {
    throw new CairnError(
      'UNSUPPORTED_FORMAT',
      `catalog ${path} has format version ${data.version}, newer than this cairn reads (${catalogVersion}): upgrade cairn to open this store`,
      { context: { path, version: String(data.version) } },
    )
  }
  if (data.version !== catalogVersion) throw damaged(`unknown format version ${data.version}`)
  const problem = catalogProblem(data)
  if (problem !== undefined) throw damaged(problem)
  return data
}

/** What is wrong with the shape of the catalog (each partition's chain above all), if anything. */
function catalogProblem(data: CatalogData): string | undefined {
  if (typeof data.partitions !== 'object' || data.partitions === null) return 'no partitions'
  for (const [id, entry] of Object.entries(data.partitions)) {
    const logs = entry?.logs
    if (!Array.isArray(logs) || logs.length === 0) return `partition ${id} has no log chain`
    let previous = 0
    for (const link of logs) {
      if (!isStoreFileId(link?.logId)) return `partition ${id} has a log id that is not one cairn generates`
      if (!Number.isSafeInteger(link.firstLsn) || link.firstLsn <= previous) return `partition ${id}'s log chain is not in LSN order at log ${link.logId}`
      previous = link.firstLsn
    }
    if (entry.activeLogId !== logs[logs.length - 1]!.logId) return `partition ${id}'s active log is not the last of its chain`
    if (entry.stateId !== undefined && !isStoreFileId(entry.stateId)) return `partition ${id} has a state id that is not one cairn generates`
  }
  return undefined
}

function assertCatalog(data: CatalogData): void {
  const problem = catalogProblem(data)
  assert(problem === undefined, `a catalog written is well formed (${problem})`)
}
