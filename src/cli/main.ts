#!/usr/bin/env node
/** The `cairn` executable. */
import { run } from './index.js'

// `cairn log read | head`: a closed pipe ends the output, it is not an error worth a stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0)
  throw e
})

process.exitCode = await run(process.argv)
