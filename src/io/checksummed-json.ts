/**
 * A small JSON document that carries the SHA-256 of its own body: `{"checksum": hex, "body": ...}`.
 * The catalog and a checkpoint's CHECKPOINT.json are written this way, so a damaged file is told
 * from a valid one before any field of it is trusted.
 *
 * Invariant: `decodeChecksummedJson(encodeChecksummedJson(x))` is `x` for any JSON value `x`, and
 * any change to the body's meaning (not its whitespace) fails the checksum.
 */
import { sha256Hex } from './checksum.js'

/** The bytes of `body` wrapped with its checksum (`indent` spaces of pretty-printing, for people). */
export function encodeChecksummedJson(body: unknown, indent: number): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ checksum: sha256Hex(JSON.stringify(body)), body }, null, indent))
}

/**
 * The body of a checksummed document; throws `damaged(why)` when the bytes are not UTF-8 JSON,
 * carry no checksum, or the checksum does not match.
 *
 * @example
 * const data = decodeChecksummedJson(bytes, (why, cause) => new CorruptionError('CORRUPT_CATALOG', `catalog is damaged (${why})`, { cause }))
 */
export function decodeChecksummedJson(bytes: Uint8Array, damaged: (why: string, cause?: unknown) => Error): unknown {
  let parsed: { checksum?: unknown; body?: unknown }
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch (e) {
    throw damaged('not valid JSON', e)
  }
  if (typeof parsed !== 'object' || parsed === null || typeof parsed.checksum !== 'string') throw damaged('no checksum')
  if (sha256Hex(JSON.stringify(parsed.body)) !== parsed.checksum) throw damaged('checksum mismatch')
  return parsed.body
}
