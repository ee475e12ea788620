/** The not-found errors a store and a store reader share, so both say the same thing. */
import { CairnError } from '../io/errors.js'

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
