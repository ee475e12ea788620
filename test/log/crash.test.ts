/**
 * kill -9 (docs/design.md, promise 1): a child process appends continuously on the real file system
 * and reports every acknowledged LSN; it is killed with SIGKILL at a random moment, 20+ times on
 * the same log. After each kill the log must reopen with every acknowledged record present,
 * intact (its payload is a function of its LSN), in order and dense, and the next child goes on.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { posix } from 'node:path'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { crc32, NodeFileSystem } from '../../src/io/index.js'
import { FileLog } from '../../src/log/index.js'
import { hex, payloadOfLsn, prng } from '../helpers/log-helpers.js'
import { makeTempDir } from '../helpers/temp-dir.js'

const child = fileURLToPath(new URL('./crash-child.ts', import.meta.url))
const rounds = 22
const seed = Number(process.env.CAIRN_SEED ?? 20240601)

interface RoundResult {
  openedAt: number
  acked: number
  signal: NodeJS.Signals | null
  stderr: string
}

/** Runs the child until `killAfterMs` after it opened the log, then SIGKILLs it. */
function runChild(dir: string, childSeed: number, killAfterMs: number): Promise<RoundResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', child, dir, String(childSeed)], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let stderr = ''
    let openedAt = -1
    let acked = 0
    let timer: NodeJS.Timeout | undefined
    proc.stdout.setEncoding('utf8')
    proc.stderr.setEncoding('utf8')
    proc.stderr.on('data', (s: string) => (stderr += s))
    proc.stdout.on('data', (s: string) => {
      out += s
      const lines = out.split('\n')
      out = lines.pop()!
      for (const line of lines) {
        const [kind, a, b] = line.split(' ')
        if (kind === 'open') {
          openedAt = Number(a)
          timer = setTimeout(() => proc.kill('SIGKILL'), killAfterMs)
        } else if (kind === 'ack') {
          const first = Number(a)
          const last = Number(b)
          assert.ok(first >= 1 && last >= first, `bad ack line ${line}`)
          acked = Math.max(acked, last)
        }
      }
    })
    proc.on('error', reject)
    proc.on('close', (code, signal) => {
      if (timer !== undefined) clearTimeout(timer)
      if (signal !== 'SIGKILL') reject(new Error(`child exited with ${code} before it was killed: ${stderr}`))
      else resolve({ openedAt, acked, signal, stderr })
    })
  })
}

describe('crash (SIGKILL) while appending', () => {
  test(`${rounds} rounds of kill -9 on the same log`, { timeout: 90_000 }, async (t) => {
    const tmp = await makeTempDir('cairn-crash-')
    const dir = posix.join(tmp.path, 'log')
    const rng = prng(seed)
    /** crc32 of each record already checked byte for byte, by LSN. */
    const checked: number[] = [0]
    let highestAcked = 0
    let segments = 0
    try {
      for (let round = 0; round < rounds; round++) {
        const killAfter = rng.int(50, 400)
        const result = await runChild(dir, seed + round, killAfter)
        const where = `seed ${seed}, round ${round} (killed ${killAfter} ms after open)`
        assert.equal(result.openedAt >= highestAcked, true, `${where}: the child opened at ${result.openedAt}, below acked ${highestAcked}`)
        highestAcked = Math.max(highestAcked, result.acked)

        const log = await FileLog.open({ fs: new NodeFileSystem(), dir, segmentBytesMax: 64 * 1024 })
        try {
          assert.equal(log.firstLsn, 1, where)
          assert.ok(log.lastLsn >= highestAcked, `${where}: lastLsn ${log.lastLsn} < acknowledged ${highestAcked}`)
          let expected = 1
          for await (const batch of log.readBatches(1)) {
            for (const e of batch) {
              assert.equal(e.lsn, expected, `${where}: LSNs dense and in order`)
              const crc = crc32(e.payload)
              if (checked[e.lsn] === undefined) {
                // First sighting: compare every byte with what the child derived for this LSN.
                const want = payloadOfLsn(e.lsn)
                if (hex(e.payload) !== hex(want)) assert.fail(`${where}: payload of LSN ${e.lsn} differs`)
                checked[e.lsn] = crc
              } else {
                assert.equal(crc, checked[e.lsn], `${where}: LSN ${e.lsn} changed since it was first read`)
              }
              expected += 1
            }
          }
          assert.equal(expected - 1, log.lastLsn, `${where}: read everything`)
          // Records past what was acknowledged (written but not reported) are kept by recovery
          // and are then durable; forget any checked LSN above lastLsn, a later child reuses it.
          checked.length = log.lastLsn + 1
          segments = log.segmentCount
        } finally {
          await log.close()
        }
      }
      t.diagnostic(`seed ${seed}: ${highestAcked} records acknowledged, ${segments} segments`)
      assert.ok(highestAcked > rounds * 10, `the children acknowledged ${highestAcked} records in all`)
      assert.ok(segments > 1, 'the log rolled segments')
    } finally {
      await tmp.cleanup()
    }
  })
})
