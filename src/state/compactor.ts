/**
 * Runs compactions for a tree, one at a time: picks the next job (compaction.ts), merges its
 * inputs through the table-writing loop (table-output.ts) and installs the result (version-set.ts).
 * `schedule()` starts one in the background when one is due (after a flush); `compact()` runs
 * them to completion.
 *
 * Invariants: compactions are serialized (one chain); a job reads from a version it pinned, so
 * its inputs stay open while a flush installs meanwhile (the edit is applied to the version
 * current at install time, and flushes only ever add L0 tables); files a failed job published
 * are orphans, deleted after the next durable manifest; a closing tree stops a running merge at
 * its next slice.
 */
import type { FileSystem } from '../io/file-system.js'
import { type CompactionJob, type CompactionOptions, fullCompaction, pickCompaction, runCompaction, type TombstoneReclaim } from './compaction.js'
import { TableOutput } from './table-output.js'
import { levelCount } from './version.js'
import type { VersionSet } from './version-set.js'

export interface CompactorContext {
  fs: FileSystem
  dir: string
  options: CompactionOptions
  versions: VersionSet
  isClosed: () => boolean
}

export class Compactor {
  readonly #ctx: CompactorContext
  #chain: Promise<void> = Promise.resolve()
  #scheduled = false
  #pointers: (Uint8Array | undefined)[] = new Array(levelCount).fill(undefined)
  #reclaim: TombstoneReclaim = { dueLsn: 0 }
  /** Error of the last background compaction, if it failed (the next one retries). */
  backgroundError: unknown
  /** True once a compaction failed (sticky; see LsmTree.faulted). */
  faulted = false
  bytesWritten = 0
  count = 0

  constructor(ctx: CompactorContext) {
    this.#ctx = ctx
  }

  /** Starts a compaction in the background if one is due and none is scheduled. */
  schedule(): void {
    const { versions, options, isClosed } = this.#ctx
    if (this.#scheduled || isClosed()) return
    if (pickCompaction(versions.current, options, this.#pointers, this.#reclaim) === undefined) return
    this.#scheduled = true
    const run = this.#chain.then(async () => {
      this.#scheduled = false
      if (!isClosed()) await this.#untilDone(false)
    })
    this.#chain = run.then(
      () => {
        this.backgroundError = undefined
      },
      (e) => {
        this.backgroundError = e
        this.faulted = true
      },
    )
  }

  /** Runs compactions until none is due; with `full`, first merges everything into one sorted run. */
  compact(full: boolean): Promise<void> {
    const run = this.#chain.then(() => this.#untilDone(full))
    this.#chain = run.catch(() => {
      this.faulted = true
    })
    return run
  }

  /** Resolves when no compaction is running or queued. */
  idle(): Promise<void> {
    return this.#chain
  }

  async #untilDone(full: boolean): Promise<void> {
    const { versions, options, isClosed } = this.#ctx
    if (full) {
      const job = fullCompaction(versions.current)
      if (job !== undefined) await this.#run(job)
    }
    for (;;) {
      if (isClosed()) return
      const job = pickCompaction(versions.current, options, this.#pointers, this.#reclaim)
      if (job === undefined) return
      await this.#run(job)
    }
  }

  async #run(job: CompactionJob): Promise<void> {
    const { fs, dir, options, versions, isClosed } = this.#ctx
    const base = versions.current.ref()
    try {
      if (job.level >= 1) this.#pointers[job.level] = job.inputs[0]!.info.largest
      const removed = new Set(job.inputs.map((t) => t.id))
      if (job.move) {
        const table = job.inputs[0]!
        // Reuses the open table in a new level: the same file, so nothing to write but the manifest.
        await versions.install({ added: [{ level: job.outputLevel, table }], removed, tombstones: [], durableLsn: 0 })
      } else if (job.drop) {
        // Every entry is hidden by a newer tombstone, which stays until nothing older is left.
        await versions.install({ added: [], removed, tombstones: [], durableLsn: 0 })
      } else {
        const output = new TableOutput({
          fs,
          dir,
          blockBytes: options.blockBytes,
          tableBytesTarget: options.tableBytesTarget,
          sliceMs: options.compactionSliceMs,
          allocateTableId: () => versions.allocateTableId(),
          // Every version tombstone has a seq at or below the base's durable LSN: see compaction.ts.
          tombstoneLsn: base.durableLsn,
          cancelled: isClosed,
        })
        let infos: Awaited<ReturnType<typeof runCompaction>>
        try {
          infos = await runCompaction(job, base.tombstones, output)
        } catch (e) {
          versions.orphan(output.published)
          throw e
        }
        this.bytesWritten += output.bytes
        await versions.installOutputs(infos, output.published, job.outputLevel, { removed, tombstones: [], durableLsn: 0 })
      }
      this.count++
    } finally {
      base.unref()
    }
  }
}
