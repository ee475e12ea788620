/**
 * The apply path's LSN order is asserted: state applies each LSN as the previous + 1, and a log
 * that reports anything else (a gap) fails the write instead of leaving state silently missing
 * an LSN.
 */
import assert from 'node:assert/strict'
import { AssertionError } from 'node:assert'
import { test } from 'node:test'
import { CairnError, MemoryFileSystem } from '../../src/io/index.js'
import { FileLog, type Log } from '../../src/log/index.js'
import { Partition } from '../../src/partition/index.js'

/** A log that tells the partition its records got LSNs one above the real ones. */
function skewed(log: Log): Log {
  return new Proxy(log, {
    get(target, prop) {
      if (prop === 'append') {
        return (records: Parameters<Log['append']>[0], options: Parameters<Log['append']>[1] = {}) =>
          target.append(records, { ...options, ...(options.onDurable && { onDurable: (last: number) => options.onDurable!(last + 1) }) })
      }
      const v = Reflect.get(target, prop)
      return typeof v === 'function' ? v.bind(target) : v
    },
  })
}

test('a log that skips an LSN fails the write (each applied LSN is the previous + 1)', async () => {
  const fs = new MemoryFileSystem()
  const log = await FileLog.open({ fs, dir: '/p/log' })
  const p = await Partition.open({ id: 'p', dir: '/p', fs, log: skewed(log) })
  try {
    const e = await p.put('a', '1').then(
      () => undefined,
      (e: unknown) => e,
    )
    assert.ok(e instanceof CairnError && e.code === 'LOG_FAILED', `the write fails: ${String(e)}`)
    assert.ok(e.cause instanceof AssertionError && /previous \+ 1/.test(e.cause.message), `because of the LSN order: ${String(e.cause)}`)
    assert.equal(p.appliedLsn, 0, 'nothing was applied out of order')
  } finally {
    await p.close().catch(() => undefined)
  }
})
