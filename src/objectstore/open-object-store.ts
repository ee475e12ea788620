/**
 * Opens the object store a URL names (see object-store-url.ts for the forms). `memory://name`
 * stores live as long as the process: every open of one name sees the same objects.
 */
import type { FileSystem } from '../io/file-system.js'
import { FileObjectStore } from './fs/file-object-store.js'
import { MemoryObjectStore } from './memory/memory-object-store.js'
import type { ObjectStore } from './object-store.js'
import { parseObjectStoreUrl } from './object-store-url.js'
import { s3OptionsOf } from './s3/s3-config.js'
import { S3ObjectStore, type S3ObjectStoreOptions } from './s3/s3-object-store.js'

export interface OpenObjectStoreOptions {
  /** The file system of `file://` stores (default: the real one). */
  fs?: FileSystem
  /** The environment S3 settings fall back to (default `process.env`). */
  env?: Record<string, string | undefined>
  /** For `s3://` stores: credentials (default: the standard AWS chain), retries, multipart sizes. */
  s3?: Pick<S3ObjectStoreOptions, 'credentials' | 'maxAttempts' | 'multipartThresholdBytes' | 'partBytes'>
}

const memoryStores = new Map<string, MemoryObjectStore>()

/**
 * The store at `url`.
 *
 * @example
 * const store = await openObjectStore('s3://backups/cairn?region=eu-west-1')
 * try { await store.put('hello', new Uint8Array([1])) } finally { await store.close() }
 */
export async function openObjectStore(url: string, options: OpenObjectStoreOptions = {}): Promise<ObjectStore> {
  const location = parseObjectStoreUrl(url)
  switch (location.kind) {
    case 'file':
      return FileObjectStore.open(location.dir, options.fs === undefined ? {} : { fs: options.fs })
    case 'memory': {
      let first = memoryStores.get(location.name)
      if (first === undefined) {
        first = new MemoryObjectStore({ name: location.name })
        memoryStores.set(location.name, first)
      }
      return new MemoryObjectStore({ name: location.name, sharing: first })
    }
    case 's3':
      return new S3ObjectStore({ ...s3OptionsOf(location, options.env ?? process.env), ...options.s3 })
  }
}
