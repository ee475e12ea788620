import assert from 'node:assert/strict'
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises'
import { after, before, describe, test } from 'node:test'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'
import { cairn } from './cli-helpers.js'

describe('cli: a store missing its catalog or holding orphans', () => {
  let tmp: TempDir
  before(async () => {
    tmp = await makeTempDir('cairn-cli-recovery-')
  })
  after(async () => {
    await tmp.cleanup()
  })

  test('init after catalog.json was removed keeps the data and fails with CORRUPT_CATALOG', async () => {
    const data = `${tmp.path}/no-catalog`
    assert.equal((await cairn(['init', '--data', data])).code, 0)
    assert.equal((await cairn(['log', 'append', 'orders', 'one', '--data', data])).code, 0)
    assert.equal((await cairn(['log', 'append', 'users', 'two', '--data', data])).code, 0)
    await rm(`${data}/catalog.json`)
    for (const args of [['init'], ['info', '--json']]) {
      const r = await cairn([...args, '--data', data])
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}`)
      assert.match(r.stderr, /CORRUPT_CATALOG/)
      assert.match(r.stderr, /backup/)
    }
    assert.deepEqual(await readdir(`${data}/partitions`), ['orders', 'users'])
    assert.ok((await readdir(`${data}/partitions/orders/logs`)).length > 0)
    assert.ok(!(await readdir(data)).includes('catalog.json'))
  })

  test('a partition directory the catalog does not list is moved to lost+found and shown by info', async () => {
    const data = `${tmp.path}/orphan`
    assert.equal((await cairn(['init', '--data', data])).code, 0)
    assert.equal((await cairn(['log', 'append', 'orders', 'one', '--data', data])).code, 0)
    await mkdir(`${data}/partitions/ghost/log`, { recursive: true })
    await writeFile(`${data}/partitions/ghost/log/keep-me`, 'precious')
    const r = await cairn(['info', '--json', '--data', data])
    assert.equal(r.code, 0, r.stderr)
    const info = JSON.parse(r.stdout)
    assert.deepEqual(
      info.partitions.map((p: { id: string }) => p.id),
      ['orders'],
    )
    assert.equal(info.lostAndFound.length, 1)
    assert.match(info.lostAndFound[0], /^ghost/)
    assert.deepEqual(await readdir(`${data}/partitions`), ['orders'])
    assert.deepEqual(await readdir(`${data}/lost+found/${info.lostAndFound[0]}/log`), ['keep-me'])
    const plain = await cairn(['info', '--data', data])
    assert.match(plain.stdout, /lost\+found/)
  })
})
