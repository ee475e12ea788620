/**
 * A cheap 32-bit hash of a byte string: FNV-1a over the bytes, finished with murmur3's fmix32 so
 * every bit depends on every byte (fast for short keys in JS). Two formats use it: the bloom
 * filters of table files and the content-defined chunk boundaries of snapshots. Its output is
 * therefore part of both; changing it means a new version of each. Not a security hash.
 *
 * @example keyHash32(new TextEncoder().encode('user:42')) // an unsigned 32-bit number
 */
export function keyHash32(key: Uint8Array): number {
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key[i]!, 0x01000193)
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}
