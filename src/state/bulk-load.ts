/**
 * Bulk load: writes a sorted entry stream (a snapshot, a restore) straight into table files
 * through the table-writing loop and installs them at the bottom level. Entries are checked on
 * the way: keys strictly increasing, keys and values within the limits (limits.ts).
 */
import { CairnError } from '../io/errors.js'
import { validateKey, validateValue } from './limits.js'
import type { TableOutput } from './table-output.js'
import { compareBytes, copyBytes } from './types.js'
import { levelCount } from './version.js'
import type { VersionSet } from './version-set.js'

/**
 * Writes `entries` (all at `lsn`) through `output` and installs the tables at the bottom level
 * with `lsn` as the durable LSN. Resolves to the bytes written. On failure what was published
 * is an orphan (deleted after the next durable manifest).
 */
export async function bulkLoadTables(
  entries: AsyncIterable<[Uint8Array, Uint8Array]> | Iterable<[Uint8Array, Uint8Array]>,
  lsn: number,
  output: TableOutput,
  versions: VersionSet,
): Promise<number> {
  try {
    await writeBulkLoad(entries, lsn, output)
  } catch (e) {
    versions.orphan(output.published)
    throw e
  }
  await versions.installOutputs(output.infos, output.published, levelCount - 1, { removed: new Set(), tombstones: [], durableLsn: lsn })
  return output.bytes
}

/** Feeds `entries` (all at `lsn`) into `output` and finishes it; aborts it on failure. */
async function writeBulkLoad(
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
