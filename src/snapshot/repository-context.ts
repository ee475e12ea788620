/** What the repository's parts share: the store, the resolved options, reads of its JSON objects. */
import { CairnError, isCairnError } from '../io/errors.js'
import { type ObjectStore, probeConditionalWrites } from '../objectstore/index.js'
import { latestKey, manifestKey } from './repository-layout.js'
import { corrupt, decodeManifest, type SnapshotManifest } from './snapshot-manifest.js'
import { decodePointer, type SnapshotPointer } from './snapshot-pointer.js'
import type { ChunkCompression } from './stored-chunk.js'
import { manifestBytesMax } from './snapshot-limits.js'

export interface ResolvedOptions {
  keep: number
  uploadParallelism: number
  downloadParallelism: number
  allowUnsafePointerUpdates: boolean
  gcGraceMs: number
  producer: string
  compression: ChunkCompression
  now: () => number
}

export class RepositoryContext {
  readonly store: ObjectStore
  readonly options: ResolvedOptions
  #conditionalWrites: Promise<void> | undefined

  constructor(store: ObjectStore, options: ResolvedOptions) {
    this.store = store
    this.options = options
  }

  /**
   * Resolves once the store is known to enforce conditional writes (probed once per repository),
   * or the user allowed unsafe pointer updates; else CONDITIONAL_WRITES_UNSUPPORTED.
   */
  ensureConditionalWrites(): Promise<void> {
    this.#conditionalWrites ??= (async () => {
      if (this.options.allowUnsafePointerUpdates) return
      const probe = await probeConditionalWrites(this.store)
      if (probe.enforced) return
      throw new CairnError(
        'CONDITIONAL_WRITES_UNSUPPORTED',
        `the object store at ${this.store.url} ignores conditional writes (${probe.reason ?? 'probe failed'}), so latest.json could regress under concurrent writers: use a store that enforces If-None-Match/If-Match, or pass --allow-unsafe-pointer-updates if only one writer ever publishes`,
        { context: { url: this.store.url, reason: probe.reason } },
      )
    })().catch((e: unknown) => {
      this.#conditionalWrites = undefined
      throw e
    })
    return this.#conditionalWrites
  }

  /** latest.json with its etag, or undefined when the partition has none (one GET). */
  async readPointer(partition: string): Promise<{ pointer: SnapshotPointer; etag: string } | undefined> {
    const key = latestKey(partition)
    const body = await getOrUndefined(this.store, key)
    if (body === undefined) return undefined
    if (body.size > manifestBytesMax) throw corrupt(key, 'pointer', `it is ${body.size} bytes, more than any pointer`)
    const pointer = decodePointer(body.bytes, key)
    if (pointer.partition !== partition) throw corrupt(key, 'pointer', `it names partition ${pointer.partition}`)
    return { pointer, etag: body.etag }
  }

  /** A manifest, checked to be the one its key names; SNAPSHOT_NOT_FOUND when absent. */
  async readManifest(partition: string, snapshotId: string, key = manifestKey(partition, snapshotId)): Promise<SnapshotManifest> {
    const body = await getOrUndefined(this.store, key)
    if (body === undefined) {
      throw new CairnError('SNAPSHOT_NOT_FOUND', `snapshot ${snapshotId} of partition ${partition} has no manifest at ${key} in ${this.store.url}: list the snapshots with cairn snapshot list`, {
        context: { partition, snapshotId, key },
      })
    }
    if (body.size > manifestBytesMax) throw corrupt(key, 'manifest', `it is ${body.size} bytes, more than any manifest`)
    const manifest = decodeManifest(body.bytes, key)
    if (manifest.partition !== partition || manifest.snapshotId !== snapshotId) {
      throw corrupt(key, 'manifest', `it describes snapshot ${manifest.snapshotId} of partition ${manifest.partition}`)
    }
    return manifest
  }
}

export async function getOrUndefined(store: ObjectStore, key: string) {
  try {
    return await store.get(key)
  } catch (e) {
    if (isCairnError(e, 'OBJECT_NOT_FOUND')) return undefined
    throw e
  }
}

/** Every object under `prefix`, all pages. */
export async function listAll(store: ObjectStore, prefix: string) {
  const out = []
  let startAfter: string | undefined
  for (;;) {
    const page = await store.list(prefix, startAfter === undefined ? {} : { startAfter })
    out.push(...page.objects)
    if (page.next === undefined) return out
    startAfter = page.next
  }
}
