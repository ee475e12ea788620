export { s3OptionsOf } from './s3-config.js'
export {
  bareEtag,
  multipartPartBytes,
  multipartPartsInFlightMax,
  multipartThresholdBytes,
  S3ObjectStore,
  type S3ObjectStoreOptions,
  s3AttemptsMax,
  s3ConnectMsMax,
  s3DefaultRegion,
  s3RequestIdleMsMax,
} from './s3-object-store.js'
