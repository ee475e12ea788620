/**
 * POST /v1/backups: off (404) without a backup dir; the name is validated (400) and never reused
 * (409); the answer names an absolute path; and the checkpoint, made while writers keep writing,
 * restores to exactly the records acknowledged up to its cut, which holds everything
 * acknowledged before the request was sent.
 */
import assert from 'node:assert/strict'
import { isAbsolute, join } from 'node:path'
import { test } from 'node:test'
import { restoreCheckpoint, verifyCheckpoint } from '../../src/checkpoint/index.js'
import { Store } from '../../src/partition/store.js'
import { json, post, startServer } from '../helpers/server-helpers.js'
import { makeTempDir } from '../helpers/temp-dir.js'

test('without --backup-dir the route answers 404', async () => {
  const s = await startServer()
  try {
    const res = await post(`${s.url}/v1/backups`, {})
    assert.equal(res.status, 404)
    assert.equal((await json(res)).error.code, 'NOT_FOUND')
  } finally {
    await s.stop()
  }
})

test('names: generated when absent, validated (400), never reused (409); path absolute; token applies', async () => {
  const backups = await makeTempDir('cairn-backups-route-')
  const s = await startServer({ backupDir: backups.path, token: 'tok' })
  const auth = { authorization: 'Bearer tok' }
  try {
    await (await s.store.ensurePartition('p1')).append(['x'])
    assert.equal((await post(`${s.url}/v1/backups`, {})).status, 401)

    // No body at all: a generated, time-sortable name.
    const bare = await fetch(`${s.url}/v1/backups`, { method: 'POST', headers: auth })
    assert.equal(bare.status, 200)
    const generated = await json(bare)
    assert.match(generated.name, /^\d{8}t\d{9}z$/)
    assert.ok(isAbsolute(generated.path))
    assert.equal(generated.path, join(backups.path, generated.name))
    assert.deepEqual(generated.partitions, { p1: 1 })

    for (const bad of [{ name: 'Nightly' }, { name: '../up' }, { name: '' }, { name: 7 }, { name: 'ok', extra: true }, []]) {
      const res = await post(`${s.url}/v1/backups`, bad, auth)
      assert.equal(res.status, 400, JSON.stringify(bad))
      assert.equal((await json(res)).error.code, 'INVALID_REQUEST')
    }
    const named = await post(`${s.url}/v1/backups`, { name: 'nightly' }, auth)
    assert.equal(named.status, 200)
    const body = await json(named)
    assert.deepEqual(Object.keys(body).sort(), ['createdAt', 'name', 'partitions', 'path'])
    assert.equal(body.name, 'nightly')
    assert.equal(body.path, join(backups.path, 'nightly'))
    assert.equal((await verifyCheckpoint(body.path)).ok, true)

    const again = await post(`${s.url}/v1/backups`, { name: 'nightly' }, auth)
    assert.equal(again.status, 409)
    assert.equal((await json(again)).error.code, 'TARGET_NOT_EMPTY')
  } finally {
    await s.stop()
    await backups.cleanup()
  }
})

test('concurrent backup requests take turns: every one succeeds, generated names included', async () => {
  const backups = await makeTempDir('cairn-backups-turns-')
  const s = await startServer({ backupDir: backups.path })
  try {
    await (await s.store.ensurePartition('p')).append(['x', 'y'])
    const answers = await Promise.all([
      post(`${s.url}/v1/backups`, { name: 'one' }),
      post(`${s.url}/v1/backups`, {}),
      post(`${s.url}/v1/backups`, { name: 'two' }),
      post(`${s.url}/v1/backups`, {}),
    ])
    const bodies = await Promise.all(answers.map((r) => json(r)))
    assert.deepEqual(
      answers.map((r) => r.status),
      [200, 200, 200, 200],
      JSON.stringify(bodies),
    )
    assert.equal(new Set(bodies.map((b) => b.name)).size, 4)
    for (const b of bodies) {
      assert.deepEqual(b.partitions, { p: 2 })
      assert.equal((await verifyCheckpoint(b.path)).ok, true, b.name)
    }
  } finally {
    await s.stop()
    await backups.cleanup()
  }
})

test('a backup taken while writers write restores to what was acknowledged up to its cut', async () => {
  const backups = await makeTempDir('cairn-backups-live-')
  const s = await startServer({ backupDir: backups.path })
  const restored = await makeTempDir('cairn-backups-restored-')
  let stop = false
  let acked = 0
  const writer = async (): Promise<void> => {
    // One awaited append at a time: the payload of LSN n is `r<n>`.
    for (let n = 1; !stop; n++) {
      const res = await post(`${s.url}/v1/partitions/w/records`, { records: [{ payload: `r${n}` }] })
      assert.deepEqual(await json(res), { lsn: n })
      acked = n
    }
  }
  try {
    const writing = writer()
    const answers = []
    for (let round = 0; round < 3; round++) {
      while (acked < (round + 1) * 20) await new Promise((r) => setTimeout(r, 5))
      const ackedBefore = acked
      const res = await post(`${s.url}/v1/backups`, {})
      assert.equal(res.status, 200)
      const body = await json(res)
      assert.ok(body.partitions.w >= ackedBefore, `the cut ${body.partitions.w} holds every write acknowledged before the call (${ackedBefore})`)
      answers.push(body)
    }
    stop = true
    await writing
    for (const [i, body] of answers.entries()) {
      const to = join(restored.path, `r${i}`)
      await restoreCheckpoint(body.path, to)
      const store = await Store.open(to, { create: false })
      try {
        const p = await store.partition('w')
        assert.equal(p.lastLsn, body.partitions.w)
        let expected = 1
        for await (const e of p.read({ fromLsn: 1 })) {
          assert.equal(e.lsn, expected)
          assert.equal(Buffer.from(e.payload).toString(), `r${expected}`)
          expected++
        }
        assert.equal(expected - 1, body.partitions.w)
      } finally {
        await store.close()
      }
    }
  } finally {
    stop = true
    await s.stop()
    await backups.cleanup()
    await restored.cleanup()
  }
})
