/**
 * The answer to an error Node reports on a socket before a request handler runs (malformed
 * request, headers too large, a header or body timeout), written raw in the JSON error shape.
 */

/** The whole HTTP response for a client error, always closing the connection. */
export function rawErrorAnswer(e: NodeJS.ErrnoException, headersTimeoutMs: number, requestTimeoutMs: number): { status: number; text: string } {
  const [status, reason, code, message] =
    e.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'HEADERS_TOO_LARGE', 'request line or headers are too large: send long keys in a batch body or as keyBase64']
      : e.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'REQUEST_TIMEOUT', `the request did not arrive in time (headers within ${headersTimeoutMs} ms, all of it within ${requestTimeoutMs} ms): send it faster or in smaller parts`]
        : [400, 'Bad Request', 'INVALID_REQUEST', 'malformed HTTP request']
  const body = JSON.stringify({ error: { code, message } })
  return {
    status,
    text: `HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  }
}
