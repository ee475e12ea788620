/**
 * Strict verification of a checkpoint: every file against CHECKPOINT.json (missing, size,
 * SHA-256, files it does not list), then the structure (the catalog, each partition's state
 * manifest and every block of every table, every frame of every log segment, and the log of each
 * partition reaching from its state's LSN + 1 to exactly the cut's LSN). `deep` also restores
 * the checkpoint into a temporary directory beside it, opens it as a store and reads every
 * partition through (every entry and every log record), then removes it.
 *
 * Invariants:
 * - reads only (a deep verification writes only its own temporary directory, removed after);
 * - `ok` is true only when no problem was found; each problem names one file (relative to the
 *   checkpoint) and what is wrong with it; a file whose bytes do not match the manifest is
 *   reported once (as missing, size or checksum), not again for its structure;
 * - a copied active segment is checked as strictly as a sealed one: damage in it is damage, not
 *   a torn tail (a checkpoint's segments end exactly at the cut).
 */
import { posix } from 'node:path'
import { isCairnError } from '../io/errors.js'
import type { FileSystem } from '../io/file-system.js'
import { NodeFileSystem } from '../io/node-file-system.js'
import { verifySegmentFile } from '../log/index.js'
import { Catalog, type CatalogData, Store, StoreLayout } from '../partition/index.js'
import { decodeManifest, type ManifestData, manifestFileName, tableFileName, verifyTableFile } from '../state/index.js'
import { hashFile, listTree } from './checkpoint-files.js'
import { type CheckpointManifest, checkpointManifestFile, readCheckpointManifest } from './checkpoint-manifest.js'
import { prepareParent, tempDirFor } from './checkpoint-target.js'
import { restoreCheckpoint } from './restore-checkpoint.js'

export type CheckpointProblemKind = 'missing' | 'size' | 'checksum' | 'structure' | 'unexpected'

export interface CheckpointProblem {
  /** Relative to the checkpoint's root. */
  path: string
  problem: CheckpointProblemKind
  detail: string
}

export interface VerifyCheckpointOptions {
  /** Also restore into a temporary directory, open it and read everything (see the header). */
  deep?: boolean
  fs?: FileSystem
}

export interface VerifyCheckpointResult {
  ok: boolean
  problems: CheckpointProblem[]
  /** The cut CHECKPOINT.json names ({} when it is unreadable). */
  partitions: Record<string, number>
  /** Files CHECKPOINT.json lists. */
  files: number
  /** With `deep`: the entries each restored partition holds. */
  entries?: Record<string, number>
}

/**
 * @example
 * const v = await verifyCheckpoint('/backups/2026-12-01')
 * if (!v.ok) for (const p of v.problems) console.error(`${p.path}: ${p.problem} (${p.detail})`)
 */
export async function verifyCheckpoint(dir: string, options: VerifyCheckpointOptions = {}): Promise<VerifyCheckpointResult> {
  const fs = options.fs ?? new NodeFileSystem()
  const root = posix.resolve(dir)
  let manifest: CheckpointManifest
  try {
    manifest = await readCheckpointManifest(root, { fs })
  } catch (e) {
    const missing = (await fs.stat(posix.join(root, checkpointManifestFile)).catch(() => undefined)) === undefined
    return {
      ok: false,
      problems: [{ path: checkpointManifestFile, problem: missing ? 'missing' : 'checksum', detail: (e as Error).message }],
      partitions: {},
      files: 0,
    }
  }
  const problems: CheckpointProblem[] = []
  const bad = new Set<string>()
  const report = (path: string, problem: CheckpointProblemKind, detail: string): void => {
    problems.push({ path, problem, detail })
    bad.add(path)
  }
  const listed = new Map(manifest.files.map((f) => [f.path, f]))
  const tree = await listTree(fs, root)
  for (const path of tree.files) if (path !== checkpointManifestFile && !listed.has(path)) report(path, 'unexpected', 'a file CHECKPOINT.json does not list')
  for (const f of manifest.files) {
    const absolute = posix.join(root, f.path)
    const stat = await fs.stat(absolute).catch(() => undefined)
    if (stat === undefined || stat.isDirectory) report(f.path, 'missing', 'listed in CHECKPOINT.json but not there')
    else if (stat.size !== f.bytes) report(f.path, 'size', `${stat.size} bytes, CHECKPOINT.json says ${f.bytes}`)
    else {
      const sha256 = await hashFile(fs, absolute, f.bytes).catch((e: unknown) => `unreadable: ${(e as Error).message}`)
      if (sha256 !== f.sha256) report(f.path, 'checksum', `SHA-256 ${sha256} differs from CHECKPOINT.json's ${f.sha256}`)
    }
  }
  await checkStructure(fs, root, manifest, bad, report)
  const result: VerifyCheckpointResult = { ok: problems.length === 0, problems, partitions: manifest.partitions, files: manifest.files.length }
  if (options.deep === true && result.ok) result.entries = await deepCheck(fs, root, manifest, report)
  result.ok = problems.length === 0
  return result
}

type Report = (path: string, problem: CheckpointProblemKind, detail: string) => void

/** The catalog, every partition's state and log, and the log reaching the cut. */
async function checkStructure(fs: FileSystem, root: string, manifest: CheckpointManifest, bad: Set<string>, report: Report): Promise<void> {
  const catalogPath = 'catalog.json'
  if (bad.has(catalogPath)) return
  let catalog: CatalogData
  try {
    const loaded = await Catalog.load(fs, root)
    if (loaded === undefined) return report(catalogPath, 'missing', 'a checkpoint holds a catalog')
    catalog = loaded.data
  } catch (e) {
    return report(catalogPath, 'structure', (e as Error).message)
  }
  const cutIds = Object.keys(manifest.partitions).sort()
  const catalogIds = Object.keys(catalog.partitions).sort()
  if (cutIds.join('\n') !== catalogIds.join('\n')) {
    report(catalogPath, 'structure', `the catalog lists partitions [${catalogIds.join(', ')}], CHECKPOINT.json [${cutIds.join(', ')}]`)
  }
  const layout = new StoreLayout(root)
  const rel = (path: string): string => posix.relative(root, path)
  const expected = new Set<string>([catalogPath])
  for (const id of catalogIds) {
    const entry = catalog.partitions[id]!
    const cutLsn = manifest.partitions[id]
    // The state: its manifest, then every table it lists.
    const stateDir = layout.stateDir(id, entry.stateId)
    const statePath = rel(posix.join(stateDir, manifestFileName))
    expected.add(statePath)
    let state: ManifestData | undefined
    if (!bad.has(statePath)) {
      try {
        state = decodeManifest(await fs.readFile(posix.join(root, statePath)), statePath)
      } catch (e) {
        report(statePath, manifest.files.some((f) => f.path === statePath) ? 'structure' : 'missing', (e as Error).message)
      }
    }
    for (const table of state?.tables ?? []) {
      const path = rel(posix.join(stateDir, tableFileName(table.id)))
      expected.add(path)
      if (bad.has(path)) continue
      if (!manifest.files.some((f) => f.path === path)) {
        report(path, 'missing', `the state manifest of ${id} lists it but CHECKPOINT.json does not`)
        continue
      }
      await verifyTableFile(fs, posix.join(root, path), table).catch((e: unknown) => report(path, 'structure', (e as Error).message))
    }
    // The log: each log of the chain, each segment whole, dense from the state's LSN + 1 to the cut.
    let nextLsn: number | undefined
    let chainProblem: string | undefined
    for (const link of entry.logs) {
      const logDir = layout.logDir(id, link.logId)
      const prefix = `${rel(logDir)}/`
      const segments = manifest.files.filter((f) => f.path.startsWith(prefix)).map((f) => f.path)
      if (segments.length === 0) chainProblem ??= `log ${link.logId} has no segment`
      for (const path of segments) {
        expected.add(path)
        if (bad.has(path)) {
          nextLsn = undefined
          chainProblem = 'skip'
          continue
        }
        try {
          const seg = await verifySegmentFile(fs, posix.join(root, path), link.logId)
          if (nextLsn === undefined && chainProblem === undefined) {
            if (state !== undefined && seg.firstLsn > state.durableLsn + 1) chainProblem = `the log starts at LSN ${seg.firstLsn}, after the state's ${state.durableLsn} + 1`
          } else if (nextLsn !== undefined && seg.firstLsn !== nextLsn) chainProblem ??= `${path} starts at LSN ${seg.firstLsn}, not ${nextLsn}`
          nextLsn = seg.lastLsn + 1
        } catch (e) {
          report(path, 'structure', (e as Error).message)
          chainProblem = 'skip'
        }
      }
    }
    if (chainProblem === undefined && nextLsn !== undefined && cutLsn !== undefined && nextLsn - 1 !== cutLsn) {
      chainProblem = `the log of ${id} ends at LSN ${nextLsn - 1}, the cut says ${cutLsn}`
    }
    if (chainProblem !== undefined && chainProblem !== 'skip') report(rel(layout.logsDir(id)), 'structure', chainProblem)
  }
  for (const f of manifest.files) if (!expected.has(f.path) && !bad.has(f.path)) report(f.path, 'unexpected', 'listed in CHECKPOINT.json but no part of the store it describes')
}

/** Restores into a temp directory beside the checkpoint, opens it, reads everything; removes it. */
async function deepCheck(fs: FileSystem, root: string, manifest: CheckpointManifest, report: Report): Promise<Record<string, number>> {
  const target = `${root}.verify`
  await prepareParent(fs, target)
  const temp = tempDirFor(target)
  const entries: Record<string, number> = {}
  try {
    await restoreCheckpoint(root, temp, { fs, verified: true })
    const store = await Store.open(temp, { fs, create: false })
    try {
      for (const [id, cutLsn] of Object.entries(manifest.partitions)) {
        try {
          const p = await store.partition(id)
          if (p.lastLsn !== cutLsn || p.appliedLsn !== cutLsn) {
            report(checkpointManifestFile, 'structure', `partition ${id} restores at LSN ${p.lastLsn} (applied ${p.appliedLsn}), the cut says ${cutLsn}`)
          }
          let count = 0
          for await (const _ of p.scan()) count++
          entries[id] = count
          let records = 0
          for await (const batch of p.readBatches({ fromLsn: p.firstLsn })) records += batch.length
          if (records !== p.lastLsn - p.firstLsn + 1) report(checkpointManifestFile, 'structure', `partition ${id}'s log holds ${records} records from ${p.firstLsn} to ${p.lastLsn}`)
        } catch (e) {
          report(checkpointManifestFile, 'structure', `partition ${id} does not open or read back: ${(e as Error).message}`)
        }
      }
    } finally {
      await store.close()
    }
  } catch (e) {
    if (!isCairnError(e)) throw e
    report(checkpointManifestFile, 'structure', `the restore failed: ${e.message}`)
  } finally {
    await fs.removeTree(temp).catch(() => undefined)
  }
  return entries
}
