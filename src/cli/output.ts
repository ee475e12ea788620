/** Writing to stdout with backpressure, so `cairn log read` of a huge log does not buffer it all. */
import type { Writable } from 'node:stream'

export function write(stream: Writable, chunk: string | Uint8Array): Promise<void> | undefined {
  if (stream.write(chunk)) return undefined
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      stream.off('error', onError)
      resolve()
    }
    const onError = (e: Error) => {
      stream.off('drain', onDrain)
      reject(e)
    }
    stream.once('drain', onDrain)
    stream.once('error', onError)
  })
}

/** Writes `text` and a newline; await the result (it is only a promise when the pipe is full). */
export async function writeLine(text: string, stream: Writable = process.stdout): Promise<void> {
  await write(stream, `${text}\n`)
}
