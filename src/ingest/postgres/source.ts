/**
 * The source side of the ingester: connections, the checks before anything is created, the
 * publication and the slot (created before any table is read), and what a table looks like
 * (columns, the key cairn uses, the replica identity).
 *
 * Invariants:
 * - every connection uses `sessionOptions`, so values print the same on the copy and the stream;
 * - the slot is created at most once and never silently re-created: a slot that is missing or
 *   invalidated after cairn recorded progress is SOURCE_SLOT_LOST (changes were lost);
 * - slot creation waits for running transactions at most `slotCreateMsMax`
 *   (default `slotCreateMsMaxDefault`).
 */
import pg from 'pg'
import { CairnError } from '../../io/errors.js'
import { sessionOptions } from './row-encoding.js'

/** How long slot creation may wait on running transactions before SOURCE_UNAVAILABLE. */
export const slotCreateMsMaxDefault = 30_000

export function connectionConfig(url: string, application = 'cairn-ingest'): pg.ClientConfig {
  return { connectionString: url, options: sessionOptions, application_name: application, keepAlive: true }
}

const textParsers = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig

/** A client whose results are the text Postgres printed (no type parsing). */
export async function connectText(url: string, application?: string): Promise<pg.Client> {
  const client = new pg.Client({ ...connectionConfig(url, application), types: textParsers })
  client.on('error', () => {})
  try {
    await client.connect()
  } catch (e) {
    throw unavailable(e)
  }
  return client
}

export function unavailable(e: unknown): CairnError {
  if (e instanceof CairnError) return e
  return new CairnError('SOURCE_UNAVAILABLE', `Postgres is unavailable: ${(e as Error)?.message ?? String(e)}; check the URL and that the server is up`, {
    cause: e,
  })
}

export const ident = (name: string): string => `"${name.replaceAll('"', '""')}"`

/** `schema.table` for a name given as `table` or `schema.table`. */
export function qualify(name: string): string {
  return name.includes('.') ? name : `public.${name}`
}

export function quoteTable(qualified: string): string {
  const dot = qualified.indexOf('.')
  return `${ident(qualified.slice(0, dot))}.${ident(qualified.slice(dot + 1))}`
}

/** SOURCE_MISCONFIGURED unless the server can do logical replication. */
export async function checkSource(client: pg.Client): Promise<void> {
  const level = (await client.query<{ wal_level: string }>('SHOW wal_level')).rows[0]?.wal_level
  if (level !== 'logical') {
    throw new CairnError(
      'SOURCE_MISCONFIGURED',
      `Postgres has wal_level=${level}; logical replication needs wal_level=logical: set it in postgresql.conf (or ALTER SYSTEM SET wal_level = logical) and restart Postgres (on RDS: rds.logical_replication = 1)`,
      { context: { wal_level: String(level) } },
    )
  }
}

/** Creates the publication if missing (FOR the given tables, or FOR ALL TABLES); adds missing given tables. */
export async function ensurePublication(client: pg.Client, publication: string, tables: string[] | undefined): Promise<void> {
  const exists = (await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [publication])).rowCount === 1
  if (!exists) {
    const target = tables === undefined ? 'ALL TABLES' : `TABLE ${tables.map(quoteTable).join(', ')}`
    await client.query(`CREATE PUBLICATION ${ident(publication)} FOR ${target}`)
    return
  }
  if (tables === undefined) return
  const have = new Set(await publishedTables(client, publication))
  const missing = tables.filter((t) => !have.has(t))
  if (missing.length > 0) await client.query(`ALTER PUBLICATION ${ident(publication)} ADD TABLE ${missing.map(quoteTable).join(', ')}`)
}

export async function publishedTables(client: pg.Client, publication: string): Promise<string[]> {
  const r = await client.query<{ schemaname: string; tablename: string }>(
    'SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1, 2',
    [publication],
  )
  return r.rows.map((row) => `${row.schemaname}.${row.tablename}`)
}

export interface SlotInfo {
  created: boolean
  /** The slot's confirmed_flush_lsn (text) when it already existed; its consistent point when created. */
  lsn: string
}

/**
 * The slot, created (pgoutput, durable) when missing and `mayCreate`; SOURCE_SLOT_LOST when it is
 * missing but should exist, or invalidated.
 */
export async function ensureSlot(client: pg.Client, slot: string, mayCreate: boolean, slotCreateMsMax = slotCreateMsMaxDefault): Promise<SlotInfo> {
  const found = await client.query<{ plugin: string; wal_status: string | null; confirmed_flush_lsn: string | null; conflicting?: boolean | null; invalidation_reason?: string | null }>(
    'SELECT * FROM pg_replication_slots WHERE slot_name = $1',
    [slot],
  )
  const row = found.rows[0]
  if (row !== undefined) {
    if (row.wal_status === 'lost' || (row.invalidation_reason ?? null) !== null) {
      throw new CairnError(
        'SOURCE_SLOT_LOST',
        `replication slot ${slot} was invalidated (${row.invalidation_reason ?? `wal_status ${row.wal_status}`}): Postgres removed WAL cairn had not consumed, so changes were lost; drop the ingest (cairn ingest drop) and the partition, and ingest again (raise max_slot_wal_keep_size to keep it from recurring)`,
        { context: { slot } },
      )
    }
    if (row.plugin !== 'pgoutput') {
      throw new CairnError('SOURCE_MISCONFIGURED', `replication slot ${slot} exists with plugin ${row.plugin}; cairn needs pgoutput: choose another slot name or drop that slot`, {
        context: { slot },
      })
    }
    return { created: false, lsn: row.confirmed_flush_lsn ?? '0/0' }
  }
  if (!mayCreate) {
    throw new CairnError(
      'SOURCE_SLOT_LOST',
      `replication slot ${slot} is gone, but cairn has ingested through it: changes since were lost; drop the partition and ingest again`,
      { context: { slot } },
    )
  }
  await client.query(`SET lock_timeout = ${slotCreateMsMax}`)
  await client.query(`SET statement_timeout = ${slotCreateMsMax + 5000}`)
  try {
    const r = await client.query<{ lsn: string }>(`SELECT lsn FROM pg_create_logical_replication_slot($1, 'pgoutput')`, [slot])
    return { created: true, lsn: r.rows[0]!.lsn }
  } catch (e) {
    const code = (e as { code?: string }).code
    if (code === '55P03' || code === '57014') {
      const blockers = await client
        .query<{ pid: number; state: string }>(
          `SELECT pid, state FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid() ORDER BY xact_start LIMIT 5`,
        )
        .then((res) => res.rows.map((b) => `${b.pid} (${b.state})`).join(', '))
        .catch(() => '')
      throw new CairnError(
        'SOURCE_UNAVAILABLE',
        `creating replication slot ${slot} waited ${slotCreateMsMax} ms for running transactions to finish${blockers === '' ? '' : `; blocking backends: ${blockers}`}: end or wait for the long transactions (pg_stat_activity), then retry`,
        { context: { slot }, cause: e },
      )
    }
    throw unavailable(e)
  } finally {
    await client.query('RESET lock_timeout').catch(() => undefined)
    await client.query('RESET statement_timeout').catch(() => undefined)
  }
}

export interface SourceColumn {
  name: string
  typeOid: number
  /** The type as SQL (`format_type`), to cast key parameters. */
  typeName: string
}

export interface SourceTable {
  name: string
  oid: number
  columns: SourceColumn[]
  /** Names of the columns cairn keys rows by (see docs/ingest.md). */
  keyColumns: string[]
  replicaIdentity: 'default' | 'nothing' | 'full' | 'index'
  rowsEstimate?: number
}

const identityByCode: Record<string, SourceTable['replicaIdentity']> = { d: 'default', n: 'nothing', f: 'full', i: 'index' }

/**
 * The table's published columns and key: the primary key; else the replica identity index's
 * columns; else, under REPLICA IDENTITY FULL, every column. SOURCE_TABLE_UNSUPPORTED otherwise.
 */
export async function describeTable(client: pg.Client, name: string): Promise<SourceTable> {
  const dot = name.indexOf('.')
  const rel = await client.query<{ oid: string; relreplident: string; reltuples: string }>(
    // reltuples is -1 until the table is first analyzed: then the statistics' live row count.
    `SELECT c.oid, c.relreplident, CASE WHEN c.reltuples >= 0 THEN c.reltuples ELSE coalesce(pg_stat_get_live_tuples(c.oid), -1) END AS reltuples
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
    [name.slice(0, dot), name.slice(dot + 1)],
  )
  const r = rel.rows[0]
  if (r === undefined) throw new CairnError('SOURCE_TABLE_UNSUPPORTED', `table ${name} does not exist in the source`, { context: { table: name } })
  const oid = Number(r.oid)
  const cols = await client.query<{ attname: string; atttypid: string; typname: string }>(
    `SELECT attname, atttypid, format_type(atttypid, NULL) AS typname FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum`,
    [oid],
  )
  const columns = cols.rows.map((c) => ({ name: c.attname, typeOid: Number(c.atttypid), typeName: c.typname }))
  const keyOf = async (where: string): Promise<string[]> => {
    const k = await client.query<{ attname: string }>(
      `SELECT a.attname FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
       WHERE i.indrelid = $1 AND ${where} ORDER BY k.ord`,
      [oid],
    )
    return k.rows.map((x) => x.attname)
  }
  const replicaIdentity = identityByCode[r.relreplident] ?? 'default'
  let keyColumns = replicaIdentity === 'index' ? await keyOf('i.indisreplident') : await keyOf('i.indisprimary')
  if (keyColumns.length === 0 && replicaIdentity === 'index') keyColumns = await keyOf('i.indisprimary')
  if (keyColumns.length === 0) {
    if (replicaIdentity !== 'full') {
      throw new CairnError(
        'SOURCE_TABLE_UNSUPPORTED',
        `table ${name} has no primary key, so cairn cannot key its rows: add a primary key, or set REPLICA IDENTITY FULL (cairn then keys rows by all their columns, and identical rows collapse into one), or leave the table out of --tables`,
        { context: { table: name } },
      )
    }
    keyColumns = columns.map((c) => c.name)
  }
  const estimate = Number(r.reltuples)
  return { name, oid, columns, keyColumns, replicaIdentity, ...(estimate >= 0 && { rowsEstimate: Math.round(estimate) }) }
}
