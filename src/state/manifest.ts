/**
 * The manifest: the durable description of the current version (live tables with their level,
 * flushed range tombstones, durable LSN, next table id). It is one file, `MANIFEST`, replaced
 * atomically (temp + fsync + rename + fsync dir, see atomicWriteFile) on every flush and
 * compaction: simple, and small enough (one line per table) to rewrite each time.
 *
 * Layout: magic "CAIRNMAN" | u32 formatVersion | u32 bodyLength | u32 crc32(body) | body (JSON,
 * keys in base64). Tombstones are written fragmented (sorted, non-overlapping); a manifest from
 * before that holds any list and is fragmented on decode, so the format (version 1) is unchanged.
 * A torn or damaged manifest is `CORRUPT_MANIFEST` (so is a tombstone newer than the durable
 * LSN, which no flush writes); an unknown version is `UNSUPPORTED_FORMAT`. Because the rename is
 * atomic, a crash leaves either the old or the new manifest, never a torn one: damage means the
 * disk lost data.
 */
import { crc32 } from '../io/checksum.js'
import { CairnError, CorruptionError } from '../io/errors.js'
import { fragmentTombstones } from './range-tombstones.js'
import type { TableInfo } from './table/index.js'
import type { RangeTombstone } from './types.js'

export const manifestFileName = 'MANIFEST'
export const manifestMagic = Buffer.from('CAIRNMAN', 'latin1')
export const manifestFormatVersion = 1
const headerBytes = 20

export interface ManifestTable extends TableInfo {
  level: number
}

export interface ManifestData {
  durableLsn: number
  nextTableId: number
  tables: ManifestTable[]
  tombstones: RangeTombstone[]
}

const b64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64')
const unb64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'))

export function encodeManifest(m: ManifestData): Buffer {
  const body = Buffer.from(
    JSON.stringify({
      durableLsn: m.durableLsn,
      nextTableId: m.nextTableId,
      tables: m.tables.map((t) => ({ ...t, smallest: b64(t.smallest), largest: b64(t.largest) })),
      tombstones: m.tombstones.map((t) => ({ start: b64(t.start), end: b64(t.end), seq: t.seq })),
    }),
    'utf8',
  )
  const out = Buffer.allocUnsafe(headerBytes + body.length)
  manifestMagic.copy(out, 0)
  out.writeUInt32LE(manifestFormatVersion, 8)
  out.writeUInt32LE(body.length, 12)
  out.writeUInt32LE(crc32(body), 16)
  body.copy(out, headerBytes)
  return out
}

export function decodeManifest(bytes: Uint8Array, path: string): ManifestData {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const corrupt = (why: string): CorruptionError =>
    new CorruptionError('CORRUPT_MANIFEST', `state manifest ${path} is corrupt (${why}): restore the store from a snapshot or checkpoint`, {
      context: { file: path },
    })
  if (buf.length < headerBytes || !buf.subarray(0, 8).equals(manifestMagic)) throw corrupt('bad magic')
  const version = buf.readUInt32LE(8)
  const length = buf.readUInt32LE(12)
  if (buf.length !== headerBytes + length) throw corrupt('length mismatch')
  const body = buf.subarray(headerBytes)
  if (crc32(body) !== buf.readUInt32LE(16)) throw corrupt('checksum mismatch')
  if (version !== manifestFormatVersion) {
    throw new CairnError('UNSUPPORTED_FORMAT', `state manifest ${path} has format version ${version}; this cairn reads ${manifestFormatVersion}: upgrade cairn`, {
      context: { file: path, version },
    })
  }
  try {
    const raw = JSON.parse(body.toString('utf8')) as {
      durableLsn: number
      nextTableId: number
      tables: (Omit<ManifestTable, 'smallest' | 'largest'> & { smallest: string; largest: string })[]
      tombstones: { start: string; end: string; seq: number }[]
    }
    if (!Number.isSafeInteger(raw.durableLsn) || !Number.isSafeInteger(raw.nextTableId)) throw new Error('bad numbers')
    for (const t of raw.tombstones) {
      if (!Number.isSafeInteger(t.seq) || t.seq < 1 || t.seq > raw.durableLsn) throw new Error(`tombstone seq ${t.seq} outside 1..${raw.durableLsn}`)
    }
    return {
      durableLsn: raw.durableLsn,
      nextTableId: raw.nextTableId,
      tables: raw.tables.map((t) => ({ ...t, smallest: unb64(t.smallest), largest: unb64(t.largest) })),
      tombstones: fragmentTombstones(raw.tombstones.map((t) => ({ start: unb64(t.start), end: unb64(t.end), seq: t.seq }))),
    }
  } catch (e) {
    throw corrupt(`unreadable body: ${(e as Error).message}`)
  }
}
