/**
 * The memtable alternatives side by side, in one process, interleaved round by round (medians):
 * this tree's memtable against another checkout's (the `sorted-btree` one before issue 12), on
 * the workload the state engine puts on it: random 16-byte keys with 100-byte values inserted
 * (and overwritten), point reads, a full ordered pass (what a flush does), and writes with a
 * read snapshot and a short scan taken every 1,000 writes (what scans and read snapshots beside
 * writes do).
 *
 *   CAIRN_AB_BASE=<path of an older checkout> node --import tsx bench/memtable-probe.ts
 *
 * CAIRN_AB_ROUNDS (default 5), CAIRN_PROBE_KEYS (default 200,000).
 */
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Memtable as MemtableNew } from '../src/state/memtable.js'
import { keyFor } from './suites/state.js'
import { median } from './harness.js'

type MemtableClass = typeof MemtableNew
interface AnyMemtable {
  set(key: Uint8Array, seq: number, value: Uint8Array | undefined): void
  get(key: Uint8Array): unknown
  entries(lower?: string): IterableIterator<[string, unknown]>
  noteLsn(lsn: number): void
  snapshot(): AnyMemtable
}

const baseDir = process.env.CAIRN_AB_BASE
if (baseDir === undefined) {
  console.error('set CAIRN_AB_BASE to the path of the checkout to compare against')
  process.exit(2)
}
const rounds = Number(process.env.CAIRN_AB_ROUNDS ?? 5)
const n = Number(process.env.CAIRN_PROBE_KEYS ?? 200_000)
const { Memtable: MemtableBase } = (await import(pathToFileURL(resolve(baseDir, 'src/state/memtable.ts')).href)) as { Memtable: MemtableClass }
const impls: Array<{ name: string; make: () => AnyMemtable }> = [
  { name: 'base', make: () => new MemtableBase() as unknown as AnyMemtable },
  { name: 'new', make: () => new MemtableNew() as unknown as AnyMemtable },
]

const value = new Uint8Array(100).fill(0x61)
const keys = Array.from({ length: n }, (_, i) => keyFor(i))
const order = Array.from({ length: n }, (_, i) => i).sort(() => Math.random() - 0.5)

function timed(body: () => void): number {
  const t0 = performance.now()
  body()
  return (performance.now() - t0) / 1000
}

/** Each case returns operations per second. */
const cases: Record<string, (make: () => AnyMemtable) => number> = {
  'insert random': (make) => {
    const m = make()
    return n / timed(() => {
      for (let i = 0; i < n; i++) m.set(keys[order[i]!]!, i + 1, value)
    })
  },
  'insert + overwrite all once': (make) => {
    const m = make()
    return (2 * n) / timed(() => {
      for (let i = 0; i < n; i++) m.set(keys[order[i]!]!, i + 1, value)
      for (let i = 0; i < n; i++) m.set(keys[i]!, n + i + 1, value)
    })
  },
  'insert random, then an ordered pass (one memtable life)': (make) => {
    const m = make()
    let seen = 0
    const t = timed(() => {
      for (let i = 0; i < n; i++) m.set(keys[order[i]!]!, i + 1, value)
      for (const _ of m.entries()) seen++
    })
    if (seen !== n) throw new Error('pass missed')
    return n / t
  },
  'point get (hits)': (make) => {
    const m = make()
    for (let i = 0; i < n; i++) m.set(keys[order[i]!]!, i + 1, value)
    let found = 0
    const t = timed(() => {
      for (let i = 0; i < n; i++) if (m.get(keys[i]!) !== undefined) found++
    })
    if (found !== n) throw new Error('get missed')
    return n / t
  },
  'ordered pass after inserts (flush)': (make) => {
    const m = make()
    for (let i = 0; i < n; i++) m.set(keys[order[i]!]!, i + 1, value)
    let seen = 0
    const t = timed(() => {
      for (const _ of m.entries()) seen++
    })
    if (seen !== n) throw new Error('pass missed')
    return n / t
  },
  'writes with a snapshot + 100-entry scan every 1,000': (make) => {
    const m = make()
    return n / timed(() => {
      for (let i = 0; i < n; i++) {
        m.set(keys[order[i]!]!, i + 1, value)
        m.noteLsn(i + 1)
        if (i % 1000 === 999) {
          const it = m.snapshot().entries()
          for (let j = 0; j < 100; j++) it.next()
        }
      }
    })
  },
}

for (const [name, body] of Object.entries(cases)) {
  const results = new Map<string, number[]>(impls.map((i) => [i.name, []]))
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? impls : [...impls].reverse()
    for (const impl of order) {
      ;(globalThis as { gc?: () => void }).gc?.()
      results.get(impl.name)!.push(body(impl.make))
    }
  }
  const base = median(results.get('base')!)
  const next = median(results.get('new')!)
  console.log(`${name.padEnd(52)} base ${Math.round(base).toLocaleString('en-US').padStart(11)}/s  new ${Math.round(next).toLocaleString('en-US').padStart(11)}/s  new/base ${(next / base).toFixed(2)}x`)
}
