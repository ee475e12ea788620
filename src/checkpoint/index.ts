/** Checkpoints: consistent, self-describing copies of a live store made by hard links; verification and restore. */
export {
  checkpoint,
  checkpointFileConcurrency,
  type CheckpointHooks,
  type CheckpointOptions,
  type CheckpointProgress,
  type CheckpointResult,
} from './checkpoint.js'
export {
  cairnVersion,
  type CheckpointFile,
  type CheckpointManifest,
  checkpointFormat,
  checkpointFormatVersion,
  checkpointManifestFile,
  readCheckpointManifest,
} from './checkpoint-manifest.js'
export { type RestoreCheckpointOptions, type RestoreCheckpointResult, restoreCheckpoint } from './restore-checkpoint.js'
export {
  type CheckpointProblem,
  type CheckpointProblemKind,
  type VerifyCheckpointOptions,
  type VerifyCheckpointResult,
  verifyCheckpoint,
} from './verify-checkpoint.js'
