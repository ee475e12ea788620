/** Object stores: where snapshot repositories live (file://, s3://, memory://), with conditional puts. */
export { compareObjectKeys, objectKeyBytesMax, objectKeyProblem, validateObjectKey } from './object-key.js'
export type {
  ByteRange,
  GetOptions,
  ListedObject,
  ListOptions,
  ListPage,
  ObjectBody,
  ObjectInfo,
  ObjectKey,
  ObjectStore,
  PutCondition,
  PutOptions,
} from './object-store.js'
export { listPageKeysMax } from './object-store.js'
export { type ObjectStoreLocation, parseObjectStoreUrl } from './object-store-url.js'
export { FileObjectStore, type FileObjectStoreOptions, keyLockWaitMsMax, reservedFolder } from './fs/index.js'
export {
  FaultObjectStore,
  type FaultObjectStoreOptions,
  type FaultRuleOptions,
  type ObjectStoreFaultKind,
  type ObjectStoreOperation,
} from './fault/index.js'
export { type ProbeResult, probeConditionalWrites, probeKeyPrefix } from './probe-conditional-writes.js'
export { MemoryObjectStore, type MemoryObjectStoreOptions } from './memory/memory-object-store.js'
export { type OpenObjectStoreOptions, openObjectStore } from './open-object-store.js'
export {
  bareEtag,
  multipartPartBytes,
  multipartThresholdBytes,
  S3ObjectStore,
  type S3ObjectStoreOptions,
  s3AttemptsMax,
  s3DefaultRegion,
  s3OptionsOf,
} from './s3/index.js'
