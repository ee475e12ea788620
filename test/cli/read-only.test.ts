/**
 * `cairn info`, `cairn kv get` and `cairn kv scan` beside a running owner: a second process holds
 * the store (its lock) and writes, flushes, compacts and trims while the CLI reads. Each command
 * reads a read-only view as of its start: it sees every write acknowledged before it started.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { after, before, describe, test } from 'node:test'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'
import { cairn } from '../helpers/cli-helpers.js'

const childPath = new URL('./writer-child.ts', import.meta.url).pathname

/** The writer child, with the highest LSN-ordered write it has acknowledged so far. */
class Writer {
  readonly proc: ChildProcess
  acked = 0
  #waiters: Array<() => void> = []
  readonly exited: Promise<number | null>

  constructor(dir: string) {
    this.proc = spawn(process.execPath, ['--import', 'tsx', childPath, dir], { stdio: ['pipe', 'pipe', 'inherit'] })
    this.exited = new Promise((resolve) => this.proc.on('exit', (code) => resolve(code)))
    let buffered = ''
    this.proc.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString()
      const lines = buffered.split('\n')
      buffered = lines.pop()!
      for (const line of lines) {
        const m = /^ack (\d+)$/.exec(line)
        if (m !== null) this.acked = Number(m[1])
      }
      for (const w of this.#waiters.splice(0)) w()
    })
  }

  async waitFor(acked: number): Promise<void> {
    while (this.acked < acked) {
      const exited = this.proc.exitCode !== null
      assert.ok(!exited, 'the writer is running')
      await new Promise<void>((resolve) => this.#waiters.push(resolve))
    }
  }

  async stop(): Promise<void> {
    this.proc.stdin!.end()
    assert.equal(await this.exited, 0)
  }
}

describe('cli: reading beside a running owner', () => {
  let tmp: TempDir
  let data: string
  let writer: Writer
  before(async () => {
    tmp = await makeTempDir('cairn-cli-read-only-')
    data = `${tmp.path}/store`
    assert.equal((await cairn(['init', '--data', data])).code, 0)
    writer = new Writer(data)
    await writer.waitFor(50)
  })
  after(async () => {
    await writer.stop()
    await tmp.cleanup()
  })

  test('writes need the owner: kv put is STORE_LOCKED', async () => {
    const r = await cairn(['kv', 'put', 'p', 'x', 'y', '--data', data])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /STORE_LOCKED/)
  })

  test('kv get sees every write acknowledged before it started', async () => {
    for (let round = 0; round < 2; round++) {
      const before = writer.acked
      const [one, last] = await Promise.all([
        cairn(['kv', 'get', 'p', `k${before}`, '--data', data]),
        cairn(['kv', 'get', 'p', 'last', '--json', '--data', data]),
      ])
      assert.equal(one.code, 0, one.stderr)
      assert.equal(one.stdout, `v${before}`)
      assert.equal(last.code, 0, last.stderr)
      assert.ok(Number(JSON.parse(last.stdout).value) >= before, `last ${last.stdout} >= ${before}`)
      await writer.waitFor(before + 30)
    }
  })

  test('kv scan sees every write acknowledged before it started, and only written values', async () => {
    for (let round = 0; round < 2; round++) {
      const before = writer.acked
      const r = await cairn(['kv', 'scan', 'p', '--json', '--data', data])
      assert.equal(r.code, 0, r.stderr)
      const entries = new Map(r.stdout.trim().split('\n').map((l) => [JSON.parse(l).key as string, JSON.parse(l).value as string]))
      const last = Number(entries.get('last'))
      assert.ok(last >= before, `the scan's last write ${last} >= ${before}`)
      // One state: exactly the writes up to `last`, each with the value written.
      assert.equal(entries.size, last + 1)
      for (let i = 1; i <= last; i++) assert.equal(entries.get(`k${i}`), `v${i}`)
      await writer.waitFor(before + 30)
    }
  })

  test('info says it is a read-only view as of now, in text and --json, without opening partitions', async () => {
    const before = writer.acked
    const startedMs = Date.now()
    const [json, textOut, partJson, partText] = await Promise.all([
      cairn(['info', '--json', '--data', data]),
      cairn(['info', '--data', data]),
      cairn(['info', 'p', '--json', '--data', data]),
      cairn(['info', 'p', '--data', data]),
    ])
    for (const r of [json, textOut, partJson, partText]) assert.equal(r.code, 0, r.stderr)
    const info = JSON.parse(json.stdout)
    assert.equal(info.readOnly, true)
    assert.ok(info.asOfMs >= startedMs)
    assert.deepEqual(
      info.partitions.map((p: { id: string }) => p.id),
      ['p'],
    )
    assert.match(textOut.stdout, /read-only view as of \d{4}-\d\d-\d\dT/)
    assert.match(textOut.stdout, /^ {2}p {2}logId=/m)
    const part = JSON.parse(partJson.stdout)
    assert.equal(part.readOnly, true)
    assert.equal(part.id, 'p')
    // Each write is one LSN: the view's applied LSN covers every acknowledged write.
    assert.ok(part.appliedLsn >= before, `appliedLsn ${part.appliedLsn} >= ${before}`)
    assert.match(partText.stdout, /read-only view as of/)
    assert.match(partText.stdout, /^p {2}.*appliedLsn=\d+/m)
  })
})

describe('cli: reading a store nobody holds', () => {
  test('info, kv get and kv scan own the store as before (no read-only note)', async () => {
    const tmp = await makeTempDir('cairn-cli-read-free-')
    try {
      const data = `${tmp.path}/store`
      assert.equal((await cairn(['kv', 'put', 'p', 'a', '1', '--data', data])).code, 1, 'no store yet')
      assert.equal((await cairn(['init', '--data', data])).code, 0)
      assert.equal((await cairn(['kv', 'put', 'p', 'a', '1', '--data', data])).code, 0)
      // One at a time: two at once would find the store held by the other.
      const info = await cairn(['info', '--json', '--data', data])
      const part = await cairn(['info', 'p', '--data', data])
      const get = await cairn(['kv', 'get', 'p', 'a', '--data', data])
      const scan = await cairn(['kv', 'scan', 'p', '--data', data])
      assert.equal(JSON.parse(info.stdout).readOnly, false)
      assert.doesNotMatch(part.stdout, /read-only/)
      assert.match(part.stdout, /^p {2}.*appliedLsn=1/m)
      assert.equal(get.stdout, '1')
      assert.equal(scan.stdout, 'a\t1\n')
    } finally {
      await tmp.cleanup()
    }
  })
})
