/**
 * Bytes in JSON: a field holds UTF-8 text when the bytes are valid UTF-8, otherwise a
 * `<field>Base64` field holds them, so no byte sequence is ever mangled by a text decoder.
 * Used by the server and the CLI so both print the same shape.
 */
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const encoder = new TextEncoder()

/**
 * The bytes as text, or undefined when they are not valid UTF-8.
 *
 * @example
 * utf8OrUndefined(new Uint8Array([0x68, 0x69])) // 'hi'
 * utf8OrUndefined(new Uint8Array([0xff]))       // undefined
 */
export function utf8OrUndefined(bytes: Uint8Array): string | undefined {
  try {
    return strictDecoder.decode(bytes)
  } catch {
    return undefined
  }
}

/** Text whose JSON escaping would be this many bytes longer than its base64 goes out as base64. */
const escapeSlackBytesMax = 64

/**
 * Bytes of `bytes` (valid UTF-8) as a JSON string body: `"` and `\\` take 2, control
 * characters 2 (`\n`...) or 6 (`\u0001`), everything else itself.
 */
function escapedBytes(bytes: Uint8Array): number {
  let n = bytes.length
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!
    if (b === 0x22 || b === 0x5c || b === 0x08 || b === 0x09 || b === 0x0a || b === 0x0c || b === 0x0d) n += 1
    else if (b < 0x20) n += 5
  }
  return n
}

/**
 * Text when the bytes are UTF-8 and escaping them is not much longer than base64; base64
 * otherwise, so the JSON form of any bytes is at most 4/3 of them (plus a little): a value of
 * control characters would otherwise grow six-fold (`\u0001`) in a page.
 *
 * @example
 * bytesField('payload', new TextEncoder().encode('hi')) // { payload: 'hi' }
 * bytesField('payload', new Uint8Array([0xff]))         // { payloadBase64: '/w==' }
 */
export function bytesField(name: string, bytes: Uint8Array): Record<string, string> {
  const text = utf8OrUndefined(bytes)
  if (text !== undefined && escapedBytes(bytes) <= Math.ceil(bytes.length / 3) * 4 + escapeSlackBytesMax) return { [name]: text }
  return { [`${name}Base64`]: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') }
}

/**
 * Text as UTF-8 bytes.
 *
 * @example
 * utf8('hé') // Uint8Array [0x68, 0xc3, 0xa9]
 */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text)
}

/** Strict base64 (standard alphabet, padding optional): Buffer.from alone silently skips junk. */
export const base64Pattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/

/**
 * Bytes of a base64 text already checked against `base64Pattern`.
 *
 * @example
 * if (base64Pattern.test(text)) key = fromBase64(text)
 */
export function fromBase64(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'base64'))
}
