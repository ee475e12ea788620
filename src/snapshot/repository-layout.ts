/**
 * Where things live in a snapshot repository (under the object store's prefix):
 *
 *   chunks/<first 2 hex>/<sha256>                          immutable, shared by every snapshot
 *   partitions/<pid>/snapshots/<lsn 20 digits>-<id>.json   immutable manifests
 *   partitions/<pid>/latest.json                           the one mutable object, CAS-updated
 *
 * A snapshot id starts with its LSN in 20 digits, so manifests list in LSN order.
 */
import { randomBytes } from 'node:crypto'
import { assert } from '../io/assert.js'

export const chunksPrefix = 'chunks/'
export const partitionsPrefix = 'partitions/'

const chunkIdPattern = /^[0-9a-f]{64}$/
export const snapshotIdPattern = /^\d{20}-[0-9a-z]{1,40}$/

export function isChunkId(id: string): boolean {
  return chunkIdPattern.test(id)
}

export function chunkKey(id: string): string {
  assert(isChunkId(id), `a chunk id is 64 lowercase hex digits (got ${id})`)
  return `${chunksPrefix}${id.slice(0, 2)}/${id}`
}

/** The chunk id a key names, or undefined for a key that is not a chunk's. */
export function chunkIdOfKey(key: string): string | undefined {
  const m = /^chunks\/([0-9a-f]{2})\/([0-9a-f]{64})$/.exec(key)
  return m !== null && m[2]!.startsWith(m[1]!) ? m[2] : undefined
}

export function partitionPrefix(partition: string): string {
  return `${partitionsPrefix}${partition}/`
}

export function latestKey(partition: string): string {
  return `${partitionPrefix(partition)}latest.json`
}

export function manifestsPrefix(partition: string): string {
  return `${partitionPrefix(partition)}snapshots/`
}

export function manifestKey(partition: string, snapshotId: string): string {
  return `${manifestsPrefix(partition)}${snapshotId}.json`
}

/** LSN in 20 digits, the width of a u64: sorts as text in numeric order. */
export function lsn20(lsn: number): string {
  return String(lsn).padStart(20, '0')
}

/**
 * A new snapshot id: `<lsn 20 digits>-<ms since epoch, base 36, 9 digits><10 random base-36>`,
 * unique and sorted by LSN then creation time.
 *
 * @example newSnapshotId(1234) // '00000000000000001234-mfq3x0a1k4n2b7c9xyzq'
 */
export function newSnapshotId(lsn: number, nowMs = Date.now()): string {
  const random = [...randomBytes(10)].map((b) => (b % 36).toString(36)).join('')
  return `${lsn20(lsn)}-${nowMs.toString(36).padStart(9, '0')}${random}`
}
