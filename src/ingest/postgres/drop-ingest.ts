/**
 * Removes what an ingest created in the source: its replication slot (so Postgres stops
 * retaining WAL for it) and its publication. The partition in cairn is left as it is.
 */
import { CairnError } from '../../io/errors.js'
import { connectText, ident } from './source.js'

export interface DropIngestOptions {
  url: string
  slotName: string
  publicationName: string
}

/**
 * Resolves with what existed and was dropped.
 *
 * @example
 * await dropIngest({ url, slotName: 'cairn_pg', publicationName: 'cairn_pg' })
 */
export async function dropIngest(options: DropIngestOptions): Promise<{ slotDropped: boolean; publicationDropped: boolean }> {
  const client = await connectText(options.url, 'cairn-ingest-drop')
  try {
    const slot = await client.query<{ active_pid: number | null }>('SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1', [options.slotName])
    const active = slot.rows[0]?.active_pid ?? null
    if (active !== null) {
      throw new CairnError('SOURCE_UNAVAILABLE', `replication slot ${options.slotName} is in use by backend ${active}: stop the ingester first`, {
        context: { slot: options.slotName },
      })
    }
    if (slot.rowCount === 1) await client.query('SELECT pg_drop_replication_slot($1)', [options.slotName])
    const pub = await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [options.publicationName])
    if (pub.rowCount === 1) await client.query(`DROP PUBLICATION ${ident(options.publicationName)}`)
    return { slotDropped: slot.rowCount === 1, publicationDropped: pub.rowCount === 1 }
  } finally {
    await client.end().catch(() => undefined)
  }
}
