/**
 * Child process for crash.test.ts: opens the log in argv[2] on the real file system and appends
 * forever with 8 concurrent appenders (single records and multi-record batches, payloads derived
 * from their LSN), printing `ack <first> <last>` once each append is acknowledged. The parent
 * kills it with SIGKILL. Stdout on a pipe is synchronous on Linux, so a printed line is seen by
 * the parent even when the process dies right after.
 */
import { NodeFileSystem } from '../../src/io/index.js'
import { FileLog } from '../../src/log/index.js'
import { payloadOfLsn, prng, record } from '../helpers/log-helpers.js'

const dir = process.argv[2]
const seed = Number(process.argv[3] ?? '1')
if (dir === undefined) throw new Error('usage: crash-child.ts <dir> [seed]')

const log = await FileLog.open({ fs: new NodeFileSystem(), dir, segmentBytesMax: 64 * 1024 })
process.stdout.write(`open ${log.lastLsn}\n`)
const rng = prng(seed)

async function appender(): Promise<never> {
  for (;;) {
    const count = rng.next() < 0.7 ? 1 : rng.int(2, 6)
    const first = log.nextLsn
    const records = Array.from({ length: count }, (_, i) => record(payloadOfLsn(first + i)))
    const last = await log.append(records)
    process.stdout.write(`ack ${first} ${last}\n`)
  }
}

await Promise.all(Array.from({ length: 8 }, appender))
