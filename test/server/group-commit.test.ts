/**
 * Concurrent one-record appends through the server share fsyncs (group commit): nothing on the
 * request path (per-socket ordering, the partition limiter, body reading) may serialize requests
 * to one partition, or each would pay a sync of its own. Syncs are held until every request has
 * reached the partition, then released; the count of syncs is what is checked, never a time.
 */
import assert from 'node:assert/strict'
import { Agent, request } from 'node:http'
import { describe, test } from 'node:test'
import { NodeFileSystem, type OperationName } from '../../src/io/index.js'
import { type Partition, Store } from '../../src/partition/index.js'
import { createServer } from '../../src/server/create-server.js'
import { GatedFileSystem } from '../helpers/held-file-systems.js'
import { makeTempDir } from '../helpers/temp-dir.js'

class CountingFileSystem extends GatedFileSystem {
  syncs = 0
  override async run<T>(name: OperationName, path: string, action: () => Promise<T>, onFault?: () => Promise<unknown>): Promise<T> {
    if (name === 'sync') this.syncs += 1
    return await super.run(name, path, action, onFault)
  }
}

function postRecord(port: number, agent: Agent, payload: string): Promise<{ status: number; body: string }> {
  const body = JSON.stringify({ records: [{ payload }] })
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, agent, method: 'POST', path: '/v1/partitions/bench/records', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }))
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve))

describe('server: group commit through HTTP', () => {
  test('64 concurrent one-record appends on 64 keep-alive sockets share a handful of fsyncs', async () => {
    const clients = 64
    const tmp = await makeTempDir('cairn-server-gc-')
    const fs = new CountingFileSystem(new NodeFileSystem())
    const store = await Store.open(tmp.path, { fs })
    const server = createServer(store)
    const agent = new Agent({ keepAlive: true, maxSockets: clients })
    try {
      const { port } = await server.listen(0, '127.0.0.1')
      // Created (and its files synced) before counting starts.
      assert.equal((await postRecord(port, agent, 'first')).status, 200)
      const partition: Partition = await store.partition('bench')
      let entered = 0
      const append = partition.append.bind(partition)
      partition.append = (payloads) => {
        entered += 1
        return append(payloads)
      }
      fs.hold()
      const syncsBefore = fs.syncs
      const answers = Array.from({ length: clients }, (_, i) => postRecord(port, agent, `record ${i}`))
      // Every request is parsed and its handler running while the disk holds the syncs already
      // started; then each gets some turns to reach the partition. A request serialized behind
      // another's held sync never does: release anyway, and the sync count tells.
      while (server.inFlight < clients) await turn()
      for (let i = 0; i < 200 && entered < clients; i++) await turn()
      for (let i = 0; i < 10; i++) await turn()
      fs.release()
      const results = await Promise.all(answers)
      for (const r of results) assert.equal(r.status, 200, r.body)
      const lsns = results.map((r) => (JSON.parse(r.body) as { lsn: number }).lsn).sort((a, b) => a - b)
      assert.deepEqual(lsns, Array.from({ length: clients }, (_, i) => i + 2), 'one LSN each, none lost')
      const syncs = fs.syncs - syncsBefore
      // The log keeps at most a few group syncs in flight (syncDepthMax = 3) and writes everything
      // queued behind them as one more group: one sync per request would be 64.
      assert.ok(syncs <= 8, `${clients} concurrent appends took ${syncs} fsyncs: requests were serialized instead of sharing group commits`)
    } finally {
      fs.release()
      agent.destroy()
      await server.close()
      await tmp.cleanup()
    }
  })
})
