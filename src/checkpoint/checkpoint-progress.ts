/**
 * Progress of a checkpoint as its caller sees it.
 *
 * Invariants:
 * - counts only grow, and `phase` goes `files` → `metadata` → `done`;
 * - the caller is called once at the start, once per file, once per copied chunk and once per
 *   phase change, each time with a copy it may keep.
 */

export interface CheckpointProgress {
  /** `files` while linking and copying, `metadata` while writing the catalog and manifests, `done`. */
  phase: string
  filesDone: number
  filesTotal: number
  bytesDone: number
  bytesTotal: number
}

/**
 * Counts a checkpoint's files and bytes and reports each change.
 *
 * @example
 * const meter = new CheckpointProgressMeter(bytesTotal, filesTotal, (p) => console.log(p.bytesDone))
 * meter.bytes(4096)
 * meter.file()
 * meter.phase('done')
 */
export class CheckpointProgressMeter {
  readonly #report: ((p: CheckpointProgress) => void) | undefined
  readonly #state: CheckpointProgress

  constructor(bytesTotal: number, filesTotal: number, report: ((p: CheckpointProgress) => void) | undefined) {
    this.#report = report
    this.#state = { phase: 'files', filesDone: 0, filesTotal, bytesDone: 0, bytesTotal }
    this.#emit()
  }

  readonly bytes = (n: number): void => {
    this.#state.bytesDone += n
    this.#emit()
  }

  file(): void {
    this.#state.filesDone += 1
    this.#emit()
  }

  phase(phase: string): void {
    this.#state.phase = phase
    this.#emit()
  }

  #emit(): void {
    this.#report?.({ ...this.#state })
  }
}
