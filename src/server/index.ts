/** The HTTP server of cairn. */
export {
  bodyBytesMaxDefault,
  type CairnServer,
  createServer,
  readLimitDefault,
  readLimitMax,
} from './create-server.js'
export { cairnErrorStatus, toErrorResponse } from './error-response.js'
export { isLoopbackBind } from './request-guard.js'
export {
  bodyBytesPerSecondMin,
  errorMessageCharsMax,
  headersTimeoutMsDefault,
  inflightBytesMaxDefault,
  lingerBytesMax,
  lingerIdleMsMax,
  lingerMsMax,
  maxPartitionsDefault,
  pageBuildBytesMaxDefault,
  pageBytesDefault,
  pageBytesMax,
  requestItemsMaxDefault,
  requestTimeoutMsFor,
  shutdownMsDefault,
} from './server-limits.js'
export type { ServerOptions } from './server-options.js'
