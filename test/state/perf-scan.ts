import { MemoryFileSystem } from '../../src/io/index.js'
import { LsmTree } from '../../src/state/index.js'
const tree = await LsmTree.open({ fs: new MemoryFileSystem(), dir: '/p', autoCompact: false, blockCacheBytesMax: 512 * 1024 * 1024 })
const n = 300_000
const value = Buffer.alloc(100, 7)
let lsn = 0
for (let i = 0; i < n; i += 1000) {
  const ops = []
  for (let j = i; j < i + 1000; j++) { const k = Buffer.alloc(16); k.writeUInt32BE((j * 2654435761) >>> 0, 0); k.writeUInt32BE(j, 4); ops.push({ type: 'put' as const, key: k, value }) }
  tree.apply(++lsn, ops)
}
await tree.flush()
for (let r = 0; r < 15; r++) {
  const t = performance.now(); let c = 0
  for await (const _ of tree.scan()) c++
  console.log('scan entries/s', Math.round(c / ((performance.now() - t) / 1000)))
}
