/**
 * Partition ids are names, never paths: validated against one pattern before anything touches
 * the file system, so no id can escape the store's directory.
 */
import { CairnError } from '../io/errors.js'

export const partitionIdPattern = /^[a-z0-9][a-z0-9_-]{0,63}$/

/**
 * Whether `id` is a valid partition id (`[a-z0-9][a-z0-9_-]{0,63}`): ids name directories, so
 * they are checked before any path is built from them.
 *
 * @example
 * if (!isPartitionId(req.params.id)) return badRequest()
 */
export function isPartitionId(id: unknown): id is string {
  return typeof id === 'string' && partitionIdPattern.test(id)
}

/** Throws `INVALID_PARTITION_ID` unless `id` matches `[a-z0-9][a-z0-9_-]{0,63}`. */
export function assertPartitionId(id: unknown): asserts id is string {
  if (!isPartitionId(id)) {
    const shown = typeof id === 'string' ? JSON.stringify(id.length > 80 ? `${id.slice(0, 80)}...` : id) : typeof id
    throw new CairnError(
      'INVALID_PARTITION_ID',
      `invalid partition id ${shown}: use 1-64 characters of a-z, 0-9, '_' and '-', starting with a letter or digit`,
      { context: { id: typeof id === 'string' ? id.slice(0, 80) : String(id) } },
    )
  }
}
