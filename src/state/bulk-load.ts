/**
 * Bulk load: writes a sorted entry stream (a snapshot, a restore) straight into table files
 * through the table-writing loop, for the tree to install at the bottom level. Entries are
 * checked on the way: keys strictly increasing, keys and values within the limits.
 */
import { CairnError } from '../io/errors.js'
import { validateKey, validateValue } from './limits.js'
import type { TableOutput } from './table-output.js'
import { compareBytes, copyBytes } from './types.js'

/** Feeds `entries` (all at `lsn`) into `output` and finishes it; aborts it on failure. */
export async function writeBulkLoad(
  entries: AsyncIterable<[Uint8Array, Uint8Array]> | Iterable<[Uint8Array, Uint8Array]>,
  lsn: number,
  output: TableOutput,
): Promise<void> {
  let last: Uint8Array | undefined
  try {
    for await (const [key, value] of entries) {
      if (last !== undefined && compareBytes(last, key) >= 0) {
        throw new CairnError('INVALID_ARGUMENT', 'bulkLoad entries must be in strictly increasing key order')
      }
      validateKey(key)
      validateValue(value)
      last = copyBytes(key)
      const w = output.add(key, lsn, value)
      if (w !== undefined) await w
    }
    await output.finish()
  } catch (e) {
    await output.abort()
    throw e
  }
}
