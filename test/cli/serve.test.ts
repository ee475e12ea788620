import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { after, before, test } from 'node:test'
import { Store } from '../../src/partition/store.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'
import { cliArgs, repoRoot } from './cli-helpers.js'

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
