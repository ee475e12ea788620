/** The shapes the snapshot repository takes and answers (see repository.ts). */
import type { ChunkCompression } from './stored-chunk.js'
import type { SnapshotManifest } from './snapshot-manifest.js'
import type { RetainedSnapshot, SnapshotWriter } from './snapshot-pointer.js'

export type Entry = readonly [Uint8Array, Uint8Array]

/**
 * What a snapshot is made from: the state at `lsn` as entries in ascending key order, either as
 * an iterable or as a read-snapshot-like `scan()` (each scan iterator is closed when done).
 */
export type SnapshotSource =
  | { lsn: number; logId: string; entries: AsyncIterable<Entry> | Iterable<Entry> }
  | { lsn: number; logId: string; scan(): AsyncIterableIterator<[Uint8Array, Uint8Array]> }

export interface SnapshotRepositoryOptions {
  /** Snapshots retained per partition (default 3). */
  keep?: number
  /** Chunk uploads in flight per create (default 8). */
  uploadParallelism?: number
  /** Chunk downloads in flight per open (default 8). */
  downloadParallelism?: number
  /** Publish pointers on a store that ignores conditional writes (unsafe: pointers can regress). */
  allowUnsafePointerUpdates?: boolean
  /** GC never deletes a chunk or orphan manifest younger than this (default 7 days). */
  gcGraceMs?: number
  /** The software that writes manifests (default `cairn <version>`). */
  producer?: string
  /** How chunks are stored (never changes a chunk's id); 'auto' (default): deflate for remote stores, none for file:// and memory://. */
  compression?: ChunkCompression | 'auto'
  /** The clock (tests). */
  now?: () => number
}

export interface CreateProgress {
  chunksDone: number
  chunksUploaded: number
  bytesUploaded: number
  entries: number
}

export interface CreateOptions {
  /** Who publishes: the store's id, and the epoch it recorded at its last publish (if any). */
  writer: { storeId: string; epoch?: number }
  /** Publish even if another writer owns the partition, fencing it (epoch + 1). */
  takeOver?: boolean
  onProgress?: (progress: CreateProgress) => void
}

export interface CreateResult {
  partition: string
  lsn: number
  snapshotId: string
  rootHash: string
  /** Stored bytes uploaded (chunks the repository lacked, plus the manifest). */
  bytesUploaded: number
  chunksUploaded: number
  chunksTotal: number
  entries: number
  /** Canonical bytes of the snapshot. */
  bytes: number
  /** False when the repository already had a snapshot at or past `lsn`: then the fields describe that one. */
  published: boolean
  /** The writer epoch now recorded in latest.json for this store (record it for the next create). */
  epoch: number
}

export interface OpenProgress {
  chunksDone: number
  chunksTotal: number
  bytesDone: number
  bytesTotal: number
}

export interface OpenOptions {
  /** A snapshot to open (no fallback then); default the latest, falling back to older ones. */
  snapshotId?: string
  onProgress?: (progress: OpenProgress) => void
}

/** A snapshot that was skipped while opening, and why. */
export interface FallbackNote {
  snapshotId: string
  lsn: number
  code: string
  message: string
}

export interface OpenedSnapshot {
  manifest: SnapshotManifest
  /** Entries in key order, every chunk verified against its id before its entries are yielded. */
  entries(): AsyncIterable<[Uint8Array, Uint8Array]>
  /** Newer snapshots that could not be opened (damaged or missing), newest first. */
  fellBackFrom?: FallbackNote[]
}

export type ProblemKind = 'missing' | 'corrupt' | 'unparsable'

export interface VerifyProblem {
  key: string
  problem: ProblemKind
  detail: string
  snapshotId?: string
}

export interface VerifyResult {
  ok: boolean
  snapshotsChecked: number
  chunksChecked: number
  problems: VerifyProblem[]
}

export interface PruneResult {
  kept: RetainedSnapshot[]
  manifestsDeleted: string[]
}

export interface GcResult {
  chunksKept: number
  chunksDeleted: number
  bytesDeleted: number
  /** Chunks unreferenced but younger than the grace period. */
  chunksYoung: number
  manifestsDeleted: string[]
}

export type { RetainedSnapshot, SnapshotWriter }
