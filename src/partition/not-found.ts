/** The not-found errors a store and a store reader share, so both say the same thing. */
import { CairnError, CorruptionError } from '../io/errors.js'

export function storeNotFound(dir: string): CairnError {
  return new CairnError('STORE_NOT_FOUND', `no cairn store in ${dir}: run \`cairn init --data ${dir}\` or pass the right --data`, {
    context: { dir },
  })
}

export function partitionNotFound(id: string): CairnError {
  return new CairnError('PARTITION_NOT_FOUND', `partition ${id} does not exist: create it first (writes create it by default)`, {
    context: { partition: id },
  })
}

/** Partition directories but no catalog: the store is damaged, never to be reinitialized. */
export function catalogMissing(dir: string, partitions: string[]): CorruptionError {
  const shown = partitions.slice(0, 5).join(', ') + (partitions.length > 5 ? ', ...' : '')
  return new CorruptionError(
    'CORRUPT_CATALOG',
    `store ${dir} has ${partitions.length} partition director${partitions.length === 1 ? 'y' : 'ies'} (${shown}) but no catalog.json: ` +
      'restore catalog.json from a backup; cairn will not guess which partitions exist, nor start an empty store over them',
    { context: { dir, partitions: partitions.length } },
  )
}
