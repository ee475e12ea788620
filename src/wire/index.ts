/**
 * What the two faces (CLI, server) say the same way: bytes in JSON (text, or base64 when not
 * UTF-8) and the errors only they raise. Both import it; neither imports the other for it.
 */
export { ApiError, type ApiErrorCode } from './api-error.js'
export { base64Pattern, bytesField, fromBase64, utf8, utf8OrUndefined } from './bytes-json.js'
