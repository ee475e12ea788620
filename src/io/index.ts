/** The I/O seam: file systems (real, in-memory with power loss, fault-injecting), checksums, errors. */
export { assert } from './assert.js'
export { atomicWriteFile, mkdirDurable, tempSuffix, writeSyncedFile } from './atomic-write.js'
export { crc32, sha256Hex } from './checksum.js'
export {
  CairnError,
  type CairnErrorOptions,
  CorruptionError,
  type ErrorCode,
  type ErrorContext,
  IoError,
  isAlreadyExists,
  isCairnError,
  isNotFound,
} from './errors.js'
export { FaultFileSystem, type FaultRule, type Operation, type OperationName } from './fault-file-system.js'
export type { FileHandle, FileStat, FileSystem, OpenMode } from './file-system.js'
export { MemoryFileSystem, type MemoryFileSystemOptions, type PowerLossKeep, pageBytes } from './memory-file-system.js'
export { NodeFileSystem } from './node-file-system.js'
