/** The one rule for keys (1 to keyBytesMax bytes), owned by src/state/limits.ts: deleteRange bounds are keys too. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CairnError, MemoryFileSystem } from '../../src/io/index.js'
import { keyBytesMax, keyBytesMin, LsmTree, validateKey, validateStateOps } from '../../src/state/index.js'

const empty = new Uint8Array(0)
const isKeyEmpty = (e: unknown): boolean =>
  e instanceof CairnError && e.code === 'KEY_EMPTY' && /1 to 65,536 bytes/.test(e.message) && /\[0x00\]/.test(e.message)

test('key rule: an empty key is KEY_EMPTY, with a message saying what to do, for every op', async () => {
  assert.equal(keyBytesMin, 1)
  assert.equal(keyBytesMax, 65536)
  assert.throws(() => validateKey(empty), isKeyEmpty)
  assert.throws(() => validateStateOps([{ type: 'put', key: empty, value: new Uint8Array(1) }]), isKeyEmpty)
  assert.throws(() => validateStateOps([{ type: 'delete', key: empty }]), isKeyEmpty)
  assert.throws(() => validateStateOps([{ type: 'deleteRange', start: empty, end: new Uint8Array([5]) }]), isKeyEmpty)
  assert.throws(() => validateStateOps([{ type: 'deleteRange', start: new Uint8Array([0]), end: empty }]), isKeyEmpty)
  // The bounds of the rule are keys.
  validateKey(new Uint8Array(keyBytesMin))
  validateKey(new Uint8Array(keyBytesMax))
  assert.throws(() => validateKey(new Uint8Array(keyBytesMax + 1)), (e) => e instanceof CairnError && e.code === 'KEY_TOO_LARGE')
  // The tree refuses the whole record and applies nothing.
  const tree = await LsmTree.open({ fs: new MemoryFileSystem(), dir: '/s' })
  assert.throws(
    () =>
      tree.apply(1, [
        { type: 'put', key: new Uint8Array([1]), value: new Uint8Array([1]) },
        { type: 'put', key: empty, value: new Uint8Array([2]) },
      ]),
    isKeyEmpty,
  )
  assert.equal(tree.appliedLsn, 0)
  assert.equal(await tree.get(new Uint8Array([1])), undefined)
  // The smallest key, [0x00], starts a deleteRange covering everything.
  tree.apply(1, [{ type: 'put', key: new Uint8Array([0]), value: new Uint8Array([1]) }])
  tree.apply(2, [{ type: 'deleteRange', start: new Uint8Array([0]), end: new Uint8Array([0xff, 0xff]) }])
  assert.equal(await tree.get(new Uint8Array([0])), undefined)
  await assert.rejects(tree.bulkLoad([[empty, new Uint8Array(1)]], 3), (e) => isKeyEmpty(e) || (e instanceof CairnError && e.code === 'INVALID_ARGUMENT'))
  await tree.close()
  const fresh = await LsmTree.open({ fs: new MemoryFileSystem(), dir: '/s' })
  await assert.rejects(fresh.bulkLoad([[empty, new Uint8Array(1)]], 3), isKeyEmpty)
  await fresh.close()
})
