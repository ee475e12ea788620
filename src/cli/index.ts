/** The `cairn` command-line interface, for embedding (tests, wrappers). */
export { buildProgram } from './program.js'
export { run } from './run.js'
