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
export {
  assertBackupName,
  type BackupInfo,
  backupNamePattern,
  type BackupSetListing,
  type BackupSetOther,
  backupSetLockFileName,
  backupStagingDirName,
  type CreateBackupOptions,
  type CreatedBackup,
  createBackup,
  generatedBackupName,
  linkFromBackupsMax,
  listBackups,
  type PruneResult,
  pruneBackups,
} from './backup-set.js'
