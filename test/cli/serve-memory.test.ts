/**
 * `cairn serve --memory-bytes-max` and `--open-partitions-max`: bad values are refused before
 * anything starts; under a descriptor limit far below the partitions written, a bound on open
 * partitions keeps the server answering (without it, the server runs out of descriptors), and
 * `/v1/status` lists every partition without opening them.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { makeTempDir } from '../helpers/temp-dir.js'
import { startServe } from '../helpers/serve-process.js'
import { cairn } from '../helpers/cli-helpers.js'

describe('serve: memory and open-partition bounds', () => {
  test('a memory budget below the minimum or a zero bound is a usage error', async () => {
    const tmp = await makeTempDir('cairn-serve-mem-')
    try {
      const low = await cairn(['serve', '--port', '0', '--data', `${tmp.path}/s`, '--memory-bytes-max', '1024'])
      assert.notEqual(low.code, 0)
      assert.match(low.stderr, /memory-bytes-max must be between/)
      const zero = await cairn(['serve', '--port', '0', '--data', `${tmp.path}/s`, '--open-partitions-max', '0'])
      assert.notEqual(zero.code, 0)
      assert.match(zero.stderr, /open-partitions-max must be between/)
    } finally {
      await tmp.cleanup()
    }
  })

  test('150 partitions under `ulimit -n 96` with --open-partitions-max 8: every write answered, status lists all', async () => {
    const s = await startServe(['--max-partitions', '100000', '--open-partitions-max', '8', '--memory-bytes-max', String(8 * 1024 * 1024)], {
      shell: 'ulimit -n 96',
    })
    try {
      for (let i = 0; i < 150; i++) {
        const res = await fetch(`${s.url}/v1/partitions/fd-${i}/records`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"records":[{"payload":"x"}]}',
        })
        const text = await res.text()
        assert.equal(res.status, 200, `partition ${i}: ${text}`)
      }
      const status = (await (await fetch(`${s.url}/v1/status`)).json()) as { partitions: Array<{ id: string }> }
      assert.equal(status.partitions.length, 150)
      assert.match(s.stderr(), /"openPartitionsMax":8/)
    } finally {
      await s.stop()
    }
  })
})
