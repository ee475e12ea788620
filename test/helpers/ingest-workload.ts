/**
 * A seeded random write load on a Postgres source for the ingest tests: inserts, updates,
 * deletes, primary-key changes, multi-statement transactions and now and then a truncate, from
 * several clients at once,
 * on `r (id int PRIMARY KEY, v int, s text)` and `r2 (a int, b int, v int, PRIMARY KEY (a, b))`.
 * And an oracle: the state of those tables at any source position, replayed from a
 * test_decoding slot created before the first row.
 */
import pg from 'pg'
import { encodeKey, tablePrefix } from '../../src/ingest/postgres/key-encoding.js'
import { parseLsn } from '../../src/ingest/postgres/lsn.js'
import { type SeededRandom, seededRandom } from '../../src/io/seeded-random.js'

export const workloadTables = ['public.r', 'public.r2']

export async function createWorkloadTables(client: { query(sql: string): Promise<unknown> }, oracleSlot: string): Promise<void> {
  await client.query('CREATE TABLE r (id int PRIMARY KEY, v int, s text)')
  await client.query('CREATE TABLE r2 (a int, b int, v int, PRIMARY KEY (a, b))')
  await client.query(`SELECT pg_create_logical_replication_slot('${oracleSlot}', 'test_decoding')`)
}

export async function seedRows(client: { query(sql: string): Promise<unknown> }, rows: number): Promise<void> {
  await client.query(`INSERT INTO r SELECT i, i, 's' || i FROM generate_series(1, ${rows}) i`)
  await client.query(`INSERT INTO r2 SELECT i % 7, i, i FROM generate_series(1, ${Math.ceil(rows / 2)}) i`)
}

export interface Workload {
  /** Stops the writers and resolves once they finished. */
  stop(): Promise<void>
  ops(): number
}

/** Starts `writers` clients writing at random until stopped. */
export async function startWorkload(url: string, seed: number, writers = 3, idMax = 400): Promise<Workload> {
  let stopped = false
  let ops = 0
  const run = async (w: number): Promise<void> => {
    const rng = seededRandom((seed + w * 7919) >>> 0)
    const client = new pg.Client({ connectionString: url })
    client.on('error', () => {})
    await client.connect()
    let nextId = 1_000_000 + w * 100_000
    try {
      while (!stopped) {
        const inTxn = rng.next() < 0.3
        try {
          if (inTxn) await client.query('BEGIN')
          const statements = inTxn ? rng.int(2, 4) : 1
          for (let i = 0; i < statements; i++) {
            await client.query(...statement(rng, idMax, () => nextId++))
            ops++
          }
          if (inTxn) await client.query(rng.next() < 0.1 ? 'ROLLBACK' : 'COMMIT')
        } catch {
          // A unique violation or a deadlock between writers: that transaction is rolled back.
          if (inTxn) await client.query('ROLLBACK').catch(() => undefined)
        }
      }
    } finally {
      await client.end().catch(() => undefined)
    }
  }
  const running = Array.from({ length: writers }, (_, w) => run(w))
  return {
    ops: () => ops,
    async stop() {
      stopped = true
      await Promise.all(running)
    },
  }
}

function statement(rng: SeededRandom, idMax: number, freshId: () => number): [string, unknown[]] {
  const id = rng.int(1, idMax)
  const pick = rng.int(0, 9)
  switch (pick) {
    case 0:
    case 1:
      return ['INSERT INTO r VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET v = excluded.v', [id, rng.int(0, 1e6), `i${rng.int(0, 999)}`]]
    case 2:
    case 3:
      return ['UPDATE r SET v = v + 1, s = $2 WHERE id = $1', [id, `u${rng.int(0, 999)}`]]
    case 4:
      return ['DELETE FROM r WHERE id = $1', [id]]
    case 5:
      // A primary-key change, to a fresh id or back into the copied range.
      return ['UPDATE r SET id = $2 WHERE id = $1', [id, rng.next() < 0.5 ? freshId() : rng.int(1, idMax)]]
    case 6:
      return ['UPDATE r SET v = -v WHERE id BETWEEN $1 AND $1 + 5', [id]]
    case 7:
      return ['INSERT INTO r2 VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [rng.int(0, 6), rng.int(1, idMax), rng.int(0, 100)]]
    case 8:
      // Now and then the whole of r2 goes (a truncate inside some chunk's window).
      if (rng.next() < 0.02) return ['TRUNCATE r2', []]
      return ['UPDATE r2 SET b = b + 1000 WHERE a = $1 AND b = $2', [rng.int(0, 6), id]]
    default:
      return ['DELETE FROM r2 WHERE a = $1 AND b < $2', [rng.int(0, 6), rng.int(1, 20)]]
  }
}

interface OracleTxn {
  /** The commit's end LSN (test_decoding's COMMIT row carries it). */
  endLsn: bigint
  changes: { table: string; op: 'put' | 'delete' | 'truncate'; key: Uint8Array; value?: string }[]
}

const typeOids: Record<string, number> = { integer: 23, text: 25 }
const latin1 = (b: Uint8Array): string => Buffer.from(b).toString('latin1')

function parseTuple(text: string): { name: string; type: string; value: string | null }[] {
  const out: { name: string; type: string; value: string | null }[] = []
  const re = /(\w+)\[(\w+)\]:('(?:[^']|'')*'|\S+)/g
  for (const m of text.matchAll(re)) {
    const raw = m[3]!
    out.push({ name: m[1]!, type: m[2]!, value: raw === 'null' ? null : raw.startsWith("'") ? raw.slice(1, -1).replaceAll("''", "'") : raw })
  }
  return out
}

const keyColumns: Record<string, string[]> = { 'public.r': ['id'], 'public.r2': ['a', 'b'] }

function keyOf(table: string, tuple: { name: string; type: string; value: string | null }[]): Uint8Array {
  const cols = keyColumns[table]!.map((k) => tuple.find((c) => c.name === k)!)
  return encodeKey(
    table,
    cols.map((c) => ({ typeOid: typeOids[c.type] ?? 25 })),
    cols.map((c) => c.value),
  )
}

function rowOf(tuple: { name: string; type: string; value: string | null }[]): string {
  const row: Record<string, unknown> = {}
  for (const c of tuple) row[c.name] = c.value === null ? null : c.type === 'integer' ? Number(c.value) : c.value
  return JSON.stringify(row)
}

/** Every transaction the oracle slot decoded, in commit order (peeked: the slot keeps them). */
export async function oracleHistory(client: pg.Client, slot: string): Promise<OracleTxn[]> {
  const r = await client.query<{ lsn: string; data: string }>(`SELECT lsn::text, data FROM pg_logical_slot_peek_changes($1, NULL, NULL)`, [slot])
  const txns: OracleTxn[] = []
  let current: OracleTxn['changes'] = []
  for (const { lsn, data } of r.rows) {
    if (data.startsWith('BEGIN')) current = []
    else if (data.startsWith('COMMIT')) txns.push({ endLsn: parseLsn(lsn), changes: current })
    else {
      const m = /^table (\S+): (INSERT|UPDATE|DELETE|TRUNCATE): (.*)$/.exec(data)
      if (m === null) continue
      const table = m[1]!
      const kind = m[2]!
      const rest = m[3]!
      if (kind === 'TRUNCATE') current.push({ table, op: 'truncate', key: tablePrefix(table) })
      else if (kind === 'INSERT') {
        const t = parseTuple(rest)
        current.push({ table, op: 'put', key: keyOf(table, t), value: rowOf(t) })
      } else if (kind === 'DELETE') {
        current.push({ table, op: 'delete', key: keyOf(table, parseTuple(rest)) })
      } else {
        const old = /^old-key: (.*) new-tuple: (.*)$/.exec(rest)
        const newTuple = parseTuple(old === null ? rest : old[2]!)
        if (old !== null) current.push({ table, op: 'delete', key: keyOf(table, parseTuple(old[1]!)) })
        current.push({ table, op: 'put', key: keyOf(table, newTuple), value: rowOf(newTuple) })
      }
    }
  }
  return txns
}

/** Replays the oracle's transactions whose commit ends at or below `sourceLsn` (a commit end) on top of `state`, from `from`; returns where it stopped. */
export function replayOracle(txns: OracleTxn[], from: number, sourceLsn: bigint, state: Map<string, string>): number {
  let i = from
  for (; i < txns.length && txns[i]!.endLsn <= sourceLsn; i++) {
    for (const c of txns[i]!.changes) {
      if (c.op === 'put') state.set(latin1(c.key), c.value!)
      else if (c.op === 'delete') state.delete(latin1(c.key))
      else {
        const prefix = latin1(c.key)
        for (const k of [...state.keys()]) if (k.startsWith(prefix)) state.delete(k)
      }
    }
  }
  return i
}
