/**
 * Splits a byte stream into lines without decoding it, so stdin records keep their exact bytes
 * (readline would replace invalid UTF-8). Strips `\n` and a `\r` before it; a last line without
 * a newline still counts.
 */
export async function* byteLines(input: AsyncIterable<Buffer | string>): AsyncGenerator<Uint8Array> {
  let rest: Buffer = Buffer.alloc(0)
  for await (const chunk of input) {
    const buf: Buffer = rest.length === 0 ? Buffer.from(chunk) : Buffer.concat([rest, Buffer.from(chunk)])
    let start = 0
    for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
      yield withoutCr(buf.subarray(start, nl))
      start = nl + 1
    }
    // Copied so the remainder does not pin the whole chunk.
    rest = Buffer.from(buf.subarray(start))
  }
  if (rest.length > 0) yield withoutCr(rest)
}

function withoutCr(line: Buffer): Uint8Array {
  const end = line.length > 0 && line[line.length - 1] === 13 ? line.length - 1 : line.length
  // A copy: the log may keep a reference until the append is durable.
  return new Uint8Array(line.subarray(0, end))
}
