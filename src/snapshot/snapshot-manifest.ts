/**
 * The manifest of one snapshot (`partitions/<pid>/snapshots/<id>.json`), immutable once written:
 * which chunks, in key order, make the state of partition `partition` at `lsn`.
 *
 * `rootHash` is the SHA-256 of the canonical chunk list: for each chunk, in order, the line
 * `<id> <bytes> <entries>\n`. It depends only on the state (not on the LSN, the id or the
 * producer): two replicas at the same state agree on it.
 *
 * Decoding is strict: an object that is not exactly this shape, or whose totals or root do not
 * match its chunks, is `CORRUPT_SNAPSHOT` naming the key; a format number other than ours is
 * `UNSUPPORTED_FORMAT` (written by a newer cairn).
 */
import { z } from 'zod'
import { sha256Hex } from '../io/checksum.js'
import { CairnError, CorruptionError } from '../io/errors.js'
import { isPartitionId } from '../partition/index.js'
import { snapshotIdPattern } from './repository-layout.js'

export const manifestFormat = 1

export interface ManifestChunk {
  /** SHA-256 hex of the chunk's canonical (uncompressed) bytes. */
  id: string
  /** Canonical bytes. */
  bytes: number
  entries: number
}

export interface SnapshotManifest {
  format: typeof manifestFormat
  partition: string
  lsn: number
  logId: string
  snapshotId: string
  /** ISO 8601, the producer's clock. */
  createdAt: string
  /** `cairn <version>` and the id of the store that made it. */
  producer: { software: string; storeId: string }
  entries: number
  /** Canonical bytes of all chunks. */
  bytes: number
  chunks: ManifestChunk[]
  rootHash: string
}

const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)
const hex64 = z.string().regex(/^[0-9a-f]{64}$/)

const manifestSchema = z.strictObject({
  format: z.literal(manifestFormat),
  partition: z.string().refine(isPartitionId, 'not a partition id'),
  lsn: count,
  logId: z.string().min(1).max(200),
  snapshotId: z.string().regex(snapshotIdPattern),
  createdAt: z.iso.datetime(),
  producer: z.strictObject({ software: z.string().max(200), storeId: z.string().max(200) }),
  entries: count,
  bytes: count,
  chunks: z.array(z.strictObject({ id: hex64, bytes: count.min(1), entries: count.min(1) })),
  rootHash: hex64,
})

/** The root hash of a chunk list (see the file comment). */
export function rootHashOf(chunks: readonly ManifestChunk[]): string {
  return sha256Hex(chunks.map((c) => `${c.id} ${c.bytes} ${c.entries}\n`).join(''))
}

export function encodeManifest(manifest: SnapshotManifest): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(manifest, null, 1)}\n`)
}

/**
 * A manifest from its stored bytes, checked; `key` names it in errors.
 *
 * @example const m = decodeManifest(body.bytes, key)
 */
export function decodeManifest(bytes: Uint8Array, key: string): SnapshotManifest {
  const json = parseJson(bytes, key, 'manifest')
  checkFormat(json, key, 'manifest', manifestFormat)
  const parsed = manifestSchema.safeParse(json)
  if (!parsed.success) throw corrupt(key, 'manifest', z.prettifyError(parsed.error).split('\n').slice(0, 4).join('; '))
  const m = parsed.data as SnapshotManifest
  if (m.rootHash !== rootHashOf(m.chunks)) throw corrupt(key, 'manifest', 'its root hash does not match its chunk list')
  if (m.entries !== m.chunks.reduce((n, c) => n + c.entries, 0)) throw corrupt(key, 'manifest', 'its entry count does not match its chunks')
  if (m.bytes !== m.chunks.reduce((n, c) => n + c.bytes, 0)) throw corrupt(key, 'manifest', 'its byte count does not match its chunks')
  return m
}

/** JSON of a repository object; damage is CORRUPT_SNAPSHOT. */
export function parseJson(bytes: Uint8Array, key: string, what: string): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch (e) {
    throw corrupt(key, what, 'it is not JSON', e)
  }
}

/** UNSUPPORTED_FORMAT for an object of another format (a newer cairn wrote it). */
export function checkFormat(json: unknown, key: string, what: string, format: number): void {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw corrupt(key, what, 'it is not a JSON object')
  const given = (json as { format?: unknown }).format
  if (typeof given === 'number' && given !== format) {
    throw new CairnError('UNSUPPORTED_FORMAT', `snapshot ${what} ${key} has format ${given}; this cairn reads format ${format}: upgrade cairn to read it`, {
      context: { key, format: given, supported: format },
    })
  }
}

export function corrupt(key: string, what: string, detail: string, cause?: unknown): CorruptionError {
  return new CorruptionError('CORRUPT_SNAPSHOT', `snapshot ${what} ${key} is damaged (${detail}): run cairn snapshot verify; restore from another snapshot`, {
    context: { key, detail },
    cause,
  })
}
