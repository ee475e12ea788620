/**
 * Where a store keeps its files: every path under a store's directory is built here, nowhere
 * else, so the layout is written once and an upgrade knows exactly what it moves.
 *
 *   <root>/LOCK                                     the lock file (store-lock.ts)
 *   <root>/catalog.json                             which partitions exist and their log chains
 *   <root>/lost+found/                              directories no catalog entry names (moved aside at open)
 *   <root>/partitions/<id>/                         one partition
 *   <root>/partitions/<id>/logs/<logId>/            one log of the partition's chain (segments)
 *   <root>/partitions/<id>/state/                   the partition's state (LSM tree), when the
 *                                                   catalog names no `stateId`
 *   <root>/partitions/<id>/states/<stateId>/state/  the state built by a restore (the catalog's
 *                                                   `stateId` says which one is live)
 *   <root>/partitions/<id>/log/                     format 1 only: the one log of a partition
 *                                                   (the upgrade links its segments into `logs/<logId>/`)
 *
 * Invariants:
 * - paths are built only from validated partition ids and from log and state ids the store
 *   generated (`isStoreFileId`), so nothing escapes the store's directory;
 * - the partition's state directory is always `<home>/state`, where `home` is what the store
 *   hands the partition as its `dir` (the partition appends `state` itself).
 */
import { posix } from 'node:path'
import { assert } from '../io/assert.js'
import { isPartitionId } from './partition-id.js'
import { lockFileName } from './store-lock.js'

export { lockFileName }
export const catalogFileName = 'catalog.json'
/** A checkpoint's manifest (src/checkpoint): a directory holding one is a checkpoint, never opened read-write. */
export const checkpointManifestFileName = 'CHECKPOINT.json'
export const partitionsDirName = 'partitions'
export const lostAndFoundDirName = 'lost+found'
export const logsDirName = 'logs'
export const statesDirName = 'states'
export const stateDirName = 'state'
/** Format 1's single log directory of a partition. */
export const legacyLogDirName = 'log'

/** Log and state ids the store generates: lower-case hex, 16 to 64 characters. */
const storeFileIdPattern = /^[0-9a-f]{16,64}$/

export function isStoreFileId(id: unknown): id is string {
  return typeof id === 'string' && storeFileIdPattern.test(id)
}

/**
 * The paths of one store.
 *
 * @example
 * const layout = new StoreLayout('/data')
 * layout.logDir('orders', logId) // '/data/partitions/orders/logs/<logId>'
 */
export class StoreLayout {
  readonly root: string

  constructor(root: string) {
    this.root = root
  }

  get lockFile(): string {
    return posix.join(this.root, lockFileName)
  }

  get catalogFile(): string {
    return posix.join(this.root, catalogFileName)
  }

  get lostAndFoundDir(): string {
    return posix.join(this.root, lostAndFoundDirName)
  }

  get partitionsDir(): string {
    return posix.join(this.root, partitionsDirName)
  }

  /** An entry listed in `partitions/` (an orphan's name need not be a partition id). */
  partitionsEntry(name: string): string {
    assert(name !== '' && !name.includes('/') && name !== '.' && name !== '..', 'a listed name is one path component')
    return posix.join(this.root, partitionsDirName, name)
  }

  /** Where an orphan named `name` goes in `lost+found/` (a unique name of the store's making). */
  lostAndFoundEntry(name: string): string {
    assert(name !== '' && !name.includes('/') && name !== '.' && name !== '..', 'a lost+found name is one path component')
    return posix.join(this.root, lostAndFoundDirName, name)
  }

  partitionDir(id: string): string {
    assert(isPartitionId(id), `a partition id is validated before a path is built from it (got ${JSON.stringify(id)})`)
    return posix.join(this.root, partitionsDirName, id)
  }

  logsDir(id: string): string {
    return posix.join(this.partitionDir(id), logsDirName)
  }

  logDir(id: string, logId: string): string {
    assert(isStoreFileId(logId), `a log id is one the store generated (got ${JSON.stringify(logId)})`)
    return posix.join(this.logsDir(id), logId)
  }

  /** Format 1's log directory (read by the upgrade, removed after it). */
  legacyLogDir(id: string): string {
    return posix.join(this.partitionDir(id), legacyLogDirName)
  }

  statesDir(id: string): string {
    return posix.join(this.partitionDir(id), statesDirName)
  }

  /** The directory handed to the partition as its `dir`: its state lives in `<home>/state`. */
  stateHome(id: string, stateId: string | undefined): string {
    if (stateId === undefined) return this.partitionDir(id)
    assert(isStoreFileId(stateId), `a state id is one the store generated (got ${JSON.stringify(stateId)})`)
    return posix.join(this.statesDir(id), stateId)
  }

  stateDir(id: string, stateId: string | undefined): string {
    return posix.join(this.stateHome(id, stateId), stateDirName)
  }
}
