/** JSON <-> bytes for payloads, results and call values (protobuf is only the envelope). */

const EMPTY = Buffer.alloc(0)

/** Thrown when a value cannot be encoded as JSON. */
export class JsonEncodeError extends TypeError {
  override name = 'JsonEncodeError'
}

/**
 * JSON bytes of `value`; empty bytes for `undefined`/`null` when `emptyForNothing` (handler results),
 * else `null`. Throws {@link JsonEncodeError} for values JSON cannot represent (BigInt, cycles,
 * a bare function or symbol).
 */
export function encodeJson(value: unknown, what: string, emptyForNothing = false): Buffer {
  if (value === undefined || value === null) return emptyForNothing ? EMPTY : Buffer.from('null')
  let text: string | undefined
  try {
    text = JSON.stringify(value)
  } catch (error) {
    throw new JsonEncodeError(`${what} cannot be encoded as JSON: ${error instanceof Error ? error.message : String(error)}`)
  }
  if (text === undefined) {
    throw new JsonEncodeError(`${what} cannot be encoded as JSON: it is a ${typeof value}`)
  }
  return Buffer.from(text, 'utf8')
}

/** Decode JSON bytes; empty bytes decode to `emptyValue`. Throws SyntaxError for bad JSON. */
export function decodeJson(bytes: Buffer | Uint8Array, emptyValue: unknown = null): unknown {
  if (bytes.length === 0) return emptyValue
  const text = Buffer.isBuffer(bytes) ? bytes.toString('utf8') : Buffer.from(bytes).toString('utf8')
  return JSON.parse(text) as unknown
}

/**
 * JSON bytes for log fields: never throws. Errors (anywhere inside) become `{message, stack, name}`,
 * BigInts become strings, repeated references become "[Circular]".
 */
export function encodeLogFields(fields: Record<string, unknown> | undefined): Buffer {
  if (fields === undefined) return EMPTY
  const seen = new WeakSet<object>()
  try {
    const text = JSON.stringify(fields, (_key, value: unknown) => {
      if (typeof value === 'bigint') return value.toString()
      if (value instanceof Error) return { message: value.message, stack: value.stack, name: value.name }
      if (typeof value === 'object' && value !== null) {
        if (seen.has(value)) return '[Circular]'
        seen.add(value)
      }
      return value
    })
    return text === undefined ? EMPTY : Buffer.from(text, 'utf8')
  } catch (error) {
    return Buffer.from(JSON.stringify({ logFieldsError: String(error) }), 'utf8')
  }
}
