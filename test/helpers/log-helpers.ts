/** Shared helpers for log tests: deterministic payloads, a seeded PRNG, reading a whole log. */
import { createHash } from 'node:crypto'
import type { Log, LogEntry, LogRecord } from '../../src/log/index.js'

/** mulberry32: a small seeded PRNG, so failing runs can be replayed from the printed seed. */
export function prng(seed: number): { next(): number; int(lo: number, hi: number): number } {
  let a = seed >>> 0
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return { next, int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)) }
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

export async function readAll(log: Log, from = log.firstLsn): Promise<LogEntry[]> {
  const out: LogEntry[] = []
  for await (const e of log.read(from)) out.push({ lsn: e.lsn, type: e.type, payload: e.payload.slice() })
  return out
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex')
}
