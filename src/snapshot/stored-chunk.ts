/**
 * A chunk as stored at `chunks/<2 hex>/<id>`: a 4-byte header, `C K 1 <codec>` (codec 0: the
 * canonical bytes as they are; 1: raw deflate of them), then the payload. Compression never
 * changes the id, which is the SHA-256 of the canonical bytes: a reader decompresses, hashes and
 * compares before it trusts a byte, so a damaged or misplaced object is `CORRUPT_SNAPSHOT`.
 */
import { promisify } from 'node:util'
import zlib from 'node:zlib'
import { sha256Hex } from '../io/checksum.js'
import { corrupt } from './snapshot-manifest.js'
import { chunkBytesMax } from './snapshot-limits.js'

export type ChunkCompression = 'none' | 'deflate'

const codecs: Record<ChunkCompression, number> = { none: 0, deflate: 1 }
const headerBytes = 4
const deflateRaw = promisify(zlib.deflateRaw)
const inflateRaw = promisify(zlib.inflateRaw)

/** The object to store for canonical chunk bytes (deflate runs on libuv's thread pool). */
export async function encodeStoredChunk(canonical: Uint8Array, compression: ChunkCompression): Promise<Uint8Array> {
  let payload = canonical
  let codec = codecs.none
  if (compression === 'deflate') {
    const packed = await deflateRaw(canonical, { level: 1 })
    // Keep it raw when compression does not pay (random data): reading it back is cheaper.
    if (packed.length < canonical.length * 0.9) {
      payload = packed
      codec = codecs.deflate
    }
  }
  const out = new Uint8Array(headerBytes + payload.length)
  out.set([0x43, 0x4b, 0x31, codec])
  out.set(payload, headerBytes)
  return out
}

/**
 * The canonical bytes of a stored chunk, checked against its id; `key` names it in errors.
 *
 * @example const canonical = await decodeStoredChunk(body.bytes, id, chunkKey(id))
 */
export async function decodeStoredChunk(stored: Uint8Array, id: string, key: string, expectedBytes?: number): Promise<Uint8Array> {
  if (stored.length < headerBytes || stored[0] !== 0x43 || stored[1] !== 0x4b || stored[2] !== 0x31) throw corrupt(key, 'chunk', 'it has no chunk header')
  const codec = stored[3]
  const payload = stored.subarray(headerBytes)
  let canonical: Uint8Array
  if (codec === codecs.none) canonical = payload
  else if (codec === codecs.deflate) {
    const limit = Math.max(expectedBytes ?? chunkBytesMax, chunkBytesMax) + 1
    try {
      canonical = await inflateRaw(payload, { maxOutputLength: limit })
    } catch (e) {
      throw corrupt(key, 'chunk', 'its compressed payload does not inflate', e)
    }
  } else throw corrupt(key, 'chunk', `unknown codec ${codec}`)
  if (expectedBytes !== undefined && canonical.length !== expectedBytes) throw corrupt(key, 'chunk', `it holds ${canonical.length} bytes, its manifest says ${expectedBytes}`)
  if (sha256Hex(canonical) !== id) throw corrupt(key, 'chunk', 'its SHA-256 does not match its id')
  return canonical
}
