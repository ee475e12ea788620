/**
 * `cairn snapshot create` and `cairn snapshot restore` on a file:// repository: JSON lines with
 * the fields scripts need, --min-lsn (STALE_PARTITION, reuse), a restore into a new data
 * directory equal to the source, and fencing (the restored store publishes only with
 * --take-over, which fences the source).
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { Store } from '../../src/partition/index.js'
import { cairn } from '../helpers/cli-helpers.js'
import { stateOf, writeRecords } from '../helpers/snapshot-store-helpers.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'

const lines = (text: string) =>
  text
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>)

describe('cli: snapshot create / restore', () => {
  let tmp: TempDir
  let data: string
  let repo: string
  before(async () => {
    tmp = await makeTempDir('cairn-cli-snap-')
    data = `${tmp.path}/source`
    repo = `file://${tmp.path}/repo`
    const store = await Store.open(data)
    await writeRecords(await store.createPartition('orders'), 1, 400, 50)
    await writeRecords(await store.createPartition('users'), 1, 30, 10)
    await store.close()
  })
  after(async () => {
    await tmp.cleanup()
  })

  test('create --json: one line per partition with the fields; --min-lsn declines and reuses', async () => {
    const r = await cairn(['snapshot', 'create', '--repo', repo, '--data', data, '--json'])
    assert.equal(r.code, 0, r.stderr)
    const out = lines(r.stdout)
    assert.deepEqual(
      out.map((o) => [o.partition, o.lsn, o.published]),
      [
        ['orders', 400, true],
        ['users', 30, true],
      ],
    )
    for (const o of out) {
      for (const field of ['snapshotId', 'rootHash', 'bytesUploaded', 'chunksUploaded', 'chunksTotal']) assert.ok(field in o, `${field} in ${JSON.stringify(o)}`)
      assert.match(String(o.rootHash), /^[0-9a-f]{64}$/)
    }
    const stale = await cairn(['snapshot', 'create', '--repo', repo, '--data', data, '--partition', 'users', '--min-lsn', '31', '--json'])
    assert.equal(stale.code, 1)
    assert.equal(JSON.parse(stale.stderr.trim().split('\n').at(-1)!).error.code, 'STALE_PARTITION')
    const reused = await cairn(['snapshot', 'create', '--repo', repo, '--data', data, '--partition', 'users', '--min-lsn', '20', '--json'])
    assert.equal(reused.code, 0, reused.stderr)
    const [one] = lines(reused.stdout)
    assert.equal(one!.reused, true)
    assert.equal(one!.snapshotId, out[1]!.snapshotId)
    assert.equal(one!.bytesUploaded, 0)
    const plain = await cairn(['snapshot', 'create', '--repo', repo, '--data', data, '--partition', 'orders'])
    assert.equal(plain.code, 0, plain.stderr)
    assert.match(plain.stdout, /^orders: snapshot \S+ at LSN 400 already in the repository/)
  })

  test('restore into a new data directory equals the source; it publishes only with --take-over', async () => {
    const target = `${tmp.path}/restored`
    const r = await cairn(['snapshot', 'restore', '--repo', repo, '--data', target, '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(
      lines(r.stdout).map((o) => [o.partition, o.lsn, o.keptLog]),
      [
        ['orders', 400, false],
        ['users', 30, false],
      ],
    )
    const source = await Store.open(data)
    const restored = await Store.open(target)
    for (const id of ['orders', 'users']) assert.deepEqual(await stateOf(await restored.partition(id)), await stateOf(await source.partition(id)), id)
    await writeRecords(await restored.partition('users'), 31, 40, 10)
    await source.close()
    await restored.close()
    const fenced = await cairn(['snapshot', 'create', '--repo', repo, '--data', target, '--partition', 'users'])
    assert.equal(fenced.code, 1)
    assert.match(fenced.stderr, /REPOSITORY_FENCED.*--take-over/)
    const taken = await cairn(['snapshot', 'create', '--repo', repo, '--data', target, '--partition', 'users', '--take-over', '--json'])
    assert.equal(taken.code, 0, taken.stderr)
    assert.deepEqual([lines(taken.stdout)[0]!.lsn, lines(taken.stdout)[0]!.epoch], [40, 2])
  })
})
