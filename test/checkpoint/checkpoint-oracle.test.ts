/**
 * The concurrent oracle: writers move amounts between keys (each transfer one batch of two
 * puts, so every half of every partition keeps its sum) while checkpoints run under forced
 * flushes, compactions, log rolls and trims, with small segments and memtables. Every
 * checkpoint verifies and restores; in the restored store each half keeps its sum, each
 * partition ends exactly at the reported LSN, its contents equal both a read snapshot taken in
 * the turn of the cut and the oracle's state at that LSN, and every write acknowledged before
 * the checkpoint was called is in it.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { checkpoint, restoreCheckpoint, verifyCheckpoint } from '../../src/checkpoint/index.js'
import { MemoryFileSystem } from '../../src/io/index.js'
import { seededRandom } from '../../src/io/seeded-random.js'
import { type Partition, Store } from '../../src/partition/index.js'
import { testSeed, withSeed } from '../helpers/seed.js'
import { contentsOf, sumOf } from './checkpoint-helpers.js'

const ids = ['a', 'b', 'c']
const halves = [0, 1]
const keysPerHalf = 4
const start = 100
const checkpoints = 6
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** One acknowledged transfer: the values it put, at its LSN. */
interface Put {
  lsn: number
  values: Record<string, string>
}

function stateAt(history: Put[], lsn: number): Record<string, string> {
  const out: Record<string, string> = {}
  for (const h of [...history].sort((x, y) => x.lsn - y.lsn)) if (h.lsn <= lsn) Object.assign(out, h.values)
  return out
}

test('checkpoints under writers, flushes, compactions, rolls and trims each hold one consistent cut', async () => {
  await withSeed(testSeed(20261201), async (seed) => {
    const rng = seededRandom(seed)
    const fs = new MemoryFileSystem({ seed })
    const store = await Store.open('/data', { fs, segmentBytesMax: 4096, memtableBytesMax: 4096 })
    const partitions = new Map<string, Partition>()
    const history = new Map<string, Put[]>()
    for (const id of ids) {
      const p = await store.ensurePartition(id)
      partitions.set(id, p)
      const values: Record<string, string> = {}
      for (const h of halves) for (let i = 0; i < keysPerHalf; i++) values[`h${h}/k${i}`] = String(start)
      const lsn = await p.write({ ops: Object.entries(values).map(([key, value]) => ({ type: 'put' as const, key, value })) })
      history.set(id, [{ lsn, values }])
    }
    let running = true
    const writer = async (id: string, half: number): Promise<void> => {
      const p = partitions.get(id)!
      const balances = Array.from({ length: keysPerHalf }, () => start)
      while (running) {
        const from = rng.int(0, keysPerHalf - 1)
        const to = (from + rng.int(1, keysPerHalf - 1)) % keysPerHalf
        const amount = rng.int(0, balances[from]!)
        balances[from]! -= amount
        balances[to]! += amount
        const values = { [`h${half}/k${from}`]: String(balances[from]), [`h${half}/k${to}`]: String(balances[to]) }
        const lsn = await p.write({ ops: Object.entries(values).map(([key, value]) => ({ type: 'put' as const, key, value })) })
        history.get(id)!.push({ lsn, values })
      }
    }
    const maintenance = async (): Promise<void> => {
      while (running) {
        const id = ids[rng.int(0, ids.length - 1)]!
        const p = partitions.get(id)!
        const action = rng.int(0, 3)
        if (action === 0) await p.flush()
        else if (action === 1) await p.compact()
        else if (action === 2) await store.rollPartitionLog(id)
        else await p.trim(p.durableLsn + 1)
        await tick()
      }
    }
    const work = [...ids.flatMap((id) => halves.map((h) => writer(id, h))), maintenance()]
    const taken: Array<{ path: string; cut: Record<string, number>; acked: Record<string, number>; snapshots: Record<string, Record<string, string>> }> = []
    try {
      for (let c = 0; c < checkpoints; c++) {
        for (let i = rng.int(20, 150); i > 0; i--) await tick()
        const acked = Object.fromEntries(ids.map((id) => [id, partitions.get(id)!.lastLsn]))
        const snaps = new Map<string, ReturnType<Partition['readSnapshot']>>()
        const cp = await checkpoint(store, `/backups/cp${c}`, {
          hooks: {
            // Called in the turn of the cut: these snapshots are at the cut's LSNs.
            afterCut: () => {
              for (const id of ids) snaps.set(id, partitions.get(id)!.readSnapshot())
            },
          },
        })
        const snapshots: Record<string, Record<string, string>> = {}
        for (const id of ids) {
          const snap = snaps.get(id)!
          assert.equal(snap.lsn, cp.partitions[id], `the snapshot taken in the turn of the cut is at the cut (${id})`)
          snapshots[id] = await contentsOf(snap)
          await snap.close()
        }
        if (process.env.CAIRN_DEBUG !== undefined) console.error(c, cp, acked)
        taken.push({ path: cp.path, cut: cp.partitions, acked, snapshots })
      }
    } finally {
      running = false
      await Promise.all(work)
    }
    for (const id of ids) assert.deepEqual(partitions.get(id)!.info().trimHolds, [], 'every trim hold was released')
    await store.close()
    for (const [c, t] of taken.entries()) {
      assert.equal((await verifyCheckpoint(t.path, { fs, deep: c === 0 })).ok, true, `checkpoint ${c} verifies`)
      const restored = await restoreCheckpoint(t.path, `/restored/r${c}`, { fs })
      assert.deepEqual(restored.partitions, t.cut)
      const copy = await Store.open(`/restored/r${c}`, { fs, create: false })
      try {
        for (const id of ids) {
          assert.ok(t.cut[id]! >= t.acked[id]!, `checkpoint ${c} holds every write acknowledged before the call (${id})`)
          const p = await copy.partition(id)
          assert.equal(p.lastLsn, t.cut[id], `checkpoint ${c}: ${id} ends at the cut`)
          const contents = await contentsOf(p)
          for (const h of halves) assert.equal(sumOf(contents, `h${h}/`), start * keysPerHalf, `checkpoint ${c}: ${id} half ${h} keeps its sum`)
          assert.deepEqual(contents, t.snapshots[id], `checkpoint ${c}: ${id} equals the read snapshot of the cut`)
          assert.deepEqual(contents, stateAt(history.get(id)!, t.cut[id]!), `checkpoint ${c}: ${id} equals the oracle at LSN ${t.cut[id]}`)
        }
      } finally {
        await copy.close()
      }
    }
  })
})
