import { mkdtempSync } from 'node:fs'
import { PostgresIngester } from '../src/ingest/index.js'
import { Store } from '../src/partition/index.js'
import { startPostgres } from '../test/helpers/postgres.js'
const N = 100000
const p = await startPostgres(process.env.SC ? { settings: { synchronous_commit: process.env.SC } } : {})
await p.query('CREATE TABLE big (id bigint PRIMARY KEY, payload text NOT NULL)')
await p.query(`INSERT INTO big SELECT g, md5(g::text) || md5((g + 1)::text) || repeat('x', 26) FROM generate_series(1, ${N}) g`)
await p.query('VACUUM ANALYZE big')
for (const chunkRows of [10000, 50000]) {
const store = await Store.open(mkdtempSync('/tmp/ifx/prof-'))
const t0 = performance.now()
const ing = await PostgresIngester.start({ url: p.url, store, tables: ['big'], chunkRows, slotName: `s${chunkRows}`, publicationName: `p${chunkRows}`, partition: `p${chunkRows}` })
while (!ing.status().tables.every((t) => t.state === 'done')) { await new Promise((r) => setTimeout(r, 20)) }
const s = (performance.now() - t0) / 1000
console.error('sync', process.env.SC, 'chunkRows', chunkRows, 'rows/s', Math.round(N / s), 'chunks', ing.chunksRead)
await ing.stop(); await store.close()
}
await p.stop()
