/**
 * The crash model of MemoryFileSystem (docs/crash-model.md): what a power loss may keep of
 * unsynced pages, sizes and directory operations; what a process crash keeps; Linux writeback
 * error semantics (errseq); syncs held in flight; replay from a seed. Checks that draw run over
 * many seeds starting at CAIRN_SEED (default 1) and print the failing one.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { FaultFileSystem, MemoryFileSystem, pageBytes } from '../../src/io/index.js'

const seedBase = process.env.CAIRN_SEED !== undefined ? Number(process.env.CAIRN_SEED) : 1
const seedCount = 200
const seeds = Array.from({ length: seedCount }, (_, i) => seedBase + i)
const turn = () => new Promise<void>((resolve) => setImmediate(resolve))

async function forEachSeed(body: (seed: number) => Promise<void>): Promise<void> {
  for (const seed of seeds) {
    try {
      await body(seed)
    } catch (e) {
      throw new Error(`seed ${seed} failed (rerun with CAIRN_SEED=${seed}): ${(e as Error).message}`, { cause: e })
    }
  }
}

function errno(code: string): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.equal((e as NodeJS.ErrnoException).code, code, `expected ${code}, got ${String(e)}`)
    return true
  }
}

const page = (fill: number, pages = 1): Uint8Array => new Uint8Array(pages * pageBytes).fill(fill)

/** A file system with `/d` durable and `/d/f` holding `pages` synced pages of `fill`. */
async function syncedFile(seed: number, pages: number, fill: number): Promise<MemoryFileSystem> {
  const fs = new MemoryFileSystem({ seed })
  await fs.mkdir('/d')
  await fs.syncDir('/')
  const h = await fs.open('/d/f', 'createNew')
  if (pages > 0) await h.write(page(fill, pages), 0)
  await h.sync()
  await h.close()
  await fs.syncDir('/d')
  return fs
}

/** The fill byte of each page of `data`, or 'mixed' for a page that is not one byte throughout. */
function pageFills(data: Uint8Array): Array<number | 'mixed'> {
  const out: Array<number | 'mixed'> = []
  for (let at = 0; at < data.length; at += pageBytes) {
    const p = data.subarray(at, at + pageBytes)
    out.push(p.every((b) => b === p[0]) ? p[0]! : 'mixed')
  }
  return out
}

describe('MemoryFileSystem crash model: file contents after power loss', () => {
  test('each unsynced page keeps its new or its old bytes, independently (a later page without an earlier one)', async () => {
    const pages = 6
    const outcomes = new Set<string>()
    await forEachSeed(async (seed) => {
      const fs = await syncedFile(seed, pages, 0xaa)
      const h = await fs.open('/d/f', 'readWrite')
      await h.write(page(0xbb, pages), 0)
      await h.close()
      fs.powerLoss()
      const fills = pageFills(await fs.readFile('/d/f'))
      assert.equal(fills.length, pages, 'an overwrite changes no size')
      for (const f of fills) assert.ok(f === 0xaa || f === 0xbb, `a page is old or new, never a mix or invented: ${fills}`)
      outcomes.add(fills.map((f) => (f === 0xbb ? 'N' : 'o')).join(''))
    })
    assert.ok(outcomes.has('o'.repeat(pages)), 'sometimes nothing unsynced survives')
    assert.ok(outcomes.has('N'.repeat(pages)), 'sometimes the unsynced write survives whole')
    assert.ok(
      [...outcomes].some((o) => /o.*N/.test(o) && /N.*o|o.*N/.test(o)),
      'sometimes a later page survives without an earlier one',
    )
    assert.ok(outcomes.size > 10, `many combinations seen (${outcomes.size})`)
  })

  test('an unsynced size extension may survive, with zeros where its pages were lost', async () => {
    let extendedWithHole = false
    let notExtended = false
    let whole = false
    await forEachSeed(async (seed) => {
      const fs = await syncedFile(seed, 1, 0xaa)
      const h = await fs.open('/d/f', 'readWrite')
      await h.append(page(0xbb, 3))
      await h.close()
      fs.powerLoss()
      const data = await fs.readFile('/d/f')
      assert.ok(data.length === pageBytes || data.length === 4 * pageBytes, `size is the old or the new: ${data.length}`)
      const fills = pageFills(data)
      assert.equal(fills[0], 0xaa, 'the synced page stays')
      for (const f of fills.slice(1)) assert.ok(f === 0 || f === 0xbb, `an appended page is new or zeros: ${fills}`)
      if (data.length === pageBytes) notExtended = true
      else if (fills.includes(0)) extendedWithHole = true
      else whole = true
    })
    assert.ok(extendedWithHole && notExtended && whole, `all outcomes seen: hole ${extendedWithHole}, none ${notExtended}, whole ${whole}`)
  })

  test('an unsynced truncate may persist or not; the kept bytes are the synced ones', async () => {
    const lengths = new Set<number>()
    await forEachSeed(async (seed) => {
      const fs = await syncedFile(seed, 3, 0xaa)
      const h = await fs.open('/d/f', 'readWrite')
      await h.truncate(100)
      await h.close()
      fs.powerLoss()
      const data = await fs.readFile('/d/f')
      assert.ok(data.length === 100 || data.length === 3 * pageBytes, `size ${data.length}`)
      assert.ok(
        data.every((b) => b === 0xaa),
        'no byte is invented',
      )
      lengths.add(data.length)
    })
    assert.equal(lengths.size, 2, 'both outcomes seen')
  })

  test('appends the engine rejected can come back after power loss (unsynced data survives whole)', async () => {
    let back = 0
    await forEachSeed(async (seed) => {
      const fs = await syncedFile(seed, 0, 0)
      const h = await fs.open('/d/f', 'readWrite')
      await h.append(new TextEncoder().encode('acknowledged'))
      await h.sync()
      await h.append(new TextEncoder().encode('+rejected'))
      await h.close()
      fs.powerLoss()
      const got = new TextDecoder().decode(await fs.readFile('/d/f'))
      assert.ok(got === 'acknowledged' || got === 'acknowledged+rejected' || /^acknowledged\0{9}$/.test(got), `got ${JSON.stringify(got)}`)
      if (got === 'acknowledged+rejected') back += 1
    })
    assert.ok(back > 0, 'the unsynced append came back at least once')
  })

  test("keep: 'synced-only' keeps exactly what was synced; keep: 'all' keeps every unsynced change", async () => {
    for (const keep of ['synced-only', 'all'] as const) {
      const fs = await syncedFile(1, 2, 0xaa)
      const h = await fs.open('/d/f', 'readWrite')
      await h.write(page(0xbb), pageBytes)
      await h.append(page(0xcc))
      await h.close()
      await (await fs.open('/d/new', 'createNew')).close()
      fs.powerLoss({ keep })
      const fills = pageFills(await fs.readFile('/d/f'))
      if (keep === 'synced-only') {
        assert.deepEqual(fills, [0xaa, 0xaa])
        assert.deepEqual(await fs.list('/d'), ['f'])
      } else {
        assert.deepEqual(fills, [0xaa, 0xbb, 0xcc])
        assert.deepEqual(await fs.list('/d'), ['f', 'new'])
      }
    }
  })

  test('what was synced always survives, and a second power loss changes nothing', async () => {
    await forEachSeed(async (seed) => {
      const fs = await syncedFile(seed, 2, 0xaa)
      const h = await fs.open('/d/f', 'readWrite')
      await h.write(page(0xbb), 0)
      await h.sync()
      await h.write(page(0xcc), pageBytes)
      await h.close()
      fs.powerLoss()
      const first = await fs.readFile('/d/f')
      assert.equal(pageFills(first)[0], 0xbb)
      fs.powerLoss()
      assert.deepEqual(await fs.readFile('/d/f'), first)
    })
  })
})

describe('MemoryFileSystem crash model: directories after power loss', () => {
  test('unsynced directory operations persist as a prefix, in order', async () => {
    // The state of /d after each prefix of the operations below.
    const states = [['a0'], ['a0', 'b'], ['a0', 'b', 'c'], ['a0', 'b', 'c2'], ['a0', 'c2'], ['c2'], ['c2', 'e'], ['c2', 'e', 'l']]
    const seen = new Set<number>()
    await forEachSeed(async (seed) => {
      const fs = new MemoryFileSystem({ seed })
      await fs.mkdir('/d')
      await fs.syncDir('/')
      await (await fs.open('/d/a0', 'createNew')).close()
      await fs.syncDir('/d')
      await (await fs.open('/d/b', 'createNew')).close()
      await (await fs.open('/d/c', 'createNew')).close()
      await fs.rename('/d/c', '/d/c2')
      await fs.unlink('/d/b')
      await fs.unlink('/d/a0')
      await fs.mkdir('/d/e')
      await fs.link('/d/c2', '/d/l')
      fs.powerLoss()
      const names = await fs.list('/d')
      const at = states.findIndex((s) => JSON.stringify(s) === JSON.stringify(names))
      assert.ok(at >= 0, `${JSON.stringify(names)} is the state after some prefix of the operations`)
      seen.add(at)
    })
    assert.equal(seen.size, states.length, `every prefix seen: ${[...seen].sort()}`)
  })

  test('a rename within a directory keeps one name or the other, never none or both', async () => {
    await forEachSeed(async (seed) => {
      const fs = await syncedFile(seed, 1, 0xaa)
      const h = await fs.open('/d/f.tmp', 'createNew')
      await h.write(page(0xbb), 0)
      await h.sync()
      await h.close()
      await fs.syncDir('/d')
      await fs.rename('/d/f.tmp', '/d/f')
      fs.powerLoss()
      const names = await fs.list('/d')
      assert.ok(JSON.stringify(names) === '["f","f.tmp"]' || JSON.stringify(names) === '["f"]', JSON.stringify(names))
      const fills = pageFills(await fs.readFile('/d/f'))
      assert.deepEqual(fills, [names.length === 2 ? 0xaa : 0xbb])
    })
  })

  test('a synced directory keeps its entries; an unsynced truncate by createOrTruncate may persist', async () => {
    const sizes = new Set<number>()
    await forEachSeed(async (seed) => {
      const fs = await syncedFile(seed, 1, 0xaa)
      await (await fs.open('/d/f', 'createOrTruncate')).close()
      fs.powerLoss()
      assert.deepEqual(await fs.list('/d'), ['f'])
      sizes.add((await fs.stat('/d/f'))!.size)
    })
    assert.deepEqual([...sizes].sort((a, b) => a - b), [0, pageBytes])
  })
})

describe('MemoryFileSystem crash model: process crash', () => {
  test('processCrash kills handles and bumps the generation but keeps the page cache, synced or not', async () => {
    const fs = new MemoryFileSystem({ seed: 1 })
    await fs.mkdir('/d')
    const h = await fs.open('/d/f', 'createNew')
    await h.write(new TextEncoder().encode('unsynced'), 0)
    const generation = fs.generation
    fs.processCrash()
    assert.equal(fs.generation, generation + 1)
    await assert.rejects(h.read(new Uint8Array(1), 0, 1, 0), errno('EIO'))
    await assert.rejects(h.write(new Uint8Array(1), 0), errno('EIO'))
    await assert.rejects(h.sync(), errno('EIO'))
    assert.deepEqual(await fs.list('/d'), ['f'])
    assert.equal(new TextDecoder().decode(await fs.readFile('/d/f')), 'unsynced')
    // Still unsynced: a power loss after the crash can lose it.
    fs.powerLoss({ keep: 'synced-only' })
    assert.equal(await fs.stat('/d'), undefined)
  })

  test('powerLoss implies processCrash', async () => {
    const fs = new MemoryFileSystem({ seed: 1 })
    const h = await fs.open('/f', 'createNew')
    const generation = fs.generation
    fs.powerLoss()
    assert.equal(fs.generation, generation + 1)
    await assert.rejects(h.size(), errno('EIO'))
  })
})

describe('MemoryFileSystem crash model: writeback errors (errseq)', () => {
  test('a failed sync marks the pages clean without persisting them; a later successful sync does not bring them back', async () => {
    const fs = await syncedFile(1, 1, 0xaa)
    const h = await fs.open('/d/f', 'readWrite')
    await h.write(page(0xbb), 0)
    await h.append(page(0xcc))
    fs.failNextSync('/d/f')
    await assert.rejects(h.sync(), errno('EIO'))
    assert.deepEqual(pageFills(await fs.readFile('/d/f')), [0xbb, 0xcc], 'reads still see the lost pages')
    await h.sync()
    await h.close()
    fs.powerLoss({ keep: 'all' })
    // The size (metadata) reached the disk with the later sync; the pages never did.
    assert.deepEqual(pageFills(await fs.readFile('/d/f')), [0xaa, 0])
  })

  test('each descriptor open on the file reports the error from exactly one later sync', async () => {
    const fs = await syncedFile(1, 1, 0xaa)
    const a = await fs.open('/d/f', 'readWrite')
    const b = await fs.open('/d/f', 'read')
    await a.write(page(0xbb), 0)
    fs.failNextSync('/d/f')
    await assert.rejects(a.sync(), errno('EIO'))
    await a.sync()
    await assert.rejects(b.sync(), errno('EIO'), 'the other descriptor reports it too')
    await b.sync()
    const later = await fs.open('/d/f', 'read')
    await later.sync() // opened after a descriptor reported it: not reported again
  })

  test('a descriptor opened after the failure reports it only if no descriptor has yet', async () => {
    const fs = await syncedFile(1, 1, 0xaa)
    const a = await fs.open('/d/f', 'readWrite')
    await a.write(page(0xbb), 0)
    const b = await fs.open('/d/f', 'readWrite')
    fs.failNextSync('/d/f')
    await assert.rejects(a.sync(), errno('EIO'))
    const c = await fs.open('/d/f', 'read')
    await c.sync() // opened after `a` reported it
    await assert.rejects(b.sync(), errno('EIO'), 'b was open at the failure')
    await b.sync()

    // The kernel's own writeback fails while no descriptor is open: the next opener is told.
    const w = await fs.open('/d/f', 'readWrite')
    await w.write(page(0xcc), 0)
    await w.close()
    fs.failNextSync('/d/f')
    fs.backgroundWriteback('/d/f')
    fs.processCrash()
    const x = await fs.open('/d/f', 'read')
    const y = await fs.open('/d/f', 'read')
    await assert.rejects(x.sync(), errno('EIO'), 'an unreported error is reported to a later opener')
    await assert.rejects(y.sync(), errno('EIO'), 'to every descriptor that sampled it unreported')
    const z = await fs.open('/d/f', 'read')
    await z.sync()
  })

  test('background writeback persists unsynced pages without any sync', async () => {
    const fs = await syncedFile(1, 1, 0xaa)
    const h = await fs.open('/d/f', 'readWrite')
    await h.append(page(0xbb))
    await h.close()
    fs.backgroundWriteback('/d/f')
    fs.powerLoss({ keep: 'synced-only' })
    assert.deepEqual(pageFills(await fs.readFile('/d/f')), [0xaa, 0xbb])
  })

  test('two concurrent syncs on one descriptor: only one of them gets the error', async () => {
    const fs = await syncedFile(1, 1, 0xaa)
    const h = await fs.open('/d/f', 'readWrite')
    await h.write(page(0xbb), 0)
    fs.failNextSync('/d/f')
    const release = fs.holdSyncs()
    const first = h.sync()
    const second = h.sync()
    release()
    const results = await Promise.allSettled([first, second])
    assert.equal(results.filter((r) => r.status === 'rejected').length, 1, 'exactly one sync reports the error')
    fs.powerLoss({ keep: 'all' })
    assert.deepEqual(pageFills(await fs.readFile('/d/f')), [0xaa], 'the page was lost though one sync succeeded')
  })

  test('FaultFileSystem: an injected sync failure over MemoryFileSystem is a writeback failure', async () => {
    const mem = await syncedFile(1, 1, 0xaa)
    const fs = new FaultFileSystem(mem)
    const a = await fs.open('/d/f', 'readWrite')
    const b = await fs.open('/d/f', 'read')
    await a.write(page(0xbb), 0)
    fs.failWhen((op) => op.name === 'sync', { once: true })
    await assert.rejects(a.sync(), errno('EIO'))
    await a.sync()
    await assert.rejects(b.sync(), errno('EIO'), 'the other descriptor reports the writeback error')
    assert.deepEqual(pageFills(await fs.readFile('/d/f')), [0xbb])
    mem.powerLoss({ keep: 'all' })
    assert.deepEqual(pageFills(await mem.readFile('/d/f')), [0xaa], 'the failed pages never reached the disk')
  })

  test('FaultFileSystem.failNextSync reaches the MemoryFileSystem underneath, through nested wrappers', async () => {
    const mem = await syncedFile(1, 1, 0xaa)
    const fs = new FaultFileSystem(new FaultFileSystem(mem))
    const h = await fs.open('/d/f', 'readWrite')
    await h.write(page(0xbb), 0)
    fs.failNextSync('/d/f')
    await assert.rejects(h.sync(), errno('EIO'))
    mem.powerLoss({ keep: 'all' })
    assert.deepEqual(pageFills(await mem.readFile('/d/f')), [0xaa])
  })
})

describe('MemoryFileSystem crash model: syncs in flight', () => {
  test('holdSyncs keeps a sync in flight until released; it persists what was written before it started', async () => {
    const fs = await syncedFile(1, 1, 0xaa)
    const h = await fs.open('/d/f', 'readWrite')
    await h.write(page(0xbb), 0)
    const release = fs.holdSyncs()
    let done = false
    const sync = h.sync().then(() => {
      done = true
    })
    for (let i = 0; i < 5; i++) await turn()
    assert.equal(done, false, 'the sync is held')
    await h.write(page(0xcc), 0) // while the sync is in flight
    await h.append(page(0xdd))
    release()
    await sync
    assert.equal(done, true)
    await h.close()
    fs.powerLoss({ keep: 'synced-only' })
    assert.deepEqual(pageFills(await fs.readFile('/d/f')), [0xbb], 'the sync persisted the page as it was when it started')
  })

  test('a sync in flight when the process crashes fails and persists nothing', async () => {
    const fs = await syncedFile(1, 1, 0xaa)
    const h = await fs.open('/d/f', 'readWrite')
    await h.write(page(0xbb), 0)
    const release = fs.holdSyncs()
    const sync = h.sync()
    fs.processCrash()
    release()
    await assert.rejects(sync, errno('EIO'))
    fs.powerLoss({ keep: 'synced-only' })
    assert.deepEqual(pageFills(await fs.readFile('/d/f')), [0xaa])
  })

  test('holdSyncs holds directory syncs only when asked; a held syncDir persists the operations before it', async () => {
    const fs = await syncedFile(1, 0, 0)
    const filesOnly = fs.holdSyncs()
    await fs.syncDir('/d') // not held
    filesOnly()
    const release = fs.holdSyncs({ dirs: true })
    await (await fs.open('/d/a', 'createNew')).close()
    let done = false
    const sync = fs.syncDir('/d').then(() => {
      done = true
    })
    for (let i = 0; i < 5; i++) await turn()
    assert.equal(done, false)
    await (await fs.open('/d/b', 'createNew')).close()
    release()
    await sync
    fs.powerLoss({ keep: 'synced-only' })
    assert.deepEqual(await fs.list('/d'), ['a', 'f'])
  })
})

describe('MemoryFileSystem crash model: seeds', () => {
  async function scenario(seed: number): Promise<string> {
    const fs = await syncedFile(seed, 4, 0xaa)
    const h = await fs.open('/d/f', 'readWrite')
    for (let i = 0; i < 8; i++) await h.write(page(i + 1), i * pageBytes)
    for (let i = 0; i < 6; i++) await (await fs.open(`/d/n${i}`, 'createNew')).close()
    fs.powerLoss()
    return JSON.stringify([pageFills(await fs.readFile('/d/f')), await fs.list('/d')])
  }

  test('the same seed and the same operations give the same survivors', async () => {
    const outcomes = new Set<string>()
    for (const seed of seeds.slice(0, 20)) {
      const once = await scenario(seed)
      assert.equal(await scenario(seed), once, `seed ${seed} replays`)
      outcomes.add(once)
    }
    assert.ok(outcomes.size > 1, 'different seeds give different survivors')
  })

  test('the seed comes from the constructor, else CAIRN_SEED, and fs.seed tells it', () => {
    assert.equal(new MemoryFileSystem({ seed: 42 }).seed, 42)
    const saved = process.env.CAIRN_SEED
    try {
      process.env.CAIRN_SEED = '1234'
      assert.equal(new MemoryFileSystem().seed, 1234)
      delete process.env.CAIRN_SEED
      const seed = new MemoryFileSystem().seed
      assert.ok(Number.isInteger(seed) && seed >= 0)
    } finally {
      if (saved === undefined) delete process.env.CAIRN_SEED
      else process.env.CAIRN_SEED = saved
    }
  })
})
