/**
 * cairn/testing: test doubles for code built on cairn, kept out of the main entry so
 * production code cannot pick them up by accident.
 *
 * - `MemoryFileSystem`: an in-memory file system with a crash model (process crash, power loss
 *   keeping a seeded subset of unsynced writes, failed and held syncs).
 * - `FaultFileSystem`: wraps any file system and fails chosen operations.
 * - `MemoryLog`: an in-memory `Log` (dense LSNs, trim, seal, cut, a failing append on demand).
 * - `MemoryObjectStore`: an in-memory object store with conditional puts (a `memory://` repository).
 * - `FaultObjectStore`: wraps any object store; fails, delays, or commits and then fails chosen
 *   operations, and counts calls.
 *
 * @example
 * import { Store } from 'cairn'
 * import { MemoryFileSystem } from 'cairn/testing'
 * const fs = new MemoryFileSystem({ seed: 1 })
 * const store = await Store.open('/data', { fs })
 * @module
 */
export {
  FaultFileSystem,
  type FaultRule,
  MemoryFileSystem,
  type MemoryFileSystemOptions,
  type Operation,
  type OperationName,
  type PowerLossKeep,
} from '../io/index.js'
export { MemoryLog, type MemoryLogOptions } from '../log/index.js'
// From the files, not the folder's index: that one also loads the S3 store and the AWS SDK.
export { MemoryObjectStore, type MemoryObjectStoreOptions } from '../objectstore/memory/memory-object-store.js'
export {
  FaultObjectStore,
  type FaultObjectStoreOptions,
  type FaultRuleOptions,
  type ObjectStoreFaultKind,
  type ObjectStoreOperation,
} from '../objectstore/fault/index.js'
