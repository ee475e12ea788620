/**
 * The snapshot layer's bounds, in one place. Chunk sizes are part of the canonical format: two
 * producers agree on chunks only if they agree on these, so changing one is a format change.
 */

/** No content-defined boundary is taken before a chunk holds this many canonical bytes. */
export const chunkBytesMin = 16 * 1024
/** The expected chunk size: the boundary probability of an entry is sized for it. */
export const chunkBytesTarget = 64 * 1024
/** A chunk never grows past this (an entry bigger than it is a chunk on its own). */
export const chunkBytesMax = 256 * 1024

/** Snapshots kept per partition unless told otherwise. */
export const keepDefault = 3
/** Chunk uploads (HEAD + PUT) in flight at once per `create`. */
export const uploadParallelismDefault = 8
/** Chunk downloads in flight (read ahead, yielded in order) per `open`. */
export const downloadParallelismDefault = 8
/** Compare-and-swap attempts on `latest.json` before a `create` gives up. */
export const pointerUpdateAttemptsMax = 16
/**
 * A chunk younger than this is never swept by GC: an upload may be about to reference it. Long,
 * because a create rewrites every chunk it reuses that is older than half of it (see
 * snapshot-upload.ts): the longer the grace, the rarer those refreshing uploads.
 */
export const gcGraceMsDefault = 7 * 24 * 60 * 60 * 1000
/** The biggest manifest or pointer object read back (a garbage object is not parsed). */
export const manifestBytesMax = 64 * 1024 * 1024
