/**
 * The server with a snapshot repository: POST /v1/partitions/:p/snapshots (empty body or
 * {"minLsn": N}, zod-validated; STALE_PARTITION and REPOSITORY_FENCED as 409), GET /v1/status
 * with each partition's first LSN, trim holds and last snapshot, bootstrap at a fresh server's
 * first request, two servers racing on one repository (file://, and the compare-and-swap S3 test
 * server through the AWS SDK: only one publishes, the other is fenced until it takes over), and
 * `cairn serve --repo` whose policy snapshots on its own.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { openObjectStore } from '../../src/objectstore/index.js'
import { Store } from '../../src/partition/index.js'
import { createServer } from '../../src/server/create-server.js'
import { SnapshotManager, SnapshotRepository } from '../../src/snapshot/index.js'
import { json, post, startServer } from '../helpers/server-helpers.js'
import { startServe } from '../helpers/serve-process.js'
import { type CasS3Server, startCasS3Server, useTestS3Credentials } from '../helpers/s3-servers.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'

async function serverOnRepo(dir: string, repoUrl: string) {
  const store = await Store.open(dir)
  const objects = await openObjectStore(repoUrl)
  const manager = SnapshotManager.attach(store, await SnapshotRepository.open(objects), { closeObjectStore: true })
  const server = createServer(store, { snapshots: { manager } })
  const { url } = await server.listen(0, '127.0.0.1')
  return { url, store, manager, stop: () => server.close() }
}

async function writeSome(url: string, partition: string, count: number): Promise<void> {
  const records = Array.from({ length: count }, (_, i) => ({ payload: `record ${i} ${'x'.repeat(50)}` }))
  const r = await post(`${url}/v1/partitions/${partition}/records`, { records })
  assert.equal(r.status, 200, await r.text())
}

describe('server: snapshots', () => {
  let tmp: TempDir
  let cas: CasS3Server
  before(async () => {
    tmp = await makeTempDir('cairn-server-snap-')
    useTestS3Credentials()
    cas = await startCasS3Server()
  })
  after(async () => {
    await cas.stop()
    await tmp.cleanup()
  })

  test('POST makes one and answers the fields; minLsn declines (409) or reuses; bad bodies are 400; status shows it', async () => {
    const s = await serverOnRepo(`${tmp.path}/one`, `file://${tmp.path}/repo-one`)
    try {
      await writeSome(s.url, 'p', 20)
      const made = await fetch(`${s.url}/v1/partitions/p/snapshots`, { method: 'POST' })
      assert.equal(made.status, 200)
      const body = await json(made)
      assert.equal(body.partition, 'p')
      assert.equal(body.lsn, 20)
      assert.equal(body.published, true)
      for (const field of ['snapshotId', 'rootHash', 'bytesUploaded', 'chunksUploaded', 'chunksTotal']) assert.ok(field in body, field)
      const stale = await post(`${s.url}/v1/partitions/p/snapshots`, { minLsn: 21 })
      assert.equal(stale.status, 409)
      assert.equal((await json(stale)).error.code, 'STALE_PARTITION')
      await writeSome(s.url, 'p', 5)
      const reused = await json(await post(`${s.url}/v1/partitions/p/snapshots`, { minLsn: 10 }))
      assert.deepEqual([reused.reused, reused.snapshotId, reused.lsn], [true, body.snapshotId, 20])
      for (const bad of [{ minLsn: -1 }, { minLsn: 1.5 }, { other: 1 }, { minLsn: '3' }]) {
        const r = await post(`${s.url}/v1/partitions/p/snapshots`, bad)
        assert.equal(r.status, 400, JSON.stringify(bad))
        assert.equal((await json(r)).error.code, 'INVALID_REQUEST')
      }
      assert.equal((await post(`${s.url}/v1/partitions/p/snapshots`, '{')).status, 400)
      const status = await json(await fetch(`${s.url}/v1/status`))
      assert.equal(status.snapshots.repository, `file://${tmp.path}/repo-one`)
      const p = status.snapshots.partitions.find((x: { partition: string }) => x.partition === 'p')
      assert.equal(p.last.snapshotId, body.snapshotId)
      assert.equal(p.inFlight, false)
      const info = status.partitions.find((x: { id: string }) => x.id === 'p')
      assert.equal(info.firstLsn, 1)
      assert.deepEqual(info.trimHolds, [])
    } finally {
      await s.stop()
    }
  })

  test('a server on a fresh store bootstraps a partition from the repository at its first request', async () => {
    const repo = `file://${tmp.path}/repo-boot`
    const a = await serverOnRepo(`${tmp.path}/boot-a`, repo)
    const fresh = await serverOnRepo(`${tmp.path}/boot-b`, repo)
    try {
      const put = await fetch(`${a.url}/v1/partitions/orders/kv/o1`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: 'shipped' })
      assert.equal(put.status, 200)
      assert.equal((await fetch(`${a.url}/v1/partitions/orders/snapshots`, { method: 'POST' })).status, 200)
      const got = await fetch(`${fresh.url}/v1/partitions/orders/kv/o1`)
      assert.equal(got.status, 200)
      assert.equal(await got.text(), 'shipped')
      const status = await json(await fetch(`${fresh.url}/v1/status`))
      const last = status.snapshots.partitions.find((x: { partition: string }) => x.partition === 'orders').last
      assert.equal(last.source, 'restored')
    } finally {
      await a.stop()
      await fresh.stop()
    }
  })

  test('a server without a repository answers 404 with what to do', async () => {
    const s = await startServer()
    try {
      const r = await fetch(`${s.url}/v1/partitions/p/snapshots`, { method: 'POST' })
      assert.equal(r.status, 404)
      assert.match((await json(r)).error.message, /--repo/)
      assert.equal((await json(await fetch(`${s.url}/v1/status`))).snapshots, undefined)
    } finally {
      await s.stop()
    }
  })

  for (const kind of ['file', 's3'] as const) {
    test(`two servers racing on one ${kind} repository: only one publishes; the other is fenced until it takes over`, async () => {
      const repo = kind === 'file' ? `file://${tmp.path}/repo-race` : cas.url
      const a = await serverOnRepo(`${tmp.path}/${kind}-a`, repo)
      const b = await serverOnRepo(`${tmp.path}/${kind}-b`, repo)
      try {
        await writeSome(a.url, 'shared', 30)
        await writeSome(b.url, 'shared', 40)
        const answers = await Promise.all([a, b].map((s) => fetch(`${s.url}/v1/partitions/shared/snapshots`, { method: 'POST' })))
        const bodies = await Promise.all(answers.map((r) => json(r)))
        const statuses = answers.map((r) => r.status).sort()
        assert.deepEqual(statuses, [200, 409], JSON.stringify(bodies))
        const winner = answers[0]!.status === 200 ? 0 : 1
        const loser = [a, b][1 - winner]!
        assert.equal(bodies[1 - winner].error.code, 'REPOSITORY_FENCED')
        assert.match(bodies[1 - winner].error.message, /take-over/)
        const latest = await loser.manager.repo.latest('shared')
        assert.equal(latest?.snapshots.length, 1, 'one snapshot published')
        assert.equal(latest?.snapshots[0]?.lsn, bodies[winner].lsn)
        // Still fenced on a retry; a take-over publishes and fences the winner in turn.
        assert.equal((await fetch(`${loser.url}/v1/partitions/shared/snapshots`, { method: 'POST' })).status, 409)
        // A take-over publishes only a snapshot newer than the latest: the loser first gets ahead.
        await writeSome(loser.url, 'shared', 100)
        const taken = await post(`${loser.url}/v1/partitions/shared/snapshots`, { takeOver: true })
        assert.equal(taken.status, 200)
        assert.equal((await json(taken)).epoch, 2)
        const winnerServer = [a, b][winner]!
        await writeSome(winnerServer.url, 'shared', 200)
        const fenced = await fetch(`${winnerServer.url}/v1/partitions/shared/snapshots`, { method: 'POST' })
        assert.equal(fenced.status, 409)
        assert.equal((await json(fenced)).error.code, 'REPOSITORY_FENCED')
      } finally {
        await a.stop()
        await b.stop()
      }
    })
  }

  test('cairn serve --repo: the policy snapshots past its threshold on its own', async () => {
    const repo = `file://${tmp.path}/repo-serve`
    const served = await startServe(['--repo', repo, '--snapshot-records', '200', '--snapshot-check-ms', '50'])
    try {
      for (let i = 0; i < 3; i++) await writeSome(served.url, 'auto', 100)
      // Waited for by condition (bounded, so a broken policy fails rather than hangs): the policy's own timer makes it.
      let last: { lsn: number; snapshotId: string } | undefined
      for (let round = 0; last === undefined && round < 1200; round++) {
        const status = await json(await fetch(`${served.url}/v1/status`))
        last = status.snapshots.partitions.find((p: { partition: string }) => p.partition === 'auto')?.last
        if (last === undefined) await new Promise((resolve) => setTimeout(resolve, 25))
      }
      assert.ok(last !== undefined && last.lsn >= 200 && last.lsn <= 300, `a snapshot once past 200 records (${JSON.stringify(last)})`)
      const objects = await openObjectStore(repo)
      try {
        assert.equal((await (await SnapshotRepository.open(objects)).latest('auto'))?.snapshots[0]?.snapshotId, last?.snapshotId)
      } finally {
        await objects.close()
      }
    } finally {
      assert.equal(await served.stop(), 0, served.stderr())
    }
  })
})
