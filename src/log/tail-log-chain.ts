/**
 * The tail of a log chain: reads from an LSN across its sealed logs, then follows the active log,
 * and the next one after each roll.
 *
 * Invariants:
 * - entries come out in LSN order, each once, with no gap: a roll is waited for, and the tail
 *   resumes at the next LSN in whichever log holds it;
 * - it ends (done) when the chain closes, the signal aborts, or the active log's own tail ends
 *   with no roll replacing it (the log was sealed or is closing);
 * - per entry it costs one `then` over the active log's own tail (no second generator).
 */
import type { LogEntry } from './frame.js'
import type { Log } from './log.js'

/** What the tail reads of its chain, live (a roll changes it). */
export interface LogChainTailSource {
  readonly closed: boolean
  /** Settles when the roll under way is over; undefined when none is. */
  readonly rolling: Promise<void> | undefined
  readonly active: Log
  /** The first LSN of the active log's link. */
  readonly activeFirstLsn: number
  readBatches(fromLsn: number, toLsn?: number): AsyncGenerator<LogEntry[]>
}

/**
 * Hand-written rather than an async generator: on the common path each entry is the active log's
 * own tail result passed through one `then`, not a second generator (which cost a third of a
 * per-entry tail's throughput). Like any for-await consumer, call `next` after the previous one
 * settled.
 *
 * @example
 * for await (const entry of tailLogChain(source, 1, { signal })) console.log(entry.lsn)
 */
export function tailLogChain(chain: LogChainTailSource, fromLsn: number, options: { signal?: AbortSignal } = {}): AsyncGenerator<LogEntry> {
  const { signal } = options
  const finish: IteratorReturnResult<undefined> = { done: true, value: undefined }
  let next = fromLsn
  let finished = false
  /** Where entries come from now: a sealed range, or the tail of `sourceLog` (the active log). */
  let source: AsyncGenerator<LogEntry> | undefined
  let sourceLog: Log | undefined
  const failed = (e: unknown): never => {
    finished = true
    throw e
  }
  const pull = (): Promise<IteratorResult<LogEntry>> => {
    if (source === undefined) return advance().catch(failed)
    return source.next().then((r) => {
      if (r.done !== true) {
        next = r.value.lsn + 1
        return r
      }
      source = undefined
      return advance()
    }, failed)
  }
  const advance = async (): Promise<IteratorResult<LogEntry>> => {
    for (;;) {
      const ended = sourceLog
      sourceLog = undefined
      if (finished || chain.closed || signal?.aborted === true) {
        finished = true
        return finish
      }
      const rolling = chain.rolling
      if (rolling !== undefined) {
        await rolling.catch(() => undefined)
        continue
      }
      const active = chain.active
      // The active log's tail ended and no roll replaced it: it was sealed, or is closing.
      if (ended !== undefined && ended === active) {
        finished = true
        return finish
      }
      const activeFirstLsn = chain.activeFirstLsn
      if (next < activeFirstLsn) {
        source = entriesOf(chain.readBatches(next, activeFirstLsn - 1))
      } else {
        sourceLog = active
        source = active.tail(next, options)
      }
      return await pull()
    }
  }
  const stop = async (): Promise<void> => {
    finished = true
    const current = source
    source = undefined
    await current?.return(undefined)
  }
  const iterator: AsyncGenerator<LogEntry> = {
    next: () => (finished ? Promise.resolve(finish) : pull()),
    return: async () => {
      await stop()
      return finish
    },
    throw: async (e: unknown) => {
      await stop()
      throw e
    },
    [Symbol.asyncIterator]: () => iterator,
  }
  return iterator
}

async function* entriesOf(batches: AsyncGenerator<LogEntry[]>): AsyncGenerator<LogEntry> {
  for await (const batch of batches) yield* batch
}
