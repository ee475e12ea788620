/** Opens the store named by `--data` for one command and always closes it. */
import { Store } from '../partition/index.js'

export async function withStore<T>(dir: string, create: boolean, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await Store.open(dir, { create })
  try {
    return await fn(store)
  } finally {
    await store.close()
  }
}
