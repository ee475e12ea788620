/** The HTTP server of cairn. */
export { bytesField, utf8OrUndefined } from './bytes-json.js'
export {
  bodyBytesMaxDefault,
  type CairnServer,
  createServer,
  readLimitDefault,
  readLimitMax,
  type ServerOptions,
} from './create-server.js'
export { ApiError, type ApiErrorCode, cairnErrorStatus, toErrorResponse } from './error-response.js'
export {
  bodyBytesPerSecondMin,
  errorMessageCharsMax,
  pageBuildBytesMaxDefault,
  headersTimeoutMsDefault,
  inflightBytesMaxDefault,
  lingerBytesMax,
  lingerMsMax,
  maxPartitionsDefault,
  pageBytesDefault,
  pageBytesMax,
  requestItemsMaxDefault,
  requestTimeoutMsFor,
  shutdownMsDefault,
} from './server-limits.js'
