/** Records and reads for the log conformance suite and its model test. */
import type { CairnError } from '../../src/io/index.js'
import type { Log, LogEntry, LogRecord } from '../../src/log/index.js'

const enc = new TextEncoder()
const dec = new TextDecoder()
/** The text of a payload, for the suites' checks. */
export const textOfPayload = (bytes: Uint8Array): string => dec.decode(bytes)

/** A record whose payload names its LSN and a tag (so reads can be checked against appends). */
export function recordFor(tag: string, lsn: number, bytes = 100): LogRecord {
  const text = `${tag}:${lsn}:`
  const payload = new Uint8Array(Math.max(bytes, text.length))
  payload.set(enc.encode(text))
  return { type: 1, payload }
}

export function tagOf(entry: LogEntry): string {
  const text = dec.decode(entry.payload)
  return text.split(':')[0]!
}

export async function readLog(log: Log, from: number, to?: number): Promise<LogEntry[]> {
  const out: LogEntry[] = []
  for await (const e of log.read(from, to)) out.push(e)
  return out
}

export const lsnsOf = (entries: LogEntry[]): number[] => entries.map((e) => e.lsn)
export const range = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i)
export const isCode = (code: string) => (e: unknown) => (e as CairnError).code === code

