/**
 * SIGKILL during checkpoints (a child process on a real directory): every directory under a
 * checkpoint's name is whole (verifies, and restores into a store that opens at the cut), every
 * checkpoint reported done is there, a temp directory is never taken for a checkpoint unless it
 * is whole, and the next checkpoint into the killed one's name removes the leftovers.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { checkpoint, restoreCheckpoint, verifyCheckpoint } from '../../src/checkpoint/index.js'
import { seededRandom } from '../../src/io/seeded-random.js'
import { Store } from '../../src/partition/index.js'
import { testSeed, withSeed } from '../helpers/seed.js'

const rounds = 3
const child = new URL('./checkpoint-child.ts', import.meta.url).pathname

/** Runs the child until it has started `started` checkpoints, waits `killAfterMs`, kills it; returns its output lines. */
async function runChild(dir: string, root: string, round: number, killAfterMs: number): Promise<string[]> {
  const proc = spawn(process.execPath, ['--import', 'tsx', child, dir, root, String(round)], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  proc.stderr.on('data', (d) => (err += d))
  await new Promise<void>((resolve, reject) => {
    proc.stdout.on('data', (d) => {
      out += d
      if ((out.match(/^start /gm) ?? []).length >= 2) resolve()
    })
    proc.on('exit', (code) => reject(new Error(`child exited early (${code}): ${err}`)))
  })
  await new Promise((r) => setTimeout(r, killAfterMs))
  proc.kill('SIGKILL')
  await new Promise((r) => proc.once('exit', r))
  return out.slice(0, out.lastIndexOf('\n') + 1).split('\n').filter((l) => l.length > 0)
}

test(`checkpoints killed at ${rounds} random points leave nothing half made under a checkpoint's name`, async () => {
  await withSeed(testSeed(), async (seed) => {
    const rng = seededRandom(seed % 0xffff_ffff)
    const base = await mkdtemp(join(tmpdir(), 'cairn-checkpoint-kill-'))
    const dir = join(base, 'data')
    const root = join(base, 'backups')
    try {
      for (let round = 0; round < rounds; round++) {
        const lines = await runChild(dir, root, round, rng.int(0, 60))
        const done = lines.filter((l) => l.startsWith('done ')).map((l) => l.slice(5))
        const started = lines.filter((l) => l.startsWith('start ')).map((l) => l.slice(6))
        // This round's names (earlier rounds' were checked then).
        const names = (await readdir(root)).filter((n) => n.includes(`cp-${round}-`))
        for (const name of done) assert.ok(names.includes(name), `${name} was reported done, so it is there`)
        for (const name of names) {
          const v = await verifyCheckpoint(join(root, name))
          if (!name.includes('.cairn-tmp-')) assert.deepEqual(v.problems, [], `${name} is whole`)
          if (!v.ok) {
            await assert.rejects(restoreCheckpoint(join(root, name), join(base, 'refused')), /CORRUPT_CHECKPOINT|does not verify|not a checkpoint/)
            continue
          }
          // Whole: it restores into a store that opens at its cut.
          const to = join(base, `restored-${name}`)
          const restored = await restoreCheckpoint(join(root, name), to)
          const store = await Store.open(to, { create: false })
          for (const [id, lsn] of Object.entries(restored.partitions)) assert.equal((await store.partition(id)).lastLsn, lsn)
          await store.close()
          await rm(to, { recursive: true })
        }
        // The next checkpoint into the killed one's name cleans what it left.
        const killed = started.at(-1)!
        const store = await Store.open(dir)
        if (!names.includes(killed)) await checkpoint(store, join(root, killed))
        await store.close()
        const left = (await readdir(root)).filter((n) => n.includes('.cairn-tmp-'))
        assert.deepEqual(left, [], 'no temp directory is left')
      }
    } finally {
      await rm(base, { recursive: true, force: true })
    }
  })
})
