/**
 * File systems for tests that decide when the disk answers: they hold some operations (syncs, or
 * every operation of one kind) until the test releases them, or forever (a process about to be
 * killed). Built on FaultFileSystem, so fault rules still apply.
 */
import { FaultFileSystem, type OperationName } from '../../src/io/index.js'

/** A file system whose operations of one kind never complete once `hang` is set: a process about to be killed. */
export class HangingFileSystem extends FaultFileSystem {
  hang: OperationName | undefined
  override async run<T>(name: OperationName, path: string, action: () => Promise<T>, onFault?: () => Promise<unknown>): Promise<T> {
    if (name === this.hang) await new Promise<never>(() => undefined)
    return await super.run(name, path, action, onFault)
  }
}

/** Can hold every sync until `release()`, so a test decides when the disk answers. */
export class GatedFileSystem extends FaultFileSystem {
  writes = 0
  #held = false
  #waiting: Array<() => void> = []

  hold(): void {
    this.#held = true
  }

  release(): void {
    this.#held = false
    for (const w of this.#waiting.splice(0)) w()
  }

  override async run<T>(name: OperationName, path: string, action: () => Promise<T>, onFault?: () => Promise<unknown>): Promise<T> {
    if (name === 'write') this.writes += 1
    if (name === 'sync' && this.#held) await new Promise<void>((resolve) => this.#waiting.push(resolve))
    return await super.run(name, path, action, onFault)
  }
}

/** Holds every sync while held; on release runs them one at a time, the last one first (as the thread pool may). */
export class ReversingFileSystem extends FaultFileSystem {
  #held = false
  #waiting: Array<{ go: () => void; done: Promise<void> }> = []

  hold(): void {
    this.#held = true
  }

  get heldSyncs(): number {
    return this.#waiting.length
  }

  /** Lets the held syncs run one at a time, the last one first. */
  async release(): Promise<void> {
    this.#held = false
    for (const w of this.#waiting.splice(0).reverse()) {
      w.go()
      await w.done
    }
  }

  override async run<T>(name: OperationName, path: string, action: () => Promise<T>, onFault?: () => Promise<unknown>): Promise<T> {
    if (name !== 'sync' || !this.#held) return await super.run(name, path, action, onFault)
    let go!: () => void
    let finished!: () => void
    const turnCome = new Promise<void>((resolve) => (go = resolve))
    this.#waiting.push({ go, done: new Promise<void>((resolve) => (finished = resolve)) })
    await turnCome
    try {
      return await super.run(name, path, action, onFault)
    } finally {
      finished()
    }
  }
}
