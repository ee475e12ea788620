/** Shared helpers for log tests: deterministic payloads, a seeded PRNG, reading a whole log. */
import { createHash } from 'node:crypto'
import type { FileSystem } from '../../src/io/index.js'
import { decodeFrameHeader, frameHeaderBytes } from '../../src/log/frame.js'
import { type SeededRandom, seededRandom } from '../../src/io/seeded-random.js'
import type { FileLog, LogEntry, LogRecord } from '../../src/log/index.js'
import { segmentHeaderBytes } from '../../src/log/segment-header.js'

/** A small seeded PRNG (the crash model's), so failing runs can be replayed from the printed seed. */
export function prng(seed: number): SeededRandom {
  return seededRandom(seed >>> 0)
}

/** A payload derivable from (tag, lsn, size) alone: sha256-seeded bytes with the lsn in front. */
export function payloadFor(tag: string, lsn: number, size: number): Uint8Array {
  const out = new Uint8Array(size)
  let block = createHash('sha256').update(`${tag}:${lsn}`).digest()
  for (let at = 0; at < size; at += block.length) {
    out.set(block.subarray(0, Math.min(block.length, size - at)), at)
    block = createHash('sha256').update(block).digest()
  }
  return out
}

export function record(payload: Uint8Array, type = 1): LogRecord {
  return { type, payload }
}

export async function readAll(log: FileLog, from = log.firstLsn): Promise<LogEntry[]> {
  const out: LogEntry[] = []
  for await (const e of log.read(from)) out.push({ lsn: e.lsn, type: e.type, payload: e.payload.slice() })
  return out
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex')
}

/** Start offsets of the frames in a segment file's bytes (a whole, undamaged segment). */
export function frameOffsets(segment: Uint8Array): number[] {
  const out: number[] = []
  let at = segmentHeaderBytes
  while (at < segment.length) {
    const header = decodeFrameHeader(segment, at)
    if (header === undefined) throw new Error(`no frame at ${at}`)
    out.push(at)
    at += frameHeaderBytes + header.bodyBytes
  }
  return out
}

/** Segment file names in `dir`, oldest first. */
export async function segmentNames(fs: FileSystem, dir: string): Promise<string[]> {
  return (await fs.list(dir)).filter((n) => /^\d{20}\.log$/.test(n))
}

/** Replaces a file's contents durably (for tests that damage files). */
export async function overwrite(fs: FileSystem, path: string, data: Uint8Array): Promise<void> {
  const h = await fs.open(path, 'createOrTruncate')
  try {
    await h.write(data, 0)
    await h.sync()
  } finally {
    await h.close()
  }
}

/**
 * A payload that is a pure function of its LSN (size 0..1499, bytes from a PRNG seeded by the
 * LSN), so a process that only learns "LSN n was acknowledged" can check the record's bytes.
 */
export function payloadOfLsn(lsn: number): Uint8Array {
  const size = Math.imul(lsn, 2654435761) >>> 0
  const out = new Uint8Array(size % 1500)
  const rng = prng(lsn)
  for (let i = 0; i < out.length; i += 4) {
    const v = (rng.next() * 4294967296) >>> 0
    for (let j = 0; j < 4 && i + j < out.length; j++) out[i + j] = (v >>> (8 * j)) & 0xff
  }
  return out
}

/** A type-1 record holding `text` in UTF-8. */
export function textRecord(text: string): LogRecord {
  return { type: 1, payload: new TextEncoder().encode(text) }
}

export function textOf(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes)
}

/** One turn of the event loop (lets queued I/O callbacks and group commits run). */
export function turn(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve))
}
