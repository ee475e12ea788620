/**
 * The key-value surface of a partition (added by the state engine). Written against that exact
 * signature and reached through `asKv`, so the server and CLI build before the methods land and
 * answer NOT_IMPLEMENTED instead of crashing when run against a partition without them.
 */
import type { Partition } from '../partition/partition.js'
import { ApiError } from './error-response.js'

export type KvOp =
  | { type: 'put'; key: Uint8Array; value: Uint8Array }
  | { type: 'delete'; key: Uint8Array }
  | { type: 'deleteRange'; start: Uint8Array; end: Uint8Array }

export interface ScanOptions {
  gte?: Uint8Array
  gt?: Uint8Array
  lte?: Uint8Array
  lt?: Uint8Array
  reverse?: boolean
  limit?: number
}

export interface KvPartition {
  put(key: Uint8Array, value: Uint8Array): Promise<number>
  delete(key: Uint8Array): Promise<number>
  write(batch: { ops: KvOp[] }): Promise<number>
  get(key: Uint8Array): Promise<Uint8Array | undefined>
  scan(options: ScanOptions): AsyncIterable<[Uint8Array, Uint8Array]>
}

const kvMethods = ['put', 'delete', 'write', 'get', 'scan'] as const

export function asKv(partition: Partition): KvPartition {
  const p = partition as unknown as Record<string, unknown>
  for (const m of kvMethods) {
    if (typeof p[m] !== 'function') {
      throw new ApiError('NOT_IMPLEMENTED', `this build's partitions have no ${m}(): the state engine is not in it yet`)
    }
  }
  return partition as unknown as KvPartition
}
