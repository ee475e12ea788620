/**
 * The `sorted-btree` class, imported once: the package is CommonJS with `exports.default`, so
 * under Node ESM the default import is the module object and the class is its `default`.
 */
import btreeModule from 'sorted-btree'

export const BTree = btreeModule.default
export type BTree<K, V> = InstanceType<typeof btreeModule.default<K, V>>
