/**
 * Bootstrap vs replay (issue 9's target: bootstrap at least 10x faster than replaying the whole
 * log of a workload with 10x overwrites). A source partition takes `keys x 10` puts (each key
 * overwritten ten times, in records of `putsPerRecord` puts), a snapshot into a file://
 * repository at 98% of the log, then the last 2% of records.
 *
 * Per round, interleaved: "bootstrap" opens a fresh store with the repository attached, asks for
 * the partition (one GET of latest.json, the manifest, verified chunks downloaded in parallel,
 * tables bulk-loaded from the sorted stream) and replays the tail from the source with
 * `appendReplicated`; "replay whole log" brings a fresh store's partition to the same head by
 * `appendReplicated` of every record from LSN 1. Both end at the source's head with its state
 * (checked). The figure is records brought to the head per second; the median of the rounds.
 *
 * Knobs: CAIRN_BENCH_BOOTSTRAP_KEYS (default 50,000), CAIRN_BENCH_BOOTSTRAP_ROUNDS (default 3).
 * Alone: `npm run bench -- bootstrap`.
 */
import { join } from 'node:path'
import { openObjectStore } from '../../src/objectstore/index.js'
import { type Partition, Store } from '../../src/partition/index.js'
import { SnapshotManager, SnapshotRepository } from '../../src/snapshot/index.js'
import { type CaseResult, finishCase, median, round, type Row, type Suite, timeIt, withTempDir } from '../harness.js'

const keys = Number(process.env.CAIRN_BENCH_BOOTSTRAP_KEYS ?? 50_000)
const rounds = Number(process.env.CAIRN_BENCH_BOOTSTRAP_ROUNDS ?? 3)
const overwrites = 10
const putsPerRecord = 10
const valueBytes = 100
const tailShare = 0.02

async function copyLog(source: Partition, target: Partition, fromLsn: number): Promise<void> {
  for await (const batch of source.readBatches({ fromLsn })) await target.appendReplicated(batch)
}

async function digest(p: Partition): Promise<string> {
  const { createHash } = await import('node:crypto')
  const h = createHash('sha256')
  for await (const [k, v] of p.scan()) h.update(k).update(v)
  return h.digest('hex')
}

export const bootstrapSuite: Suite = {
  id: 'bootstrap',
  groups: ['snapshot'],
  description: `bootstrap (restore + tail replay) vs replaying the whole log, ${keys} keys x ${overwrites} overwrites`,
  async run(ctx): Promise<CaseResult[]> {
    return await withTempDir('bootstrap', async (dir) => {
      const repoUrl = `file://${join(dir, 'repo')}`
      const source = await Store.open(join(dir, 'source'))
      const objects = await openObjectStore(repoUrl)
      try {
        const p = await source.createPartition('p')
        const value = 'v'.repeat(valueBytes)
        const records = (keys * overwrites) / putsPerRecord
        const snapshotAt = Math.floor(records * (1 - tailShare))
        ctx.log(`   writing ${records} records (${keys * overwrites} puts over ${keys} keys)`)
        let n = 0
        const writers = 16
        const writeUpTo = async (last: number) => {
          await Promise.all(
            Array.from({ length: writers }, async () => {
              while (n < last) {
                n++
                const ops = Array.from({ length: putsPerRecord }, (_, j) => ({ type: 'put' as const, key: `key${String((n * putsPerRecord + j) % keys).padStart(8, '0')}`, value }))
                await p.write({ ops })
              }
            }),
          )
        }
        await writeUpTo(snapshotAt)
        const manager = SnapshotManager.attach(source, await SnapshotRepository.open(objects))
        const snap = await manager.createSnapshot('p')
        ctx.log(`   snapshot at LSN ${snap.lsn}: ${snap.entries} entries, ${snap.chunksTotal} chunks, ${round(snap.bytes / 2 ** 20, 1)} MiB`)
        await writeUpTo(records)
        const head = p.lastLsn
        const want = await digest(p)
        const times: Record<'bootstrap' | 'replay', number[]> = { bootstrap: [], replay: [] }
        for (let r = 0; r < rounds; r++) {
          for (const kind of r % 2 === 0 ? (['bootstrap', 'replay'] as const) : (['replay', 'bootstrap'] as const)) {
            const target = join(dir, `${kind}-${r}`)
            const store = await Store.open(target)
            const repoObjects = await openObjectStore(repoUrl)
            let got = ''
            try {
              const seconds = await timeIt(async () => {
                if (kind === 'bootstrap') {
                  const m = SnapshotManager.attach(store, await SnapshotRepository.open(repoObjects))
                  const q = await store.partition('p')
                  await copyLog(p, q, q.lastLsn + 1)
                  await m.close()
                } else {
                  const q = await store.createPartition('p')
                  await copyLog(p, q, 1)
                }
              })
              const q = await store.partition('p')
              if (q.lastLsn !== head) throw new Error(`${kind}: ended at ${q.lastLsn}, not ${head}`)
              got = await digest(q)
              times[kind].push(seconds)
            } finally {
              await store.close()
              await repoObjects.close()
            }
            if (got !== want) throw new Error(`${kind}: the state differs from the source's`)
            ctx.log(`   round ${r + 1} ${kind}: ${round(times[kind].at(-1)!, 2)} s`)
          }
        }
        await manager.close()
        const row = (system: string, kind: Row['kind'], secs: number[]): Row => {
          const seconds = median(secs)
          return { system, kind, ops: head, seconds: round(seconds, 3), opsPerSec: round(head / seconds, 0), extra: { roundsSeconds: secs.length } }
        }
        const rows = [row('bootstrap (restore + tail)', 'cairn', times.bootstrap), row('replay whole log', 'peer', times.replay)]
        return [
          finishCase({
            suite: 'bootstrap',
            name: `${keys} keys x ${overwrites} overwrites, tail ${tailShare * 100}%`,
            params: { keys, overwrites, putsPerRecord, valueBytes, records: head, snapshotLsn: snap.lsn, snapshotBytes: snap.bytes, rounds },
            metric: 'opsPerSec',
            rows,
            targets: [{ description: 'bootstrap >= 10x replaying the whole log', metric: 'opsPerSec', peer: 'replay whole log', factor: 10 }],
            notes: [
              'opsPerSec: records brought to the head per second (the same head and state for both, checked); median of the rounds, interleaved',
              'bootstrap: fresh store, repository attached, store.partition() restores from file:// (verified chunks, bulk-loaded tables), then appendReplicated of the tail; replay: fresh store, appendReplicated of every record from LSN 1',
            ],
          }),
        ]
      } finally {
        await source.close()
        await objects.close()
      }
    })
  },
}
