/**
 * What a visit to a partition costs when the store must reopen it (more active partitions than
 * `openPartitionsMax`): time and fsyncs per visit (reopen + one put + the close of the partition
 * evicted for it), on the real disk. `node --import tsx bench/reopen-probe.ts [<repo root>]`: the
 * root is the tree whose `src/` it imports (default this one; another checkout to compare with).
 * After this process closed a partition cleanly its reopen skips the recovery fsyncs
 * (`trustedClean`): 11 fsyncs per visit became 2 (the put's and the evicted partition's close).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = process.argv[2] ?? join(fileURLToPath(import.meta.url), '..', '..')
const { Store } = (await import(pathToFileURL(join(root, 'src/partition/index.ts')).href)) as typeof import('../src/partition/index.js')
const io = (await import(pathToFileURL(join(root, 'src/io/index.ts')).href)) as typeof import('../src/io/index.js')
const partitions = 64
const openPartitionsMax = 8
const rounds = 5

const dir = mkdtempSync(join(tmpdir(), 'cairn-reopen-'))
try {
  const fs = new io.FaultFileSystem(new io.NodeFileSystem())
  let syncs = 0
  fs.failWhen((op) => {
    if (op.name === 'sync' || op.name === 'syncDir') syncs++
    return false
  })
  const store = await Store.open(join(dir, 's'), { fs, openPartitionsMax })
  for (let i = 0; i < partitions; i++) await (await store.ensurePartition(`p${i}`)).put('k', 'v')
  for (let round = 0; round < rounds; round++) {
    syncs = 0
    const t = performance.now()
    for (let i = 0; i < partitions; i++) await (await store.partition(`p${i}`)).put(`r${round}`, 'v')
    const ms = (performance.now() - t) / partitions
    process.stdout.write(`${JSON.stringify({ round, msPerVisit: Number(ms.toFixed(2)), fsyncsPerVisit: syncs / partitions })}\n`)
  }
  await store.close()
} finally {
  rmSync(dir, { recursive: true, force: true })
}
