import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { cairn } from '../helpers/cli-helpers.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'

describe('cli: kv', () => {
  let tmp: TempDir
  let data: string
  before(async () => {
    tmp = await makeTempDir('cairn-cli-kv-')
    data = `${tmp.path}/store`
    assert.equal((await cairn(['init', '--data', data])).code, 0)
  })
  after(async () => {
    await tmp.cleanup()
  })

  test('put (args and stdin), get, del, scan --json', async () => {
    const puts = [
      ['kv', 'put', 'users', 'b', 'two'],
      ['kv', 'put', 'users', 'a', 'one'],
    ]
    for (const [i, args] of puts.entries()) {
      const r = await cairn([...args, '--data', data])
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.stdout, `${i + 1}\n`)
    }
    const fromStdin = await cairn(['kv', 'put', 'users', 'c', '--data', data], { stdin: Buffer.from([0xff, 0x00]) })
    assert.equal(fromStdin.stdout, '3\n', fromStdin.stderr)
    const get = await cairn(['kv', 'get', 'users', 'a', '--data', data])
    assert.equal(get.code, 0)
    assert.equal(get.stdout, 'one')
    const getJson = await cairn(['kv', 'get', 'users', 'c', '--json', '--data', data])
    assert.equal(getJson.code, 0, getJson.stderr)
    assert.deepEqual(JSON.parse(getJson.stdout), { key: 'c', valueBase64: Buffer.from([0xff, 0x00]).toString('base64') })
    const scan = await cairn(['kv', 'scan', 'users', '--json', '--data', data])
    assert.equal(scan.code, 0, scan.stderr)
    assert.deepEqual(
      scan.stdout.trim().split('\n').map((l) => JSON.parse(l)),
      [
        { key: 'a', value: 'one' },
        { key: 'b', value: 'two' },
        { key: 'c', valueBase64: Buffer.from([0xff, 0x00]).toString('base64') },
      ],
    )
    const range = await cairn(['kv', 'scan', 'users', '--gte', 'b', '--lt', 'c', '--data', data])
    assert.equal(range.stdout, 'b\ttwo\n')
    const limited = await cairn(['kv', 'scan', 'users', '--limit', '1', '--data', data])
    assert.equal(limited.stdout, 'a\tone\n')
    const del = await cairn(['kv', 'del', 'users', 'a', '--data', data])
    assert.equal(del.stdout, '4\n')
  })

  test('get of a missing key exits 1 with KEY_NOT_FOUND; bad input exits 2', async () => {
    const [missing, badId, badLimit] = await Promise.all([
      cairn(['kv', 'get', 'users', 'nope', '--data', data]),
      cairn(['kv', 'put', 'Users', 'k', 'v', '--data', data]),
      cairn(['kv', 'scan', 'users', '--limit', 'x', '--data', data]),
    ])
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /^error KEY_NOT_FOUND: /)
    assert.equal(missing.stdout, '')
    assert.equal(badId.code, 2)
    assert.match(badId.stderr, /^error INVALID_PARTITION_ID: /)
    assert.equal(badLimit.code, 2)
  })

  test('an empty key exits 1 with KEY_EMPTY; a 64 KiB key is stored, one byte more exits 1 with KEY_TOO_LARGE', async () => {
    const [emptyPut, emptyGet, emptyDel] = await Promise.all([
      cairn(['kv', 'put', 'keys', '', 'v', '--data', data]),
      cairn(['kv', 'get', 'keys', '', '--data', data]),
      cairn(['kv', 'del', 'keys', '', '--data', data]),
    ])
    for (const r of [emptyPut, emptyGet, emptyDel]) {
      assert.equal(r.code, 1, r.stderr)
      assert.match(r.stderr, /^error KEY_EMPTY: /)
    }
    const key = 'k'.repeat(64 * 1024)
    const ok = await cairn(['kv', 'put', 'keys', key, 'v', '--data', data])
    assert.equal(ok.code, 0, ok.stderr)
    const back = await cairn(['kv', 'get', 'keys', key, '--data', data])
    assert.equal(back.stdout, 'v', back.stderr)
    const over = await cairn(['kv', 'put', 'keys', `${key}k`, 'v', '--data', data])
    assert.equal(over.code, 1)
    assert.match(over.stderr, /^error KEY_TOO_LARGE: /)
  })
})
