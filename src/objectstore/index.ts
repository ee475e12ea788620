export type {
  ByteRange,
  GetOptions,
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
