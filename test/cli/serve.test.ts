import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { after, before, test } from 'node:test'
import { Store } from '../../src/partition/store.js'
import { cliArgs, repoRoot } from '../helpers/cli-helpers.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'

let tmp: TempDir
before(async () => {
  tmp = await makeTempDir('cairn-cli-serve-')
})
after(async () => {
  await tmp.cleanup()
})

test('serve answers, requires its token, and exits 0 on SIGTERM with the store closed', async () => {
  const data = `${tmp.path}/store`
  const child = spawn(process.execPath, [...cliArgs, 'serve', '--port', '0', '--data', data], {
    cwd: repoRoot,
    env: { ...process.env, CAIRN_TOKEN: 'tok' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (c) => {
        stderr += c
        const m = /"url":"(http:\/\/[^"]+)"/.exec(stderr)
        if (m) resolve(m[1]!)
      })
      child.on('close', () => reject(new Error(`serve exited early: ${stderr}`)))
    })
    const denied = await fetch(`${url}/v1/status`)
    assert.equal(denied.status, 401)
    const auth = { authorization: 'Bearer tok' }
    const status = await fetch(`${url}/v1/status`, { headers: auth })
    assert.equal(status.status, 200)
    assert.equal(((await status.json()) as { ok: boolean }).ok, true)
    const append = await fetch(`${url}/v1/partitions/p/records`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ records: [{ payload: 'hello' }] }),
    })
    assert.deepEqual(await append.json(), { lsn: 1 })
  } finally {
    child.kill('SIGTERM')
  }
  assert.equal(await exited, 0, stderr)
  assert.match(stderr, /"msg":"stopped"/)
  // The lock was released and the record is on disk.
  const store = await Store.open(data, { create: false })
  try {
    assert.equal((await store.partition('p')).lastLsn, 1)
  } finally {
    await store.close()
  }
})

test('log read --follow prints what a running server appends, and exits 0 on SIGINT', async () => {
  const data = `${tmp.path}/follow`
  const server = spawn(process.execPath, [...cliArgs, 'serve', '--port', '0', '--data', data], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let serverErr = ''
  const serverExited = new Promise<number | null>((resolve) => server.on('close', (code) => resolve(code)))
  try {
    const url = await new Promise<string>((resolve, reject) => {
      server.stderr.on('data', (c) => {
        serverErr += c
        const m = /"url":"(http:\/\/[^"]+)"/.exec(serverErr)
        if (m) resolve(m[1]!)
      })
      server.on('close', () => reject(new Error(`serve exited early: ${serverErr}`)))
    })
    const post = (payload: string) =>
      fetch(`${url}/v1/partitions/p/records`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ records: [{ payload }] }),
      }).then((r) => r.json())
    assert.deepEqual(await post('first'), { lsn: 1 })
    // The server owns the store (lock held); the follower reads beside it.
    const follower = spawn(process.execPath, [...cliArgs, 'log', 'read', 'p', '--follow', '--json', '--data', data], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let followerErr = ''
    follower.stderr.on('data', (c) => (followerErr += c))
    follower.stdout.on('data', (c) => (out += c))
    const followerExited = new Promise<number | null>((resolve) => follower.on('close', (code) => resolve(code)))
    const lines = async (n: number) => {
      for (let waited = 0; out.split('\n').length <= n; waited += 20) {
        if (waited > 20_000) throw new Error(`follower printed ${JSON.stringify(out)} (stderr ${followerErr})`)
        await new Promise((r) => setTimeout(r, 20))
      }
    }
    await lines(1)
    assert.deepEqual(await post('second'), { lsn: 2 })
    assert.deepEqual(await post('third'), { lsn: 3 })
    await lines(3)
    follower.kill('SIGINT')
    assert.equal(await followerExited, 0, followerErr)
    assert.deepEqual(
      out.trim().split('\n').map((l) => JSON.parse(l)),
      [
        { lsn: 1, payload: 'first' },
        { lsn: 2, payload: 'second' },
        { lsn: 3, payload: 'third' },
      ],
    )
  } finally {
    server.kill('SIGTERM')
  }
  assert.equal(await serverExited, 0, serverErr)
})
