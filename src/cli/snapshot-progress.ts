/**
 * Progress of a snapshot transfer on stderr: a live bar (cli-progress) when stderr is a TTY,
 * otherwise a plain line at most every `progressLineMsMin` (logs stay readable). stdout is left
 * to the results (`--json` lines).
 */
import cliProgress from 'cli-progress'

/** Plain progress lines are at least this far apart. */
export const progressLineMsMin = 2000

export interface TransferProgress {
  /** Updates the figures: `done` of `total` (total 0 when unknown), with a short note. */
  update(done: number, total: number, note: string): void
  stop(): void
}

/**
 * @example
 * const progress = transferProgress('orders', 'chunks')
 * try { await repo.create(..., { onProgress: (p) => progress.update(p.chunksDone, 0, `${p.chunksUploaded} uploaded`) }) } finally { progress.stop() }
 */
export function transferProgress(partition: string, unit: string, stream: NodeJS.WriteStream = process.stderr): TransferProgress {
  if (stream.isTTY === true) {
    const bar = new cliProgress.SingleBar(
      { stream, format: `${partition} [{bar}] {value}/{total} ${unit} {note}`, hideCursor: true, clearOnComplete: false, etaBuffer: 20 },
      cliProgress.Presets.shades_classic,
    )
    let started = false
    return {
      update(done, total, note) {
        if (!started) {
          bar.start(Math.max(total, done, 1), done, { note })
          started = true
        }
        bar.setTotal(Math.max(total, done, 1))
        bar.update(done, { note })
      },
      stop() {
        if (started) bar.stop()
      },
    }
  }
  let lastMs = 0
  return {
    update(done, total, note) {
      const now = Date.now()
      if (now - lastMs < progressLineMsMin) return
      lastMs = now
      stream.write(`${partition}: ${done}${total > 0 ? `/${total}` : ''} ${unit} ${note}\n`)
    },
    stop() {},
  }
}

/** `1.5 MB`: bytes for a human. */
export function humanBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`
  if (bytes < 1024 * 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
  return `${(bytes / 1024 / 1024 / 1024).toFixed(2)} GiB`
}
