/**
 * The package's public surface, as a user imports it: `cairn` (src/index.ts) and `cairn/testing`
 * (src/testing/index.ts). In CI (`CI` set; .ci/run builds before it tests) the built package is
 * imported through its own `exports` map (`import('cairn')` resolves to dist/), so a missing
 * build output or a wrong path in package.json fails here; elsewhere the source entries are
 * imported and the map is checked to point at what the build emits from them.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
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

type Subpath = '' | '/testing' | '/snapshot' | '/objectstore' | '/checkpoint' | '/ingest'

async function entry(subpath: Subpath): Promise<Record<string, unknown>> {
  if (built) return import(`cairn${subpath}`)
  return import(subpath === '' ? '../src/index.js' : `../src${subpath}/index.js`)
}

/**
 * The packages a module loads at import, following its static relative imports (not `import
 * type`, not `await import()`) through the source tree.
 */
function packagesLoadedBy(file: string): Set<string> {
  const seen = new Set<string>()
  const packages = new Set<string>()
  const visit = (path: string): void => {
    if (seen.has(path)) return
    seen.add(path)
    const text = readFileSync(path, 'utf8')
    for (const m of text.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?\bfrom\s+'([^']+)'/gms)) {
      const spec = m[1]!
      if (spec.startsWith('.')) visit(fileURLToPath(new URL(spec.replace(/\.js$/, '.ts'), pathToFileURL(path))))
      else if (!spec.startsWith('node:')) packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!)
    }
  }
  visit(fileURLToPath(new URL(file, import.meta.url)))
  return packages
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
const testingValues = ['MemoryFileSystem', 'FaultFileSystem', 'MemoryLog', 'MemoryObjectStore', 'FaultObjectStore']
/** The capabilities with their own entries, and a value each must export. */
const subpathValues: Record<Exclude<Subpath, '' | '/testing'>, string[]> = {
  '/snapshot': ['SnapshotRepository', 'SnapshotManager', 'SnapshotPolicy', 'restoreFromRepository'],
  '/objectstore': ['openObjectStore', 'FileObjectStore', 'S3ObjectStore', 'probeConditionalWrites'],
  '/checkpoint': ['checkpoint', 'verifyCheckpoint', 'restoreCheckpoint'],
  '/ingest': ['PostgresIngester', 'superviseIngest', 'dropIngest', 'readIngestStatus'],
}

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

  test(`cairn/snapshot, /objectstore, /checkpoint and /ingest export their capability (${built ? 'built package' : 'source entry'})`, async () => {
    for (const [subpath, names] of Object.entries(subpathValues)) {
      const mod = await entry(subpath as Subpath)
      for (const name of names) assert.equal(typeof mod[name], 'function', `cairn${subpath} exports ${name}`)
    }
    assert.deepEqual(
      Object.keys(packageJson.exports).sort(),
      ['.', './package.json', './testing', ...Object.keys(subpathValues).map((s) => `.${s}`)].sort(),
      'package.json maps exactly these entries',
    )
  })

  test('importing cairn or cairn/testing loads neither the AWS SDK nor the Postgres client', () => {
    for (const file of ['../src/index.ts', '../src/testing/index.ts']) {
      const heavy = [...packagesLoadedBy(file)].filter((p) => p.startsWith('@aws-sdk/') || p === 'pg' || p === 'pg-logical-replication')
      assert.deepEqual(heavy, [], `${file} loads ${heavy.join(', ')} at import`)
    }
    // The walk does see them where they are: it is not blind.
    assert.ok(packagesLoadedBy('../src/objectstore/index.ts').has('@aws-sdk/client-s3'))
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
