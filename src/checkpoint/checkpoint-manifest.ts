/**
 * CHECKPOINT.json: what a checkpoint holds, written last (before the rename that publishes the
 * checkpoint), so a directory with a valid one was made whole. It names the cut (the LSN of each
 * partition), when and by which cairn and from which store it was made, and every other file
 * with its size and SHA-256.
 *
 * Layout: `{"checksum": sha256(JSON.stringify(body)), "body": {...}}`, like the catalog.
 *
 * Invariants:
 * - a manifest read back passed its checksum and its shape check (paths relative, normalized,
 *   inside the checkpoint, each once; sizes and LSNs non-negative integers; digests 64 hex):
 *   anything else is CORRUPT_CHECKPOINT, never guessed at;
 * - a newer format version is UNSUPPORTED_FORMAT (upgrade cairn), not damage.
 */
import { posix } from 'node:path'
import { decodeChecksummedJson, encodeChecksummedJson } from '../io/checksummed-json.js'
import { CairnError, CorruptionError, IoError, isNotFound } from '../io/errors.js'
import type { FileSystem } from '../io/file-system.js'
import { NodeFileSystem } from '../io/node-file-system.js'
import { checkpointManifestFileName, isPartitionId } from '../partition/index.js'

/** The name of a checkpoint's manifest, at its root. */
export const checkpointManifestFile = checkpointManifestFileName
export const checkpointFormat = 'cairn-checkpoint'
export const checkpointFormatVersion = 1
/** The cairn that writes checkpoints (package.json's version). */
export const cairnVersion = '0.1.0'
/** A manifest is metadata: one line per file. A bound keeps a damaged length from costing memory. */
export const checkpointManifestBytesMax = 256 * 1024 * 1024

/** One file of a checkpoint. */
export interface CheckpointFile {
  /** Relative to the checkpoint's root, POSIX separators. */
  path: string
  bytes: number
  sha256: string
}

export interface CheckpointManifest {
  format: typeof checkpointFormat
  version: number
  cairnVersion: string
  /** The store the checkpoint was taken of (a restore gives the new store a new id). */
  storeId: string
  /** ISO 8601. */
  createdAt: string
  /** The cut: the last LSN of each partition the checkpoint holds. */
  partitions: Record<string, number>
  /** Every file but CHECKPOINT.json, sorted by path. */
  files: CheckpointFile[]
}

export function encodeCheckpointManifest(manifest: CheckpointManifest): Uint8Array {
  const problem = manifestProblem(manifest)
  if (problem !== undefined) throw new Error(`a checkpoint manifest written is well formed (${problem})`)
  const bytes = encodeChecksummedJson(manifest, 1)
  const out = new Uint8Array(bytes.length + 1)
  out.set(bytes)
  out[bytes.length] = 0x0a
  return out
}

/** Parses and checks CHECKPOINT.json's bytes; CORRUPT_CHECKPOINT when damaged. */
export function decodeCheckpointManifest(bytes: Uint8Array, path: string): CheckpointManifest {
  const damaged = (why: string, cause?: unknown): CorruptionError =>
    new CorruptionError('CORRUPT_CHECKPOINT', `checkpoint manifest ${path} is damaged (${why}): take the checkpoint again, or use another backup`, {
      context: { path },
      cause,
    })
  if (bytes.length > checkpointManifestBytesMax) throw damaged(`larger than ${checkpointManifestBytesMax} bytes`)
  const body = decodeChecksummedJson(bytes, damaged) as CheckpointManifest
  if (typeof body !== 'object' || body === null || body.format !== checkpointFormat) throw damaged('not a cairn checkpoint manifest')
  if (typeof body.version !== 'number' || body.version > checkpointFormatVersion) {
    throw new CairnError(
      'UNSUPPORTED_FORMAT',
      `checkpoint ${path} has format version ${String(body.version)}, newer than this cairn reads (${checkpointFormatVersion}): upgrade cairn`,
      { context: { path, version: String(body.version) } },
    )
  }
  const problem = manifestProblem(body)
  if (problem !== undefined) throw damaged(problem)
  return body
}

/**
 * Reads `dir`'s CHECKPOINT.json, checked (see the header). CORRUPT_CHECKPOINT when it is missing
 * (the directory is no checkpoint, or one whose making never finished) or damaged.
 *
 * @example
 * const m = await readCheckpointManifest('/backups/2026-12-01')
 * console.log(m.partitions, m.files.length)
 */
export async function readCheckpointManifest(dir: string, options: { fs?: FileSystem } = {}): Promise<CheckpointManifest> {
  const fs = options.fs ?? new NodeFileSystem()
  const path = posix.join(posix.resolve(dir), checkpointManifestFile)
  let bytes: Uint8Array
  try {
    bytes = await fs.readFile(path)
  } catch (e) {
    if (isNotFound(e)) {
      throw new CorruptionError('CORRUPT_CHECKPOINT', `${dir} holds no ${checkpointManifestFile}: it is not a checkpoint, or its making never finished`, {
        context: { path },
      })
    }
    throw new IoError('read', path, e)
  }
  return decodeCheckpointManifest(bytes, path)
}

const sha256Pattern = /^[0-9a-f]{64}$/
const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0

/** A relative path that stays inside the checkpoint: normalized, no `..`, no empty part. */
export function isCheckpointPath(path: unknown): path is string {
  if (typeof path !== 'string' || path === '' || path.startsWith('/') || path.includes('\\') || path.includes('\0')) return false
  if (posix.normalize(path) !== path) return false
  return path.split('/').every((part) => part !== '' && part !== '.' && part !== '..')
}

function manifestProblem(m: CheckpointManifest): string | undefined {
  if (typeof m.cairnVersion !== 'string' || typeof m.storeId !== 'string' || m.storeId === '') return 'no cairn version or store id'
  if (typeof m.createdAt !== 'string' || Number.isNaN(Date.parse(m.createdAt))) return 'no creation time'
  if (typeof m.partitions !== 'object' || m.partitions === null || Array.isArray(m.partitions)) return 'no cut'
  for (const [id, lsn] of Object.entries(m.partitions)) {
    if (!isPartitionId(id)) return `partition id ${JSON.stringify(id)} is not valid`
    if (!isCount(lsn)) return `partition ${id} has no LSN`
  }
  if (!Array.isArray(m.files)) return 'no file list'
  const seen = new Set<string>()
  for (const f of m.files) {
    if (typeof f !== 'object' || f === null || !isCheckpointPath(f.path)) return `a file path is not a plain relative path (${JSON.stringify(f?.path)})`
    if (f.path === checkpointManifestFile) return `${checkpointManifestFile} lists itself`
    if (seen.has(f.path)) return `${f.path} is listed twice`
    seen.add(f.path)
    if (!isCount(f.bytes)) return `${f.path} has no size`
    if (typeof f.sha256 !== 'string' || !sha256Pattern.test(f.sha256)) return `${f.path} has no SHA-256`
  }
  return undefined
}
