/**
 * The faces' import rules, read from the source: the CLI and the server reach the engine only
 * through the partition layer's index (and src/io); what both share lives in src/wire, which
 * imports neither; the server imports nothing of the CLI; the CLI imports the server only to start
 * it (its index) and for the defaults of `serve`'s options (server-limits.ts, no imports).
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, normalize, relative } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

function sources(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name)
    return statSync(join(root, path)).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : []
  })
}

/** Repository paths (`src/...ts`) each relative import of `file` names, static and dynamic. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8')
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]!)
  return specifiers.map((s) => normalize(join(dirname(file), s)).replace(/\.js$/, '.ts'))
}

function violations(dirs: string[], allowed: (target: string) => boolean): string[] {
  return dirs.flatMap((dir) => sources(dir).flatMap((file) => importsOf(file).filter((t) => !allowed(t)).map((t) => `${file} -> ${relative('.', t)}`)))
}

test('the faces reach the engine only through partition/index.ts and src/io', () => {
  const engine = (t: string) => t.startsWith('src/log/') || t.startsWith('src/state/') || (t.startsWith('src/partition/') && t !== 'src/partition/index.ts')
  assert.deepEqual(violations(['src/server', 'src/cli', 'src/wire'], (t) => !engine(t)), [])
})

test('src/wire imports neither face; the server imports nothing of the CLI', () => {
  assert.deepEqual(violations(['src/wire'], (t) => !t.startsWith('src/server/') && !t.startsWith('src/cli/')), [])
  assert.deepEqual(violations(['src/server'], (t) => !t.startsWith('src/cli/')), [])
})

test('the CLI imports the server only through its index, and the option defaults of serve', () => {
  const allowed = new Set(['src/server/index.ts', 'src/server/server-limits.ts'])
  assert.deepEqual(violations(['src/cli'], (t) => !t.startsWith('src/server/') || allowed.has(t)), [])
  assert.deepEqual(importsOf('src/server/server-limits.ts'), [], 'server-limits.ts imports nothing, so the CLI loads no server code for it')
})
