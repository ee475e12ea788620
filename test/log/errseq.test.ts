/**
 * Overlapping group syncs and Linux's errseq (issue 6, finding 2): a writeback error is
 * reported once per descriptor. With every sync on one descriptor, a sync that finished first
 * could consume the error for another group's pages while that group's own sync returned 0, and
 * the group was acknowledged although its bytes never reached the disk. Each sync in flight now
 * has its own descriptor, so the error reaches every sync that could cover the failed pages.
 *
 * The file system here runs held syncs in reverse order on release, as the thread pool may.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { MemoryFileSystem } from '../../src/io/index.js'
import { FileLog } from '../../src/log/index.js'
import { ReversingFileSystem } from '../helpers/held-file-systems.js'
import { readAll } from '../helpers/log-helpers.js'
import { testSeeds } from '../helpers/seed.js'

const dir = '/d/log'
const rec = (s: string) => ({ type: 1, payload: new TextEncoder().encode(s) })
const text = (b: Uint8Array) => new TextDecoder().decode(b)
const turn = () => new Promise<void>((resolve) => setImmediate(resolve))

const seeds = testSeeds([1, 2, 3])

describe('errseq: overlapping syncs', () => {
  for (const seed of seeds) {
    test(`an error consumed by a later group's sync does not let an earlier group be acknowledged (seed ${seed})`, async () => {
      const mem = new MemoryFileSystem({ seed })
      const fs = new ReversingFileSystem(mem)
      const log = await FileLog.open({ fs, dir })
      assert.equal(await log.append([rec('kept')]), 1)
      fs.hold()
      const acknowledged: string[] = []
      const appends = ['x', 'y'].map(async (name, i) => {
        for (let t = 0; t < i * 3; t++) await turn()
        const lsn = await log.append([rec(name)])
        acknowledged.push(`${lsn}:${name}`)
      })
      for (let t = 0; t < 20 && fs.heldSyncs < 2; t++) await turn()
      assert.equal(fs.heldSyncs, 2, 'two group syncs in flight at once')
      const [name] = (await mem.list(dir)).filter((n) => n.endsWith('.log'))
      // The writeback that runs first (y's sync, which also covers x's pages) fails.
      mem.failNextSync(`${dir}/${name!}`)
      await fs.release()
      await Promise.allSettled(appends)
      mem.powerLoss({ keep: 'synced-only' })
      const again = await FileLog.open({ fs: mem, dir })
      const survived = (await readAll(again)).map((e) => `${e.lsn}:${text(e.payload)}`)
      for (const a of acknowledged) assert.ok(survived.includes(a), `acknowledged ${a} survives (log: ${survived.join(' ')})`)
      await again.close()
    })
  }
})
