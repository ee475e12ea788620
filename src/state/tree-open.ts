/**
 * Recovery: how a tree finds its state on disk. The owner's open (`openOwned`) makes the
 * manifest and directory durable, opens every table the manifest lists and deletes what it does
 * not list (tables a crash left unreferenced, temp files of unfinished writes). A read-only open
 * (`openReadOnly`) of a directory another process owns and writes reads the same, writes
 * nothing, and copes with the owner deleting tables as it compacts.
 *
 * Invariants:
 * - nothing is deleted or trusted before the manifest that says so is durable (owned open);
 * - a read-only open never writes, syncs, renames or deletes anything in `dir`;
 * - a read-only open returns a state that one manifest of the owner described: when a table the
 *   manifest names is gone (the owner compacted it away between our manifest read and the table
 *   open), it re-reads the manifest and starts over, at most `readOnlyOpenAttemptsMax` times.
 *   Once open, a table's descriptor keeps its file readable even after the owner deletes it.
 */
import { posix } from 'node:path'
import { atomicWriteFile, mkdirDurable, tempSuffix } from '../io/atomic-write.js'
import { CairnError, CorruptionError } from '../io/errors.js'
import type { FileSystem } from '../io/file-system.js'
import { type BlockCache, Table, tableFileName, tableFilePattern } from './table/index.js'
import { decodeManifest, encodeManifest, type ManifestData, manifestFileName } from './manifest.js'
import { compareBytes } from './types.js'
import { levelCount } from './version.js'

/** Manifest re-reads a read-only open makes when the owner keeps replacing tables under it. */
export const readOnlyOpenAttemptsMax = 8

/** What an open found: the manifest's data and its tables, opened and arranged in levels. */
export interface OpenedState {
  data: ManifestData
  levels: Table[][]
  /** Every table opened (to close them if what follows fails). */
  opened: Table[]
  nextTableId: number
  manifestPath: string
}

const emptyManifest = (): ManifestData => ({ durableLsn: 0, nextTableId: 1, tables: [], tombstones: [] })

/** Opens the state in `dir` as its owner (creating it if missing). See the header. */
export async function openOwned(fs: FileSystem, dir: string, cache: BlockCache, trustedClean = false): Promise<OpenedState> {
  // Trusted (StateOptions.trustedClean): this process made the directory and manifest durable.
  const trusted = trustedClean && (await fs.stat(dir))?.isDirectory === true
  if (!trusted) await mkdirDurable(fs, dir)
  const names = await fs.list(dir)
  const manifestPath = posix.join(dir, manifestFileName)
  let data: ManifestData
  if (trusted && names.includes(manifestFileName)) {
    data = decodeManifest(await fs.readFile(manifestPath), manifestPath)
  } else if (names.includes(manifestFileName)) {
    // A process that died after renaming the manifest into place but before fsyncing the
    // directory left it in the page cache only: make it durable (contents, entry, and the
    // directory's own entry) before trusting it, deleting what it does not list, or letting
    // the owner trim its log by its durable LSN.
    const handle = await fs.open(manifestPath, 'read')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
    await fs.syncDir(dir)
    await fs.syncDir(posix.dirname(dir))
    data = decodeManifest(await fs.readFile(manifestPath), manifestPath)
  } else {
    refuseTablesWithoutManifest(names, dir, manifestPath)
    data = emptyManifest()
    await atomicWriteFile(fs, manifestPath, encodeManifest(data))
  }
  const { levels, opened } = await openTables(fs, dir, data, manifestPath, cache)
  // Orphans: tables a crash left unreferenced, and temp files of unfinished writes.
  const live = new Set(data.tables.map((t) => tableFileName(t.id)))
  let maxId = 0
  let removed = false
  try {
    for (const name of names) {
      const m = tableFilePattern.exec(name)
      if (m !== null) maxId = Math.max(maxId, Number(m[1]))
      if ((m !== null && !live.has(name)) || (name.endsWith(tempSuffix) && name !== manifestFileName)) {
        await fs.unlink(posix.join(dir, name))
        removed = true
      }
    }
    if (removed) await fs.syncDir(dir)
  } catch (e) {
    await closeAll(opened)
    throw e
  }
  return { data, levels, opened, nextTableId: Math.max(data.nextTableId, maxId + 1), manifestPath }
}

/**
 * Opens the state in `dir`, which another process owns and may be writing, without writing
 * anything. A missing directory or manifest is an empty state (the owner has not created it
 * yet). See the header for the retry.
 */
export async function openReadOnly(fs: FileSystem, dir: string, cache: BlockCache): Promise<OpenedState> {
  const manifestPath = posix.join(dir, manifestFileName)
  for (let attempt = 1; ; attempt++) {
    const bytes = await readIfExists(fs, manifestPath)
    if (bytes === undefined) {
      if ((await fs.stat(dir)) !== undefined) refuseTablesWithoutManifest(await fs.list(dir), dir, manifestPath)
      return { data: emptyManifest(), levels: Array.from({ length: levelCount }, () => []), opened: [], nextTableId: 1, manifestPath }
    }
    const data = decodeManifest(bytes, manifestPath)
    try {
      const { levels, opened } = await openTables(fs, dir, data, manifestPath, cache)
      return { data, levels, opened, nextTableId: data.nextTableId, manifestPath }
    } catch (e) {
      // Files are immutable and the manifest is replaced atomically: if it still says the same,
      // what failed is real damage, not the owner moving on.
      const now = await readIfExists(fs, manifestPath)
      if (now !== undefined && Buffer.compare(now, bytes) === 0) throw e
      if (attempt >= readOnlyOpenAttemptsMax) {
        throw new CairnError(
          'READ_ONLY',
          `the state in ${dir} changed under a read-only open ${attempt} times in a row (its owner is compacting): retry the open`,
          { context: { dir, attempts: attempt }, cause: e },
        )
      }
    }
  }
}

function refuseTablesWithoutManifest(names: readonly string[], dir: string, manifestPath: string): void {
  if (names.some((n) => tableFilePattern.test(n))) {
    throw new CorruptionError('CORRUPT_MANIFEST', `state directory ${dir} holds table files but no manifest: restore from a snapshot or checkpoint`, {
      context: { file: manifestPath },
    })
  }
}

async function readIfExists(fs: FileSystem, path: string): Promise<Uint8Array | undefined> {
  try {
    return await fs.readFile(path)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw e
  }
}

/** Opens (and verifies) every table `data` lists, arranged in sorted levels; closes them all on failure. */
async function openTables(fs: FileSystem, dir: string, data: ManifestData, manifestPath: string, cache: BlockCache): Promise<{ levels: Table[][]; opened: Table[] }> {
  const opened: Table[] = []
  const levels: Table[][] = Array.from({ length: levelCount }, () => [])
  try {
    for (const t of data.tables) {
      if (!(t.level >= 0 && t.level < levelCount)) {
        throw new CorruptionError('CORRUPT_MANIFEST', `state manifest ${manifestPath} puts table ${t.id} at level ${t.level}`, {
          context: { file: manifestPath },
        })
      }
      const { level, ...info } = t
      const table = await Table.open(fs, posix.join(dir, tableFileName(t.id)), info, cache)
      opened.push(table)
      levels[level]!.push(table)
    }
  } catch (e) {
    await closeAll(opened)
    throw e
  }
  sortLevels(levels)
  return { levels, opened }
}

export async function closeAll(tables: Iterable<Table>): Promise<void> {
  for (const t of tables) await t.close().catch(() => undefined)
}

/** L0 newest first (by table id); deeper levels by smallest key. */
export function sortLevels(levels: Table[][]): void {
  levels[0]!.sort((a, b) => b.id - a.id)
  for (let l = 1; l < levels.length; l++) levels[l]!.sort((a, b) => compareBytes(a.info.smallest, b.info.smallest))
}
