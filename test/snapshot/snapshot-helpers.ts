/** Helpers of the snapshot tests: entries, sources, and what a repository holds. */
import type { ObjectStore } from '../../src/objectstore/index.js'
import type { Partition } from '../../src/partition/index.js'
import type { SnapshotSource } from '../../src/snapshot/index.js'

const enc = new TextEncoder()

export type Entries = [Uint8Array, Uint8Array][]

/** `count` entries `key<i 8 digits>` → `value` of `valueBytes` bytes derived from i and `tag`. */
export function makeEntries(count: number, options: { valueBytes?: number; tag?: string; from?: number } = {}): Entries {
  const valueBytes = options.valueBytes ?? 100
  const tag = options.tag ?? 'v'
  const out: Entries = []
  for (let i = options.from ?? 0; i < (options.from ?? 0) + count; i++) {
    const value = new Uint8Array(valueBytes)
    const seed = enc.encode(`${tag}:${i}:`)
    for (let j = 0; j < valueBytes; j++) value[j] = seed[j % seed.length]! ^ (j * 31)
    out.push([enc.encode(`key${String(i).padStart(8, '0')}`), value])
  }
  return out
}

export function sourceOf(entries: Entries, lsn: number, logId = 'log-1'): SnapshotSource {
  return { lsn, logId, entries }
}

/** The source of a partition's read snapshot; close the returned snapshot afterwards. */
export function partitionSource(p: Partition): { source: SnapshotSource; close: () => Promise<void> } {
  const snap = p.readSnapshot()
  return { source: { lsn: snap.lsn, logId: p.logId, scan: () => snap.scan() }, close: () => snap.close() }
}

export async function collect(entries: AsyncIterable<[Uint8Array, Uint8Array]>): Promise<Entries> {
  const out: Entries = []
  for await (const [k, v] of entries) out.push([Uint8Array.from(k), Uint8Array.from(v)])
  return out
}

export async function keysUnder(store: ObjectStore, prefix: string): Promise<string[]> {
  const out: string[] = []
  let startAfter: string | undefined
  for (;;) {
    const page = await store.list(prefix, startAfter === undefined ? {} : { startAfter })
    out.push(...page.objects.map((o) => o.key))
    if (page.next === undefined) return out
    startAfter = page.next
  }
}

export function hex(entries: Entries): string[] {
  return entries.map(([k, v]) => `${Buffer.from(k).toString('hex')}=${Buffer.from(v).toString('hex')}`)
}
