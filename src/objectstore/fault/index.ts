export {
  FaultObjectStore,
  type FaultObjectStoreOptions,
  type FaultRuleOptions,
  type ObjectStoreFaultKind,
  type ObjectStoreOperation,
} from './fault-object-store.js'
