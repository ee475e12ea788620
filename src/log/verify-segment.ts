/**
 * Checking a segment file whole, for a backup's verification: its header, and every frame, as
 * strictly as recovery checks a sealed segment (dense LSNs from the header's, valid frames,
 * ending exactly at the end of the file). A backup's copy of an active segment ends at the cut,
 * so damage anywhere in it is damage, never a torn tail. Reads only.
 */
import { CairnError, CorruptionError } from '../io/errors.js'
import type { FileSystem } from '../io/file-system.js'
import { decodeSegmentHeader, parseSegmentFileName, segmentHeaderBytes } from './segment-header.js'
import { scanSegment } from './segment-scan.js'

export interface VerifiedSegment {
  logId: string
  firstLsn: number
  /** firstLsn - 1 when it holds no record. */
  lastLsn: number
  bytes: number
}

/**
 * @example
 * const { firstLsn, lastLsn } = await verifySegmentFile(fs, '/backup/partitions/p/logs/<id>/00000000000000000001.log')
 */
export async function verifySegmentFile(fs: FileSystem, path: string, expectedLogId?: string): Promise<VerifiedSegment> {
  const name = path.slice(path.lastIndexOf('/') + 1)
  const nameLsn = parseSegmentFileName(name)
  const damaged = (why: string, offset = 0): CorruptionError =>
    new CorruptionError('CORRUPT_LOG', `log segment ${path} is damaged (${why})`, { context: { path, offset } })
  if (nameLsn === undefined) throw damaged('its name is not a segment name')
  const handle = await fs.open(path, 'read')
  try {
    const bytes = new Uint8Array(segmentHeaderBytes)
    const n = await handle.read(bytes, 0, bytes.length, 0)
    const header = decodeSegmentHeader(bytes.subarray(0, n))
    if (header === 'version') throw new CairnError('UNSUPPORTED_FORMAT', `log segment ${path} has a format this version of cairn cannot read: upgrade cairn`, { context: { path } })
    if (typeof header === 'string') throw damaged(`bad header: ${header}`)
    if (header.firstLsn !== nameLsn) throw damaged('its header LSN does not match its name')
    if (expectedLogId !== undefined && header.logId !== expectedLogId) throw damaged(`it belongs to log ${header.logId}, not ${expectedLogId}`)
    const scan = await scanSegment(handle, path, header.firstLsn, header.frameSalt, false)
    return { logId: header.logId, firstLsn: header.firstLsn, lastLsn: scan.lastLsn, bytes: scan.validEnd }
  } finally {
    await handle.close()
  }
}
