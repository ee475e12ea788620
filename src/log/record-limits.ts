/**
 * The one rule for record sizes: the log refuses a record over its `recordBytesMax`, and the
 * faces (server, CLI) check the same rule before they open or create anything, so a refused
 * request writes nothing.
 */
import { CairnError } from '../io/errors.js'

/** Largest record a log accepts by default (16 MiB): larger blobs belong elsewhere, referenced from the log. */
export const recordBytesMaxDefault = 16 * 1024 * 1024

/**
 * Throws `RECORD_TOO_LARGE` when a record of `bytes` bytes is over `recordBytesMax`.
 *
 * @example
 * checkRecordBytes(payload.length)   // against the default limit
 */
export function checkRecordBytes(bytes: number, recordBytesMax: number = recordBytesMaxDefault): void {
  if (bytes > recordBytesMax) {
    throw new CairnError(
      'RECORD_TOO_LARGE',
      `a record is at most ${recordBytesMax} bytes (this one is ${bytes}): store large blobs elsewhere and log a reference`,
      { context: { bytes, recordBytesMax } },
    )
  }
}
