/**
 * Progress of a checkpoint or a restore: a bar on stderr when it is a terminal; otherwise a plain
 * line to stderr at each phase change and at most once a `progressIntervalMs` (stdout stays free
 * for the result, and for `--json`).
 */
import { SingleBar } from 'cli-progress'
import type { CheckpointProgress } from '../../checkpoint/index.js'

export const progressIntervalMs = 1000

export interface ShownProgress {
  onProgress(p: CheckpointProgress): void
  stop(): void
}

/**
 * @example
 * const shown = showProgress('checkpoint')
 * try { await checkpoint(store, dir, { onProgress: shown.onProgress }) } finally { shown.stop() }
 */
export function showProgress(what: string, stream: NodeJS.WriteStream = process.stderr): ShownProgress {
  if (stream.isTTY) {
    const bar = new SingleBar(
      { format: `${what} {phase} [{bar}] {percentage}% | {filesDone}/{filesTotal} files | {mb}/{mbTotal} MB`, stream, hideCursor: true },
    )
    let started = false
    return {
      onProgress(p) {
        const payload = { phase: p.phase, filesDone: p.filesDone, filesTotal: p.filesTotal, mb: mb(p.bytesDone), mbTotal: mb(p.bytesTotal) }
        if (!started) {
          started = true
          bar.start(Math.max(1, p.bytesTotal), p.bytesDone, payload)
          return
        }
        bar.setTotal(Math.max(1, p.bytesTotal))
        // Metadata files count in files, not always in bytes: a finished run shows a full bar.
        bar.update(p.phase === 'done' ? Math.max(1, p.bytesTotal) : p.bytesDone, payload)
      },
      stop: () => {
        if (started) bar.stop()
      },
    }
  }
  let last = 0
  let phase: string | undefined
  return {
    onProgress(p) {
      const now = Date.now()
      if (p.phase === phase && now - last < progressIntervalMs) return
      phase = p.phase
      last = now
      stream.write(`${what} ${p.phase}: ${p.filesDone}/${p.filesTotal} files, ${mb(p.bytesDone)}/${mb(p.bytesTotal)} MB\n`)
    },
    stop() {},
  }
}

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1)
}
