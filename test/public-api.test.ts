/**
 * The package's public surface, as a user imports it: `cairn` (src/index.ts) and `cairn/testing`
 * (src/testing/index.ts). In CI (`CI` set; .ci/run builds before it tests) the built package is
 * imported through its own `exports` map (`import('cairn')` resolves to dist/), so a missing
 * build output or a wrong path in package.json fails here; elsewhere the source entries are
 * imported and the map is checked to point at what the build emits from them.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import type {
  Bytes,
  BytesScanRange,
  PartitionEntry,
  ReadSnapshot,
  Reducer,
  ReducerTx,
  StateOpInput,
  StateStats,
  StoreReaderOptions,
  WriteBatch,
} from '../src/index.js'
import type { MemoryFileSystemOptions } from '../src/testing/index.js'

const packageJson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
const built = process.env.CI !== undefined && process.env.CI !== ''

async function entry(subpath: '' | '/testing'): Promise<Record<string, unknown>> {
  if (built) return import(`cairn${subpath}`)
  return subpath === '' ? import('../src/index.js') : import('../src/testing/index.js')
}

/** Values (classes, functions) each entry must export; types vanish at run time and are checked by tsc below. */
const mainValues = [
  'CairnError',
  'CorruptionError',
  'IoError',
  'isCairnError',
  'NodeFileSystem',
  'FileLog',
  'isPartitionId',
  'Partition',
  'Store',
  'StoreReader',
  'createServer',
]
const testingValues = ['MemoryFileSystem', 'FaultFileSystem', 'MemoryLog']

describe('public API', () => {
  test('package.json maps cairn and cairn/testing to the build of src/index.ts and src/testing/index.ts', () => {
    assert.deepEqual(packageJson.exports['.'], { types: './dist/index.d.ts', default: './dist/index.js' })
    assert.deepEqual(packageJson.exports['./testing'], { types: './dist/testing/index.d.ts', default: './dist/testing/index.js' })
  })

  test(`cairn exports the engine's classes and functions, and no test double (${built ? 'built package' : 'source entry'})`, async () => {
    const main = await entry('')
    for (const name of mainValues) assert.equal(typeof main[name], 'function', `cairn exports ${name}`)
    for (const name of testingValues) assert.equal(main[name], undefined, `${name} is in cairn/testing, not the main entry`)
  })

  test(`cairn/testing exports the test doubles (${built ? 'built package' : 'source entry'})`, async () => {
    const testing = await entry('/testing')
    for (const name of testingValues) assert.equal(typeof testing[name], 'function', `cairn/testing exports ${name}`)
    assert.deepEqual(Object.keys(testing).sort(), [...testingValues].sort(), 'cairn/testing exports only test doubles')
  })

  test('a partition has no public log (writes go through the apply step; trims respect the floor)', async () => {
    const { Store } = (await entry('')) as { Store: typeof import('../src/index.js').Store }
    const { MemoryFileSystem } = (await entry('/testing')) as { MemoryFileSystem: typeof import('../src/testing/index.js').MemoryFileSystem }
    const store = await Store.open('/data', { fs: new MemoryFileSystem({ seed: 1 }), create: true })
    try {
      const partition = await store.createPartition('p1')
      assert.equal(Object.getOwnPropertyDescriptor(Object.getPrototypeOf(partition), 'log'), undefined, 'Partition.prototype has no log property')
      assert.equal('log' in partition, false, 'a partition has no log property')
    } finally {
      await store.close()
    }
  })
})

// The types public signatures use are exported: this file fails to typecheck if one is missing.
type PublicTypes = [Bytes, BytesScanRange, PartitionEntry, ReadSnapshot, Reducer, ReducerTx, StateOpInput, StateStats, StoreReaderOptions, WriteBatch, MemoryFileSystemOptions]
export type { PublicTypes }
