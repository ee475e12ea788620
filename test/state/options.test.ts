/** Every state option is checked when a tree opens: out of bounds is INVALID_CONFIG naming it. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CairnError, MemoryFileSystem } from '../../src/io/index.js'
import { BlockCache, LsmTree, type StateOptions, stateOptionBounds } from '../../src/state/index.js'

const isInvalid = (option: string) => (e: unknown): boolean =>
  e instanceof CairnError && e.code === 'INVALID_CONFIG' && e.context.option === option && e.message.includes(option)

test('state options: each numeric option out of its bounds, or not a number, is INVALID_CONFIG and writes nothing', async () => {
  const fs = new MemoryFileSystem()
  for (const [name, { min, max }] of Object.entries(stateOptionBounds)) {
    for (const bad of [min - 1, max + 1, Number.NaN, Number.POSITIVE_INFINITY, '7' as unknown as number]) {
      await assert.rejects(LsmTree.open({ fs, dir: '/s', [name]: bad } as StateOptions), isInvalid(name), `${name} = ${String(bad)}`)
    }
  }
  for (const name of ['memtableBytesMax', 'blockBytes', 'tableBytesTarget', 'level0TableCountTrigger', 'rangeTombstoneCountTrigger']) {
    await assert.rejects(LsmTree.open({ fs, dir: '/s', [name]: 1024.5 } as StateOptions), isInvalid(name), `${name} must be an integer`)
  }
  for (const name of ['autoCompact', 'readOnly']) {
    await assert.rejects(LsmTree.open({ fs, dir: '/s', [name]: 'yes' } as unknown as StateOptions), isInvalid(name))
  }
  await assert.rejects(LsmTree.open({ fs, dir: '' }), isInvalid('dir'))
  await assert.rejects(LsmTree.open({ fs, dir: '/s', blockCache: {} as BlockCache }), isInvalid('blockCache'))
  // Tables of more blocks than the block cache keys apart.
  await assert.rejects(LsmTree.open({ fs, dir: '/s', blockBytes: 64, tableBytesTarget: 16 * 1024 * 1024 * 1024 }), isInvalid('blockBytes'))
  assert.deepEqual(await fs.list('/'), [], 'a refused open creates nothing')
  // The bounds themselves are accepted.
  const low = Object.fromEntries(Object.entries(stateOptionBounds).map(([n, b]) => [n, b.min]))
  const tree = await LsmTree.open({ fs, dir: '/low', ...low, blockBytes: 1024 } as StateOptions)
  tree.apply(1, [{ type: 'put', key: Buffer.from('k'), value: Buffer.from('v') }])
  await tree.flush()
  assert.equal(Buffer.from((await tree.get(Buffer.from('k')))!).toString(), 'v')
  await tree.close()
  const shared = await LsmTree.open({ fs, dir: '/shared', blockCache: new BlockCache(0) })
  await shared.close()
})
