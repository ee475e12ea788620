/** Shared pieces of the checkpoint tests. */
import type { Partition, ReadSnapshot } from '../../src/partition/index.js'

const dec = new TextDecoder()

/** Every key and value of a partition (or a read snapshot), as text. */
export async function contentsOf(source: Partition | ReadSnapshot): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for await (const [k, v] of source.scan()) out[dec.decode(k)] = dec.decode(v)
  return out
}

/** The sum of the integer values of `contents` whose key starts with `prefix`. */
export function sumOf(contents: Record<string, string>, prefix = ''): number {
  let sum = 0
  for (const [k, v] of Object.entries(contents)) if (k.startsWith(prefix)) sum += Number(v)
  return sum
}
