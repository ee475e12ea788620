/**
 * A decoder of pgoutput messages (protocol version 1, plus `messages`), keeping every column
 * value as the text Postgres printed (the row encoder turns text into JSON the same way for the
 * copy and the stream). An unchanged TOAST value stays distinct (`unchangedToast`): it must be
 * merged with the stored row, never written as null. Bytes that are not a well-formed message
 * are `SOURCE_PROTOCOL` (never a RangeError, never a retried `SOURCE_UNAVAILABLE`).
 */
import { CairnError } from '../../io/errors.js'
import type { PgLsn } from './lsn.js'

/** A column value: its text, null (SQL NULL), or unchangedToast (pgoutput's 'u'). */
export type ColumnValue = string | null | typeof unchangedToast
export const unchangedToast: unique symbol = Symbol('unchanged TOAST')

export interface RelationColumn {
  name: string
  typeOid: number
  /** Part of the replica identity key. */
  key: boolean
}

export type ReplicaIdentity = 'default' | 'nothing' | 'full' | 'index'

export interface RelationMessage {
  tag: 'relation'
  oid: number
  schema: string
  name: string
  replicaIdentity: ReplicaIdentity
  columns: RelationColumn[]
}

export type PgoutputMessage =
  | { tag: 'begin'; finalLsn: PgLsn; commitTimeMs: number; xid: number }
  | { tag: 'commit'; commitLsn: PgLsn; endLsn: PgLsn; commitTimeMs: number }
  | RelationMessage
  | { tag: 'insert'; oid: number; newTuple: ColumnValue[] }
  | { tag: 'update'; oid: number; oldKind?: 'K' | 'O'; oldTuple?: ColumnValue[]; newTuple: ColumnValue[] }
  | { tag: 'delete'; oid: number; oldKind: 'K' | 'O'; oldTuple: ColumnValue[] }
  | { tag: 'truncate'; oids: number[]; cascade: boolean }
  | { tag: 'message'; transactional: boolean; lsn: PgLsn; prefix: string; content: Uint8Array }
  | { tag: 'other'; code: string }

const decoder = new TextDecoder()
/** Postgres epoch (2000-01-01) in Unix ms. */
const pgEpochMs = 946_684_800_000

class Reader {
  at = 0
  readonly view: DataView
  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  }
  u8(): number {
    return this.view.getUint8(this.at++)
  }
  i16(): number {
    const v = this.view.getInt16(this.at)
    this.at += 2
    return v
  }
  i32(): number {
    const v = this.view.getInt32(this.at)
    this.at += 4
    return v
  }
  u32(): number {
    const v = this.view.getUint32(this.at)
    this.at += 4
    return v
  }
  lsn(): PgLsn {
    const v = this.view.getBigUint64(this.at)
    this.at += 8
    return v
  }
  timeMs(): number {
    const us = this.view.getBigInt64(this.at)
    this.at += 8
    return pgEpochMs + Number(us / 1000n)
  }
  cstring(): string {
    const end = this.buf.indexOf(0, this.at)
    if (end < 0) throw malformedPgoutput('unterminated string')
    const s = decoder.decode(this.buf.subarray(this.at, end))
    this.at = end + 1
    return s
  }
  bytes(n: number): Uint8Array {
    const b = this.buf.subarray(this.at, this.at + n)
    if (b.length !== n) throw malformedPgoutput('cut short')
    this.at += n
    return b
  }
}

/**
 * Bytes Postgres would never send under protocol version 1: a defect (of the source, a proxy in
 * between, or cairn), not an outage. `SOURCE_PROTOCOL` is not retried: the same bytes would come
 * again from the slot's confirmed position, and the supervisor would loop on them.
 */
export function malformedPgoutput(why: string): CairnError {
  return new CairnError(
    'SOURCE_PROTOCOL',
    `a pgoutput message from Postgres is malformed (${why}): the ingester stopped and is not restarted (the same bytes would come again). Check that the source is a Postgres version cairn supports and that nothing between cairn and Postgres rewrites the replication connection, then report this message with the Postgres version; once fixed, start the ingester again (it resumes from its durable position)`,
    { context: { reason: why } },
  )
}

function tuple(r: Reader): ColumnValue[] {
  const n = r.i16()
  const out: ColumnValue[] = new Array(n)
  for (let i = 0; i < n; i++) {
    const kind = r.u8()
    if (kind === 0x6e /* n */) out[i] = null
    else if (kind === 0x75 /* u */) out[i] = unchangedToast
    else if (kind === 0x74 /* t */) out[i] = decoder.decode(r.bytes(r.i32()))
    else throw malformedPgoutput(`column kind ${String.fromCharCode(kind)} (binary mode is not requested)`)
  }
  return out
}

const identities: Record<string, ReplicaIdentity> = { d: 'default', n: 'nothing', f: 'full', i: 'index' }

/**
 * Decodes one pgoutput message; malformed bytes (cut short, unknown kinds) are `SOURCE_PROTOCOL`.
 *
 * @example
 * const msg = decodePgoutput(xlogData.subarray(25))
 * if (msg.tag === 'insert') console.log(msg.oid, msg.newTuple)
 */
export function decodePgoutput(buf: Uint8Array): PgoutputMessage {
  try {
    return decode(new Reader(buf))
  } catch (e) {
    // DataView reads past the end: the message is shorter than its fields say.
    if (e instanceof RangeError) throw malformedPgoutput(`cut short, or a count out of range, in ${buf.length} bytes`)
    throw e
  }
}

function decode(r: Reader): PgoutputMessage {
  const tag = String.fromCharCode(r.u8())
  switch (tag) {
    case 'B':
      return { tag: 'begin', finalLsn: r.lsn(), commitTimeMs: r.timeMs(), xid: r.u32() }
    case 'C': {
      r.u8()
      return { tag: 'commit', commitLsn: r.lsn(), endLsn: r.lsn(), commitTimeMs: r.timeMs() }
    }
    case 'R': {
      const oid = r.u32()
      const schema = r.cstring()
      const name = r.cstring()
      const replicaIdentity = identities[String.fromCharCode(r.u8())] ?? 'default'
      const n = r.i16()
      const columns: RelationColumn[] = []
      for (let i = 0; i < n; i++) {
        const flags = r.u8()
        const colName = r.cstring()
        const typeOid = r.u32()
        r.i32()
        columns.push({ name: colName, typeOid, key: (flags & 1) === 1 })
      }
      return { tag: 'relation', oid, schema, name, replicaIdentity, columns }
    }
    case 'I': {
      const oid = r.u32()
      r.u8() // 'N'
      return { tag: 'insert', oid, newTuple: tuple(r) }
    }
    case 'U': {
      const oid = r.u32()
      const kind = String.fromCharCode(r.u8())
      if (kind === 'N') return { tag: 'update', oid, newTuple: tuple(r) }
      if (kind !== 'K' && kind !== 'O') throw malformedPgoutput(`update submessage ${kind}`)
      const oldTuple = tuple(r)
      r.u8() // 'N'
      return { tag: 'update', oid, oldKind: kind, oldTuple, newTuple: tuple(r) }
    }
    case 'D': {
      const oid = r.u32()
      const kind = String.fromCharCode(r.u8())
      if (kind !== 'K' && kind !== 'O') throw malformedPgoutput(`delete submessage ${kind}`)
      return { tag: 'delete', oid, oldKind: kind, oldTuple: tuple(r) }
    }
    case 'T': {
      const n = r.u32()
      const flags = r.u8()
      const oids: number[] = []
      for (let i = 0; i < n; i++) oids.push(r.u32())
      return { tag: 'truncate', oids, cascade: (flags & 1) === 1 }
    }
    case 'M': {
      const flags = r.u8()
      const lsn = r.lsn()
      const prefix = r.cstring()
      const content = r.bytes(r.u32())
      return { tag: 'message', transactional: (flags & 1) === 1, lsn, prefix, content }
    }
    default:
      // Origin ('O') and Type ('Y') carry nothing the ingester needs.
      return { tag: 'other', code: tag }
  }
}
