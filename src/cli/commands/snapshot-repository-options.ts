/**
 * What every `cairn snapshot` command shares: `--repo URL` (file://DIR, s3://bucket/prefix, ...)
 * and opening the repository for the length of one command.
 */
import { type Command, InvalidArgumentError } from 'commander'
import { assertPartitionId } from '../../partition/index.js'
import type { SnapshotRepository, SnapshotRepositoryOptions } from '../../snapshot/index.js'

export interface RepositoryCliOptions {
  repo: string
  partition?: string
  json?: boolean
  allowUnsafePointerUpdates?: boolean
}

/** `--repo URL` (required) and `--json`. */
export function withRepository(command: Command): Command {
  return command
    .requiredOption('-r, --repo <url>', 'the snapshot repository: file:///dir, s3://bucket/prefix?region=...')
    .option('--json', 'print JSON, one object per line')
}

/** `--partition P`, checked as a partition id. */
export function withPartition(command: Command, description = 'only this partition (default: every partition in the repository)'): Command {
  return command.option('-p, --partition <id>', description, (text: string) => {
    try {
      assertPartitionId(text)
    } catch (e) {
      throw new InvalidArgumentError((e as Error).message)
    }
    return text
  })
}

/** `--allow-unsafe-pointer-updates`, for commands that update latest.json. */
export function withUnsafePointerUpdates(command: Command): Command {
  return command.option('--allow-unsafe-pointer-updates', 'update latest.json even if the store ignores conditional writes (unsafe with concurrent writers)')
}

/**
 * Runs `body` with the repository at `options.repo`, closing its store afterwards.
 *
 * @example await withSnapshotRepository(options, {}, (repo) => repo.list('orders'))
 */
export async function withSnapshotRepository<T>(
  options: RepositoryCliOptions,
  extra: SnapshotRepositoryOptions,
  body: (repo: SnapshotRepository) => Promise<T>,
): Promise<T> {
  const { openObjectStore, SnapshotRepository } = await loadRepositoryModules()
  const store = await openObjectStore(options.repo)
  try {
    const repo = await SnapshotRepository.open(store, { allowUnsafePointerUpdates: options.allowUnsafePointerUpdates === true, ...extra })
    return await body(repo)
  } finally {
    await store.close()
  }
}

/** The partitions a command covers: the one given, or every one the repository has. */
export async function partitionsOf(repo: SnapshotRepository, options: RepositoryCliOptions): Promise<string[]> {
  return options.partition !== undefined ? [options.partition] : await repo.partitions()
}

/**
 * The object-store and snapshot modules, loaded when a snapshot command runs: they pull in the
 * AWS SDK, which every other command (and `cairn serve` without `--repo`) should not pay for.
 */
export async function loadRepositoryModules() {
  const [{ openObjectStore }, snapshot] = await Promise.all([import('../../objectstore/index.js'), import('../../snapshot/index.js')])
  return { openObjectStore, ...snapshot }
}
