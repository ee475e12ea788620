/** Default limits of the HTTP server (a module of its own so the CLI reads them without loading the server). */
export const bodyBytesMaxDefault = 16 * 1024 * 1024
export const readLimitDefault = 1000
export const readLimitMax = 10_000
export const shutdownMsDefault = 30_000
