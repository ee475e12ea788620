/**
 * The version set: the tree's current version (see version.ts), the edits that replace it, and
 * the life of table files. An edit is installed by writing the manifest of the resulting
 * version durably, then swapping it in; a table file is deleted once no version holds it (the
 * current one, a read snapshot's, an in-flight read's or scan's, or one retained by `retain()`).
 * A tree gets its set from `openVersionSet`: recovery (tree-open.ts), then the set built on it.
 *
 * Invariants:
 * - installs are serialized, and each one's manifest is durable before the version it
 *   describes becomes current; durableLsn only grows;
 * - a table file is referenced by a manifest only after it was fsynced, renamed into place and
 *   its directory fsynced (table-output.ts); published files are never rewritten;
 * - a table file is deleted only when no version holds it, and, when it came from a failed
 *   attempt (an orphan), only after a later manifest that does not list it was durably written;
 * - a read-only set (another process owns the directory) never writes or deletes anything, and
 *   neither does a closed one.
 */
import { posix } from 'node:path'
import { assert } from '../io/assert.js'
import { atomicWriteFile } from '../io/atomic-write.js'
import { CairnError, CorruptionError } from '../io/errors.js'
import type { FileSystem } from '../io/file-system.js'
import { encodeManifest, type ManifestData, type ManifestTable, manifestFileName } from './manifest.js'
import { fragmentTombstones, liveTombstones } from './range-tombstones.js'
import type { BlockCache, TableInfo } from './table/index.js'
import { Table, tableFileName } from './table/index.js'
import { closeAll, type OpenedState, openOwned, openReadOnly, sortLevels } from './tree-open.js'
import type { RangeTombstone } from './types.js'
import { Version } from './version.js'

/** A change to the current version: tables added and removed, flushed tombstones, a new durable LSN. */
export interface VersionEdit {
  added: { level: number; table: Table }[]
  removed: Set<number>
  tombstones: readonly RangeTombstone[]
  durableLsn: number
}

/** One table file of a retained version. */
export interface RetainedTable {
  /** The file's path (as the tree's `dir` was given: absolute when it was). */
  path: string
  /** The file's name in the state directory (what the manifest refers to). */
  name: string
  bytes: number
  level: number
}

/**
 * The files of a retained version, kept on disk until `release()` (for checkpoints and backups):
 * copy `tables` and write `manifest` under `manifestName` into an empty directory, and opening
 * that directory gives exactly this state, durable up to `durableLsn`.
 */
export interface RetainedVersion {
  /** Every effect of every LSN <= durableLsn is in these files: replay the log from durableLsn + 1. */
  durableLsn: number
  tables: RetainedTable[]
  /** Paths of the table files (`tables[i].path`). */
  files: string[]
  /** Manifest bytes describing exactly these files (not necessarily what MANIFEST holds now). */
  manifest: Uint8Array
  /** The file name the manifest goes under in a state directory. */
  manifestName: string
  /** Unpins the files (idempotent): those no other version holds are deleted. */
  release(): void
}

export class VersionSet {
  readonly #fs: FileSystem
  readonly #dir: string
  readonly #cache: BlockCache
  readonly #readOnly: boolean
  readonly #onTombstonesChanged: () => void
  #current: Version
  #nextTableId: number
  #closed = false
  #installChain: Promise<void> = Promise.resolve()
  /** Paths from failed attempts: deleted after the next durable manifest write. */
  #orphans: string[] = []
  #pendingDeletes = new Set<Promise<void>>()
  /** Every table open, whether in the current version or pinned by an older one. */
  #openTables = new Set<Table>()

  /**
   * Takes over the tables `state` opened (throws, leaving them to the caller, when they do not
   * form a valid version). `onTombstonesChanged` runs when an install changes the flushed range
   * tombstones (the tree caches the set of all tombstones).
   */
  constructor(fs: FileSystem, dir: string, cache: BlockCache, readOnly: boolean, state: OpenedState, onTombstonesChanged: () => void) {
    this.#fs = fs
    this.#dir = dir
    this.#cache = cache
    this.#readOnly = readOnly
    this.#onTombstonesChanged = onTombstonesChanged
    this.#nextTableId = state.nextTableId
    const version = new Version(state.levels, state.data.tombstones, state.data.durableLsn, state.nextTableId, (t) => this.#release(t))
    this.#current = version.ref()
    for (const t of version.tables()) this.#openTables.add(t)
  }

  get current(): Version {
    return this.#current
  }

  allocateTableId(): number {
    return this.#nextTableId++
  }

  /** Table files kept only because a snapshot, scan or retained version pins them. */
  get pinnedObsoleteTableCount(): number {
    return this.#openTables.size - this.#current.tableCount
  }

  async openTable(info: TableInfo): Promise<Table> {
    const table = await Table.open(this.#fs, posix.join(this.#dir, tableFileName(info.id)), info, this.#cache)
    this.#openTables.add(table)
    return table
  }

  /** Files a failed attempt published: deleted after the next durable manifest. */
  orphan(paths: readonly string[]): void {
    this.#orphans.push(...paths)
  }

  /** A table written by a failed attempt: closed now, its file deleted after the next durable manifest. */
  async discard(table: Table): Promise<void> {
    assert(table.refs === 0, 'a discarded table is in no version')
    this.#openTables.delete(table)
    await table.close().catch(() => undefined)
    this.#orphans.push(table.path)
  }

  /**
   * Opens the tables `published` (what a table output wrote) and installs them at `level` with
   * the rest of `edit`. On failure the opened tables are discarded and every published file is
   * an orphan.
   */
  async installOutputs(
    infos: readonly TableInfo[],
    published: readonly string[],
    level: number,
    edit: Omit<VersionEdit, 'added'>,
    onInstalled?: () => void,
  ): Promise<void> {
    const tables: Table[] = []
    try {
      for (const info of infos) tables.push(await this.openTable(info))
      await this.install({ ...edit, added: tables.map((table) => ({ level, table })) }, onInstalled)
    } catch (e) {
      for (const t of tables) await this.discard(t)
      const opened = new Set(tables.map((t) => t.path))
      this.orphan(published.filter((p) => !opened.has(p)))
      throw e
    }
  }

  /**
   * Installs a version edit: writes the manifest of the resulting version durably, then swaps
   * it in (with `onInstalled` run in the same synchronous step). Serialized.
   */
  install(edit: VersionEdit, onInstalled?: () => void): Promise<void> {
    const run = this.#installChain.then(async () => {
      if (this.#closed) throw new CairnError('CLOSED', 'this state tree is closed')
      assert(!this.#readOnly, 'a read-only version set installs nothing')
      const base = this.#current
      const levels: Table[][] = base.levels.map((tables) => tables.filter((t) => !edit.removed.has(t.id)))
      for (const { level, table } of edit.added) levels[level]!.push(table)
      sortLevels(levels)
      const merged = edit.tombstones.length === 0 ? base.tombstones : fragmentTombstones([...base.tombstones, ...edit.tombstones])
      const tombstones = liveTombstones(merged, levels)
      const durableLsn = Math.max(base.durableLsn, edit.durableLsn)
      const orphans = this.#orphans
      this.#orphans = []
      try {
        await atomicWriteFile(this.#fs, posix.join(this.#dir, manifestFileName), encodeManifest(manifestOf(levels, tombstones, durableLsn, this.#nextTableId)))
      } catch (e) {
        this.#orphans.push(...orphans)
        throw e
      }
      const next = new Version(levels, tombstones, durableLsn, this.#nextTableId, (t) => this.#release(t)).ref()
      this.#current = next
      // The read set changes only when tombstones come in or go: most compactions keep it.
      if (edit.tombstones.length > 0 || tombstones.length !== base.tombstones.length) this.#onTombstonesChanged()
      onInstalled?.()
      base.unref()
      for (const path of orphans) this.#track(this.#fs.unlink(path).catch(() => undefined))
    })
    this.#installChain = run.catch(() => undefined)
    return run
  }

  /** Pins the current version's files until `release()`, with a manifest describing exactly them. */
  retain(): RetainedVersion {
    const version = this.#current.ref()
    let released = false
    const levels = version.levels.map((l) => [...l])
    const tables: RetainedTable[] = []
    levels.forEach((tablesOfLevel, level) => {
      for (const t of tablesOfLevel) tables.push({ path: t.path, name: tableFileName(t.id), bytes: t.info.bytes, level })
    })
    return {
      durableLsn: version.durableLsn,
      tables,
      files: tables.map((t) => t.path),
      manifest: encodeManifest(manifestOf(levels, [...version.tombstones], version.durableLsn, version.nextTableId)),
      manifestName: manifestFileName,
      release: () => {
        if (released) return
        released = true
        version.unref()
      },
    }
  }

  /** A table no version holds any more: close it and delete its file. */
  #release(table: Table): void {
    this.#openTables.delete(table)
    const closing = table.close().catch(() => undefined)
    // A read-only set's files belong to their owner, who deletes them; a closed one's stay for the next open.
    if (this.#closed || this.#readOnly) return
    this.#track(closing.then(() => this.#fs.unlink(table.path)).catch(() => undefined))
  }

  #track(p: Promise<void>): void {
    this.#pendingDeletes.add(p)
    void p.finally(() => this.#pendingDeletes.delete(p))
  }

  /** Resolves once every file deletion started so far has ended. */
  async settleDeletes(): Promise<void> {
    while (this.#pendingDeletes.size > 0) await Promise.all([...this.#pendingDeletes])
  }

  /** Resolves when installs and deletions in flight have settled. */
  async idle(): Promise<void> {
    await this.#installChain
    await this.settleDeletes()
  }

  /** From now on nothing is installed or deleted (the tree is closing). */
  markClosed(): void {
    this.#closed = true
  }

  /** Waits for work in flight, then closes every table. Call `markClosed()` first. */
  async close(): Promise<void> {
    assert(this.#closed, 'markClosed before close')
    await this.idle()
    for (const t of this.#openTables) await t.close().catch(() => undefined)
    this.#openTables.clear()
  }
}

function manifestOf(levels: readonly (readonly Table[])[], tombstones: RangeTombstone[], durableLsn: number, nextTableId: number): ManifestData {
  const tables: ManifestTable[] = []
  levels.forEach((tablesOfLevel, level) => {
    for (const t of tablesOfLevel) tables.push({ level, ...t.info })
  })
  return { durableLsn, nextTableId, tables, tombstones }
}

/**
 * Recovers the tree in `dir` (tree-open.ts: owned, trusted-clean or read-only) and makes its
 * version set. A manifest whose tables overlap within a level is `CORRUPT_MANIFEST`, with every
 * table it opened closed again.
 */
export async function openVersionSet(
  options: { fs: FileSystem; dir: string; readOnly: boolean; trustedClean: boolean },
  cache: BlockCache,
  onTombstonesChanged: () => void,
): Promise<VersionSet> {
  const { fs, dir, readOnly } = options
  const state = readOnly ? await openReadOnly(fs, dir, cache) : await openOwned(fs, dir, cache, options.trustedClean)
  try {
    return new VersionSet(fs, dir, cache, readOnly, state, onTombstonesChanged)
  } catch (e) {
    await closeAll(state.opened)
    throw new CorruptionError('CORRUPT_MANIFEST', `state manifest ${state.manifestPath} describes overlapping tables`, {
      context: { file: state.manifestPath },
      cause: e,
    })
  }
}
