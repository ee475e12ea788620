/**
 * The errors every `Log` implementation reports the same way (file log, chain, in-memory log), so
 * a caller sees one message and one set of context fields whichever log it talks to.
 */
import { CairnError, type ErrorContext } from '../io/errors.js'

/**
 * An append whose `expectedLsn` is not the log's next LSN (nothing was written).
 *
 * @example
 * if (expectedLsn !== nextLsn) throw lsnMismatch(`log ${dir}`, expectedLsn, nextLsn, { dir })
 */
export function lsnMismatch(log: string, expectedLsn: number, nextLsn: number, context: ErrorContext = {}): CairnError {
  return new CairnError('LSN_MISMATCH', `${log}: the batch was meant for LSN ${expectedLsn} but the next LSN is ${nextLsn}: read the log's end and retry from there`, {
    context: { ...context, expectedLsn, nextLsn },
  })
}

/**
 * A read from an LSN the log no longer holds.
 *
 * @example
 * if (lsn < firstLsn) throw lsnTrimmed(`log ${dir}`, lsn, firstLsn, { dir })
 */
export function lsnTrimmed(log: string, lsn: number, firstLsn: number, context: ErrorContext = {}): CairnError {
  return new CairnError('LSN_TRIMMED', `LSN ${lsn} was trimmed from ${log} (it now starts at ${firstLsn}): read from ${firstLsn} or restore from a snapshot`, {
    context: { ...context, lsn, firstLsn },
  })
}
