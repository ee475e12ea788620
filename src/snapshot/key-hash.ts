/**
 * The cheap hash that places content-defined chunk boundaries: 32-bit FNV-1a over the key,
 * finished with murmur3's fmix32 so every bit depends on every key byte. Part of the canonical
 * format (changing it moves every boundary). Not a security hash: chunk ids are SHA-256.
 */

/** @example keyHash(new TextEncoder().encode('user:42')) // an unsigned 32-bit number */
export function keyHash(key: Uint8Array): number {
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key[i]!, 0x01000193)
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}
