/**
 * Reads a request body up to a limit. Over the limit it stops keeping bytes at once (a declared
 * Content-Length over it is refused before any byte is read), so a huge upload costs at most
 * `bytesMax` of memory; the caller answers 413 and drains the rest (lingering close).
 * Every byte held is first reserved, as it arrives, in the server-wide in-flight budget (503
 * past it; a declared length alone reserves nothing), and an
 * optional `inspect` sees each chunk as it arrives so a bounded pre-check can refuse mid-stream.
 */
import type { IncomingMessage } from 'node:http'
import { ApiError } from '../wire/index.js'

export interface BodyLimits {
  bytesMax: number
  /** Reserves bytes in the in-flight budget (throws SERVER_BUSY); released when the response closes. */
  reserve?: (bytes: number) => void
  /** Sees every chunk before it is kept; throws to refuse the body. */
  inspect?: (chunk: Buffer) => void
  /** Called once the body is going to be read: answers `Expect: 100-continue` (never sent for a refused body). */
  beforeRead?: () => void
  /** Aborted: stop reading and refuse with SHUTTING_DOWN (a slow body at the end of a shutdown). */
  signal?: AbortSignal
}

export function readBody(req: IncomingMessage, limits: BodyLimits): Promise<Buffer> {
  const { bytesMax, reserve, inspect, signal, beforeRead } = limits
  const tooLarge = () =>
    new ApiError('BODY_TOO_LARGE', `request body is over the limit of ${bytesMax} bytes: send smaller batches`, {
      connection: 'close',
    })
  const declared = Number(req.headers['content-length'])
  const isDeclared = req.headers['content-length'] !== undefined && Number.isFinite(declared)
  if (isDeclared && declared > bytesMax) return Promise.reject(tooLarge())
  try {
    // Bytes are reserved as they arrive, never on a declared length alone: sockets that declare
    // big bodies and send nothing must not hold the budget hostage (every write would be 503).
    beforeRead?.()
  } catch (e) {
    return Promise.reject(e)
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let bytes = 0
    const cleanup = () => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
      req.off('aborted', onAborted)
      signal?.removeEventListener('abort', onShutdown)
    }
    const fail = (e: unknown) => {
      cleanup()
      req.pause()
      reject(e)
    }
    const onData = (chunk: Buffer) => {
      bytes += chunk.length
      if (bytes > bytesMax) return fail(tooLarge())
      try {
        reserve?.(chunk.length)
        inspect?.(chunk)
      } catch (e) {
        return fail(e)
      }
      chunks.push(chunk)
    }
    const onEnd = () => {
      cleanup()
      resolve(Buffer.concat(chunks, bytes))
    }
    const onError = () => fail(clientAborted())
    const onAborted = () => fail(clientAborted())
    const onShutdown = () =>
      fail(new ApiError('SHUTTING_DOWN', 'the server is shutting down and stopped waiting for this request body: retry', { connection: 'close' }))
    if (signal?.aborted) return onShutdown()
    signal?.addEventListener('abort', onShutdown)
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onError)
    req.on('aborted', onAborted)
  })
}

function clientAborted(): ApiError {
  return new ApiError('CLIENT_ABORTED', 'the client closed the connection before its request body was complete')
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** Parses a JSON body: INVALID_TEXT for bytes that are not UTF-8, INVALID_JSON for anything that is not JSON. */
export function parseJson(body: Buffer): unknown {
  let text: string
  try {
    text = strictUtf8.decode(body)
  } catch {
    throw new ApiError('INVALID_TEXT', 'request body is not valid UTF-8: send binary data as payloadBase64 / keyBase64 / valueBase64')
  }
  try {
    return JSON.parse(text)
  } catch (e) {
    throw new ApiError('INVALID_JSON', `request body is not valid JSON: ${(e as Error).message}`)
  }
}
