/**
 * The cheap hash that places content-defined chunk boundaries (`keyHash32`: FNV-1a with
 * murmur3's fmix32). Part of the canonical format: changing it moves every boundary. Not a
 * security hash: chunk ids are SHA-256.
 */
export { keyHash32 as keyHash } from '../io/key-hash32.js'
