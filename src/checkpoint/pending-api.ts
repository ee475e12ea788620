/** TEMPORARY: the agreed checkpoint API, type-only, until h-checkpoint's index.ts is merged. */
import type { Store } from '../partition/index.js'

export interface CheckpointProgress {
  phase: string
  filesDone: number
  filesTotal: number
  bytesDone: number
  bytesTotal: number
}
export interface CheckpointResult {
  path: string
  partitions: Record<string, number>
  createdAt: string
  files: number
  bytes: number
  linkedFiles: number
  copiedFiles: number
}
export interface CheckpointProblem {
  path: string
  problem: 'missing' | 'size' | 'checksum' | 'structure' | 'unexpected'
  detail: string
}
export interface VerifyResult {
  ok: boolean
  problems: CheckpointProblem[]
  partitions: Record<string, number>
  files: number
}
export interface CheckpointManifest {
  createdAt: string
  partitions: Record<string, number>
  files: Array<{ path: string; size: number; sha256: string }>
}
export declare function checkpoint(
  store: Store,
  dir: string,
  options?: { onProgress?: (p: CheckpointProgress) => void; linkFrom?: string[] },
): Promise<CheckpointResult>
export declare function verifyCheckpoint(dir: string, options?: { deep?: boolean }): Promise<VerifyResult>
export declare function restoreCheckpoint(
  dir: string,
  to: string,
  options?: { onProgress?: (p: CheckpointProgress) => void },
): Promise<{ path: string; partitions: Record<string, number> }>
export declare function readCheckpointManifest(dir: string): Promise<CheckpointManifest>
export declare const checkpointManifestFile: string
