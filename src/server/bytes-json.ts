/**
 * Bytes in JSON: a field holds UTF-8 text when the bytes are valid UTF-8, otherwise a
 * `<field>Base64` field holds them, so no byte sequence is ever mangled by a text decoder.
 * Used by the server and the CLI so both print the same shape.
 */
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const encoder = new TextEncoder()

/** The bytes as text, or undefined when they are not valid UTF-8. */
export function utf8OrUndefined(bytes: Uint8Array): string | undefined {
  try {
    return strictDecoder.decode(bytes)
  } catch {
    return undefined
  }
}

/**
 * @example
 * bytesField('payload', new TextEncoder().encode('hi')) // { payload: 'hi' }
 * bytesField('payload', new Uint8Array([0xff]))         // { payloadBase64: '/w==' }
 */
export function bytesField(name: string, bytes: Uint8Array): Record<string, string> {
  const text = utf8OrUndefined(bytes)
  if (text !== undefined) return { [name]: text }
  return { [`${name}Base64`]: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') }
}

export function utf8(text: string): Uint8Array {
  return encoder.encode(text)
}

/** Strict base64 (standard alphabet, padding optional): Buffer.from alone silently skips junk. */
export const base64Pattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/

export function fromBase64(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'base64'))
}
