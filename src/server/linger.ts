/**
 * Lingering close, as nginx does it: a request answered before its body was read (413, 401,
 * 404...) is answered with `connection: close`, and the socket stays open while the rest of the
 * body is read and dropped, so the client finishes sending and reads the answer instead of
 * meeting a reset (EPIPE). Bounded: after `bytesMax` more bytes, `idleMsMax` without a byte, or
 * `msMax` in all, the socket is cut. The idle bound is what stops a stalled client; the total
 * bound is loose so that a client sending steadily over a slow link (64 MiB at a few MB/s) still
 * finishes and reads its answer (nginx: lingering_timeout 5 s, lingering_time 30 s).
 */
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'

export interface LingerBounds {
  bytesMax: number
  /** Longest wait for the next bytes of the body. */
  idleMsMax: number
  /** Longest linger in all. */
  msMax: number
}

/**
 * Call before answering a request whose body is not fully read. Returns false when lingering
 * is pointless (the declared rest is over the bound): the answer then closes at once.
 */
export function lingerClose(req: IncomingMessage, bounds: LingerBounds): boolean {
  const socket = req.socket as Socket | null
  if (socket === null || req.complete || socket.destroyed) return false
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > bounds.bytesMax) return false
  // Node closes a `connection: close` socket with destroySoon() once the answer is flushed; a
  // client still sending then gets a reset. Hold that close until the body is drained.
  const destroySoon = socket.destroySoon
  let answered = false
  let drained = false
  socket.destroySoon = () => {
    answered = true
    if (drained) destroySoon.call(socket)
  }
  let bytes = 0
  const cut = () => {
    clearTimeout(timer)
    clearTimeout(idle)
    socket.destroy()
  }
  const timer = setTimeout(cut, bounds.msMax)
  timer.unref()
  const idle = setTimeout(cut, bounds.idleMsMax)
  idle.unref()
  const onData = (chunk: Buffer) => {
    bytes += chunk.length
    if (bytes > bounds.bytesMax) cut()
    else idle.refresh()
  }
  const onEnd = () => {
    drained = true
    clearTimeout(timer)
    clearTimeout(idle)
    socket.destroySoon = destroySoon
    if (answered) destroySoon.call(socket)
  }
  req.on('data', onData)
  req.once('end', onEnd)
  req.once('error', cut)
  socket.once('close', () => {
    clearTimeout(timer)
    clearTimeout(idle)
  })
  req.resume()
  return true
}
