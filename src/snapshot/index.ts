/** Canonical snapshots of partitions and the object-store repository that keeps them. */
export { entryBytes, decodeEntries } from './canonical-entries.js'
export { type CanonicalChunk, ChunkBuilder, canonicalChunks, isBoundaryKey } from './chunker.js'
export { keyHash } from './key-hash.js'
export { chunkKey, latestKey, manifestKey, newSnapshotId } from './repository-layout.js'
export { producerDefault, SnapshotRepository } from './repository.js'
export { decodeManifest, manifestFormat, type ManifestChunk, rootHashOf, type SnapshotManifest } from './snapshot-manifest.js'
export { decodePointer, pointerFormat, type RetainedSnapshot, type SnapshotPointer, type SnapshotWriter } from './snapshot-pointer.js'
export { isSnapshotDamage } from './snapshot-download.js'
export {
  chunkBytesMax,
  chunkBytesMin,
  chunkBytesTarget,
  downloadParallelismDefault,
  gcGraceMsDefault,
  keepDefault,
  pointerUpdateAttemptsMax,
  uploadParallelismDefault,
} from './snapshot-limits.js'
export type {
  CreateOptions,
  CreateProgress,
  CreateResult,
  Entry,
  FallbackNote,
  GcResult,
  OpenedSnapshot,
  OpenOptions,
  OpenProgress,
  ProblemKind,
  PruneResult,
  SnapshotRepositoryOptions,
  SnapshotSource,
  VerifyProblem,
  VerifyResult,
} from './snapshot-types.js'
export type { ChunkCompression } from './stored-chunk.js'
// The store integration (h-snapstore): manager, policy, bootstrap, trimming.
export {
  type CreateSnapshotOptions,
  type PartitionSnapshotStatus,
  type SnapshotCreated,
  type SnapshotEvent,
  SnapshotManager,
  type SnapshotManagerOptions,
  snapshotsInFlightMax,
} from './snapshot-manager.js'
export { readSnapshotMeta, type SnapshotMeta, snapshotMetaNamespace } from './snapshot-manager-meta.js'
export { logBytesSince, policyBytesMinDefault, policyCheckMsDefault, policyRecordsMinDefault, SnapshotPolicy, type SnapshotPolicyOptions } from './snapshot-policy.js'
export { bootstrapPartition, repairTrimGap, type RestoreFromRepositoryOptions, type RestoreFromRepositoryResult, restoreFromRepository } from './bootstrap.js'
export { type TrimResult, trimToArchived } from './trim-to-archived.js'
export { TrimDelay, trimDelayObservationsMax } from './trim-delay.js'
