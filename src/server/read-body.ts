/**
 * Reads a request body up to a limit. Over the limit it stops reading at once (a declared
 * Content-Length over it is refused before any byte is read), so a huge upload costs at most
 * `bodyBytesMax` of memory; the caller answers 413 with `connection: close`.
 */
import type { IncomingMessage } from 'node:http'
import { ApiError } from './error-response.js'

export function readBody(req: IncomingMessage, bodyBytesMax: number): Promise<Buffer> {
  const tooLarge = () =>
    new ApiError('BODY_TOO_LARGE', `request body is over the limit of ${bodyBytesMax} bytes: send smaller batches`, {
      connection: 'close',
    })
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > bodyBytesMax) return Promise.reject(tooLarge())
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let bytes = 0
    const cleanup = () => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
      req.off('aborted', onAborted)
    }
    const onData = (chunk: Buffer) => {
      bytes += chunk.length
      if (bytes > bodyBytesMax) {
        cleanup()
        req.pause()
        reject(tooLarge())
        return
      }
      chunks.push(chunk)
    }
    const onEnd = () => {
      cleanup()
      resolve(Buffer.concat(chunks, bytes))
    }
    const onError = (e: Error) => {
      cleanup()
      reject(e)
    }
    const onAborted = () => onError(new Error('client aborted the request'))
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onError)
    req.on('aborted', onAborted)
  })
}

/** Parses a JSON body: INVALID_JSON for anything that is not JSON. */
export function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'))
  } catch (e) {
    throw new ApiError('INVALID_JSON', `request body is not valid JSON: ${(e as Error).message}`)
  }
}
