/**
 * API bodies as bytes (StartInvocation.httpBody / Completed.httpResponse, docs/protocol.md).
 *
 * The core sends an API request's body once, as bytes, because this runner announces the
 * `http_body_bytes` capability; `body` and `rawBody` are built here (a binary body stays a Buffer).
 * The handler's response goes back split: status, headers as JSON, and the body encoded once (a
 * Buffer / Uint8Array as is, a string as UTF-8, anything else as JSON), which the core writes to the
 * client without decoding it. A result the core must reject (not an object, a status that is not an
 * integer 100-599) goes back as payloadJson instead, so the core names what is wrong with it.
 */
import type { HttpRequestBody__Output } from '../generated/motia/runner/v1/HttpRequestBody'
import type { HttpResponse } from '../generated/motia/runner/v1/HttpResponse'
import { encodeJson } from '../json'

/** Set `body` and `rawBody` on the decoded API payload from the raw bytes. Throws SyntaxError for bad JSON. */
export function addBody(request: Record<string, unknown>, httpBody: HttpRequestBody__Output): void {
  const raw = httpBody.raw
  switch (httpBody.encoding) {
    case 'BODY_ENCODING_BINARY':
      request.body = raw // never decoded
      request.rawBody = raw
      return
    case 'BODY_ENCODING_JSON': {
      const text = raw.toString('utf8')
      request.body = JSON.parse(text) as unknown
      request.rawBody = text
      return
    }
    case 'BODY_ENCODING_TEXT': {
      const text = raw.toString('utf8')
      request.body = text
      request.rawBody = text
      return
    }
    default: // BODY_ENCODING_IN_PAYLOAD: body came in payloadJson
      request.rawBody = raw.toString('utf8')
  }
}

function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array // Buffer is a Uint8Array
}

/**
 * The handler's `{status?, headers?, body?}` as an HttpResponse, or null when the core should see
 * the whole value as JSON (so that it reports the problem). Throws JsonEncodeError for a body or
 * headers JSON cannot carry.
 */
export function encodeHttpResponse(value: unknown, what: string): HttpResponse | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || isBytes(value)) return null
  const result = value as { status?: unknown; headers?: unknown; body?: unknown }
  const status = result.status
  if (!(status === undefined || (Number.isInteger(status) && (status as number) >= 100 && (status as number) <= 599))) {
    return null
  }
  const headers = result.headers
  const headersJson = headers === undefined || headers === null ? Buffer.alloc(0) : encodeJson(headers, `the headers of ${what}`)
  const body = result.body
  const response: HttpResponse = { status: (status as number | undefined) ?? 0, headersJson }
  if (body === undefined) {
    response.bodyKind = 'BODY_KIND_NONE' // JSON.stringify drops an undefined key: no body, as before
  } else if (isBytes(body)) {
    response.body = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength)
    response.bodyKind = 'BODY_KIND_BINARY'
  } else if (body instanceof ArrayBuffer) {
    response.body = Buffer.from(body)
    response.bodyKind = 'BODY_KIND_BINARY'
  } else if (typeof body === 'string') {
    response.body = Buffer.from(body, 'utf8')
    response.bodyKind = 'BODY_KIND_TEXT'
  } else {
    response.body = encodeJson(body, `the body of ${what}`)
    response.bodyKind = 'BODY_KIND_JSON'
  }
  return response
}

/** Bytes an HttpResponse puts on the stream (for the message size limit). */
export function responseSize(response: HttpResponse): number {
  const size = (b: HttpResponse['body']): number => (b === undefined ? 0 : typeof b === 'string' ? Buffer.byteLength(b) : b.length)
  return size(response.body) + size(response.headersJson)
}
