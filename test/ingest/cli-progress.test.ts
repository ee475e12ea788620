/** What `cairn ingest postgres` prints while it runs: plain lines (throttled) without a terminal, bars on one. */
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { test } from 'node:test'
import { formatBytes, formatMs, progressView, streamLine, tableLine } from '../../src/cli/commands/ingest-progress.js'
import type { IngestStatus } from '../../src/ingest/index.js'

function sink(isTTY: boolean): Writable & { isTTY: boolean; text: () => string; columns: number } {
  let text = ''
  const w = new Writable({
    write(chunk, _enc, done) {
      text += String(chunk)
      done()
    },
  }) as Writable & { isTTY: boolean; text: () => string; columns: number; cursorTo: () => boolean; clearLine: () => boolean; moveCursor: () => boolean }
  w.isTTY = isTTY
  w.columns = 120
  w.cursorTo = () => true
  w.clearLine = () => true
  w.moveCursor = () => true
  w.text = () => text
  return w
}

const status = (phase: IngestStatus['phase'], copied: number, done = false): IngestStatus => ({
  partition: 'pg',
  slot: 'cairn_pg',
  publication: 'cairn_pg',
  phase,
  tables: [
    { name: 'public.users', state: 'done', rowsCopied: 60, bytesCopied: 3300 },
    { name: 'public.orders', state: done ? 'done' : 'copying', rowsCopied: copied, rowsEstimate: 100_000, bytesCopied: copied * 100, etaMs: 8000 },
  ],
  lagBytes: 12_288,
  lagMs: 40,
  retainedWalBytes: 1_153_434,
})

test('formats: bytes, durations, the stream line and a table line', () => {
  assert.equal(formatBytes(512), '512 B')
  assert.equal(formatBytes(12_288), '12.0 KiB')
  assert.equal(formatBytes(undefined), '?')
  assert.equal(formatMs(850), '850 ms')
  assert.equal(formatMs(12_400), '12.4 s')
  assert.equal(formatMs(200_000), '3 min 20 s')
  assert.equal(formatMs(7_500_000), '2 h 5 min')
  assert.equal(streamLine(status('copying', 12_000)), 'ingest pg (slot cairn_pg): copying, 1 of 2 tables copied; lag 12.0 KiB, 40 ms; WAL retained 1.1 MiB; not consistent yet')
  assert.equal(tableLine(status('copying', 12_000).tables[1]!), 'public.orders: copying 12,000 of ~100,000 (12%) rows, 1.1 MiB, eta 8.0 s')
  const failed = { ...status('failed', 5), consistentLsn: 9, error: { code: 'SOURCE_SLOT_LOST', message: 'gone' } }
  assert.match(streamLine(failed), /failed, .*consistent at LSN 9; error SOURCE_SLOT_LOST: gone$/)
})

test('without a terminal: a line batch at once, then at most one per interval (a phase change at once); a finished table is shown once', async () => {
  const out = sink(false)
  const view = progressView(out, { intervalMs: 60_000 })
  view.update(status('copying', 10))
  view.update(status('copying', 20))
  view.update(status('copying', 30))
  const first = out.text()
  assert.equal(first.split('\n').filter((l) => l.startsWith('ingest pg')).length, 1)
  assert.match(first, /public\.users: copied 60 rows/)
  assert.match(first, /public\.orders: copying 10 of/)
  view.update(status('streaming', 100_000, true))
  const second = out.text().slice(first.length)
  assert.match(second, /^ingest pg \(slot cairn_pg\): streaming/)
  assert.match(second, /public\.orders: copied 100,000 rows/)
  assert.doesNotMatch(second, /public\.users/, 'shown once when done')
  view.stop()
  assert.equal(out.text(), first + second, 'nothing pending after the last batch')
})

test('on a terminal: bars per table and the stream line', () => {
  const out = sink(true)
  const view = progressView(out, { intervalMs: 0 })
  view.update(status('copying', 50_000))
  view.stop()
  // cli-progress has an {eta} of its own: the table's ETA must be the ingester's, not NULL.
  assert.match(out.text(), /public\.orders \[=+-+\]\s+50% 50,000 rows 4\.8 MiB copying eta 8\.0 s/)
  assert.match(out.text(), /ingest pg \(slot cairn_pg\): copying/)
})
