import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { Store } from '../../src/partition/store.js'
import { cairn } from '../helpers/cli-helpers.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'

describe('cli: init, info, log append, log read', () => {
  let tmp: TempDir
  let data: string
  before(async () => {
    tmp = await makeTempDir('cairn-cli-')
    data = `${tmp.path}/store`
  })
  after(async () => {
    await tmp.cleanup()
  })

  test('init creates the store and prints its id; a second init is a no-op', async () => {
    const r = await cairn(['init', '--data', data])
    assert.equal(r.code, 0, r.stderr)
    const id = /^store ([0-9a-f]+) at /.exec(r.stdout)?.[1]
    assert.ok(id, r.stdout)
    const again = await cairn(['init', '--data', data])
    assert.equal(again.code, 0)
    assert.match(again.stdout, new RegExp(`^store ${id} `))
  })

  test('log append with payload arguments prints the last LSN and creates the partition', async () => {
    const r = await cairn(['log', 'append', 'orders', 'one', 'two', 'three', '--data', data])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, '3\n')
  })

  test('log append from stdin: one record per line, bytes kept, CRLF stripped', async () => {
    const input = Buffer.concat([Buffer.from('four\r\nfive\n'), Buffer.from([0xff, 0xfe]), Buffer.from('\nseven')])
    const r = await cairn(['log', 'append', 'orders', '--data', data], { stdin: input })
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, '7\n', 'stdout holds only the LSN')
  })

  test('log append of many stdin lines is batched and complete', async () => {
    const lines = Array.from({ length: 5000 }, (_, i) => `line ${i}`)
    const r = await cairn(['log', 'append', 'many', '--data', data], { stdin: `${lines.join('\n')}\n` })
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, '5000\n')
    const read = await cairn(['log', 'read', 'many', '--json', '--from', '4999', '--data', data])
    assert.deepEqual(
      read.stdout.trim().split('\n').map((l) => JSON.parse(l)),
      [
        { lsn: 4999, payload: 'line 4998' },
        { lsn: 5000, payload: 'line 4999' },
      ],
    )
  })

  test('log read --json: one object per line, payloadBase64 for non-UTF-8', async () => {
    const r = await cairn(['log', 'read', 'orders', '--json', '--data', data])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(
      r.stdout.trim().split('\n').map((l) => JSON.parse(l)),
      [
        { lsn: 1, payload: 'one' },
        { lsn: 2, payload: 'two' },
        { lsn: 3, payload: 'three' },
        { lsn: 4, payload: 'four' },
        { lsn: 5, payload: 'five' },
        { lsn: 6, payloadBase64: Buffer.from([0xff, 0xfe]).toString('base64') },
        { lsn: 7, payload: 'seven' },
      ],
    )
  })

  test('log read --from --limit, plain output is lsn<TAB>payload', async () => {
    const r = await cairn(['log', 'read', 'orders', '--from', '2', '--limit', '2', '--data', data])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, '2\ttwo\n3\tthree\n')
  })

  test('info --json lists partitions without opening them (their files, not their LSNs)', async () => {
    const r = await cairn(['info', '--json', '--data', data])
    assert.equal(r.code, 0, r.stderr)
    const info = JSON.parse(r.stdout)
    assert.match(info.storeId, /^[0-9a-f]+$/)
    const byId = Object.fromEntries(info.partitions.map((p: { id: string }) => [p.id, p]))
    assert.deepEqual(Object.keys(byId).sort(), ['many', 'orders'])
    assert.equal(byId.orders.open, false)
    assert.equal(byId.orders.lastLsn, undefined)
    assert.ok(byId.orders.diskBytes > 0 && byId.orders.fileCount > 0)
    assert.equal(info.openPartitions, 0)
    const plain = await cairn(['info', '--data', data])
    assert.equal(plain.code, 0)
    assert.match(plain.stdout, /orders .*open=false .*diskBytes=\d+/)
  })

  test('usage errors exit 2: bad numbers, unknown options/commands, missing arguments, bad partition ids', async () => {
    const cases = [
      ['log', 'read', 'orders', '--from', 'abc'],
      ['log', 'read', 'orders', '--from', '0'],
      ['log', 'read', 'orders', '--limit', '-3'],
      ['log', 'read', 'orders', '--bogus'],
      ['log', 'read'],
      ['frobnicate'],
      ['log', 'append', 'Orders', 'x'],
      ['log', 'append', '../etc', 'x'],
      ['log', 'read', 'a/b'],
      ['log', 'append', 'empty'],
    ]
    // In parallel: each run is a process start, the slow part of this suite.
    const results = await Promise.all(cases.map((args) => cairn([...args, '--data', data])))
    for (const [i, args] of cases.entries()) {
      const r = results[i]!
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
      assert.notEqual(r.stderr, '', args.join(' '))
      assert.equal(r.stdout, '', args.join(' '))
    }
    const bad = await cairn(['log', 'append', 'Orders', 'x', '--data', data])
    assert.match(bad.stderr, /^error INVALID_PARTITION_ID: /)
    // Nothing was created by any of them.
    const store = await Store.open(data, { create: false })
    try {
      assert.deepEqual(store.partitions(), ['many', 'orders'])
      assert.equal((await store.partition('orders')).lastLsn, 7)
    } finally {
      await store.close()
    }
  })

  test('failures exit 1 with the code: unknown partition, missing store', async () => {
    const r = await cairn(['log', 'read', 'ghost', '--data', data])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /^error PARTITION_NOT_FOUND: partition ghost/)
    const j = await cairn(['log', 'read', 'ghost', '--json', '--data', data])
    assert.equal(j.code, 1)
    assert.equal(JSON.parse(j.stderr).error.code, 'PARTITION_NOT_FOUND')
    const missing = await cairn(['info', '--data', `${tmp.path}/nowhere`])
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /^error STORE_NOT_FOUND: .*cairn init/)
    const big = await cairn(['log', 'append', 'oversized', '--data', data], { stdin: Buffer.alloc(16 * 1024 * 1024 + 1, 0x61) })
    assert.equal(big.code, 1)
    assert.match(big.stderr, /^error RECORD_TOO_LARGE: /)
    const info = await cairn(['info', '--json', '--data', data])
    assert.ok(!JSON.parse(info.stdout).partitions.some((p: { id: string }) => p.id === 'oversized'), 'nothing was created')
  })

  test('--help exits 0', async () => {
    const r = await cairn(['log', 'read', '--help'])
    assert.equal(r.code, 0)
    assert.match(r.stdout, /--follow/)
  })
})
