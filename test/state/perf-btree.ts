import { BTree } from '../../src/state/btree.js'
import { compareBytes } from '../../src/state/types.js'
const n = 300000
const keys: Uint8Array[] = []
for (let i = 0; i < n; i++) { const k = new Uint8Array(16); new DataView(k.buffer).setUint32(0, (i * 2654435761) >>> 0); new DataView(k.buffer).setUint32(4, i); keys.push(k) }
for (const [name, cmp] of [['js', compareBytes], ['native', Buffer.compare]] as const) {
  const t = new BTree<Uint8Array, number>(undefined, cmp as (a: Uint8Array, b: Uint8Array) => number)
  let s = performance.now()
  for (let i = 0; i < n; i++) t.set(keys[i]!, i)
  const setMs = performance.now() - s
  s = performance.now()
  let x = 0
  for (let i = 0; i < n; i++) x += t.get(keys[(i * 7919) % n]!)!
  console.log(name, 'set/s', Math.round(n / (setMs / 1000)), 'get/s', Math.round(n / ((performance.now() - s) / 1000)), x > 0)
}
{
  const t = new BTree<string, number>()
  const strKeys = keys.map((k) => Buffer.from(k.buffer, k.byteOffset, k.length).latin1Slice(0, k.length))
  let s = performance.now()
  for (let i = 0; i < n; i++) t.set(Buffer.from(keys[i]!.buffer, keys[i]!.byteOffset, 16).latin1Slice(0, 16), i)
  const setMs = performance.now() - s
  s = performance.now()
  let x = 0
  for (let i = 0; i < n; i++) x += t.get(strKeys[(i * 7919) % n]!)!
  console.log('latin1 string', 'set/s', Math.round(n / (setMs / 1000)), 'get/s', Math.round(n / ((performance.now() - s) / 1000)), x > 0)
}
