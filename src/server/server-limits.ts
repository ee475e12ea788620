/** Default limits of the HTTP server (a module of its own so the CLI reads them without loading the server). */
export const bodyBytesMaxDefault = 16 * 1024 * 1024
export const readLimitDefault = 1000
export const readLimitMax = 10_000
/** After SIGTERM / close(), requests still unanswered this long are answered 503 and cut. */
export const shutdownMsDefault = 10_000
/** Records (POST .../records) or ops (POST .../batch) in one request; more is 413 BATCH_TOO_LARGE before parsing. */
export const requestItemsMaxDefault = 10_000
/** Nesting of a JSON body: `{"records":[{...}]}` is 3 deep; deeper is refused before parsing. */
export const bodyDepthMax = 3
/** Bytes of one page of records or entries when `maxBytes` is absent, and the largest `maxBytes`. */
export const pageBytesDefault = 4 * 1024 * 1024
export const pageBytesMax = 64 * 1024 * 1024
/** Bytes of read pages (records, scans) the whole server builds at once; past it, 503 SERVER_BUSY. */
export const pageBuildBytesMaxDefault = 256 * 1024 * 1024
/** Bytes of request bodies held by the whole server at once; past it, 503 SERVER_BUSY. */
export const inflightBytesMaxDefault = 64 * 1024 * 1024
/** Partitions a store may reach by auto-create (existing partitions are never refused). */
export const maxPartitionsDefault = 1000
/**
 * A refused body is drained (read and dropped) up to this many bytes, while bytes keep coming
 * (a gap of `lingerIdleMsMax` cuts), and at most `lingerMsMax` in all, before the socket closes.
 */
export const lingerBytesMax = 128 * 1024 * 1024
export const lingerIdleMsMax = 5_000
export const lingerMsMax = 30_000
/** Time to receive a request's headers; the whole request gets this plus its body at the slowest accepted rate. */
export const headersTimeoutMsDefault = 10_000
export const bodyBytesPerSecondMin = 1024 * 1024

/** The whole-request timeout for a body limit: headers time plus the body at `bodyBytesPerSecondMin`. */
export function requestTimeoutMsFor(bodyBytesMax: number, headersTimeoutMs = headersTimeoutMsDefault): number {
  return headersTimeoutMs + Math.ceil((bodyBytesMax / bodyBytesPerSecondMin) * 1000)
}
/** Characters of an error message in an answer; longer is cut, so bad input is never echoed back whole. */
export const errorMessageCharsMax = 1000
