/** An error reduced to what the protocol carries (`Failed` / `LoadError`). */
export interface ErrorDescription {
  /** Class / error name, e.g. `TypeError`. */
  type: string
  message: string
  /** Native JS stack, without the runner's own frames. */
  stack: string
  /** The error asked not to be retried (`err.nonRetryable = true`, e.g. `NonRetryableError` from `motia`). */
  nonRetryable: boolean
  /**
   * The error asked for this delay before a retry (`err.retryAfterMs`, e.g. `RetryAfterError` from
   * `motia`); 0 = default.
   */
  retryAfterMs: number
}

/** Frames from the runner bundle itself: noise in a user's stack. */
const RUNNER_FILE = typeof __filename === 'string' ? __filename : ''

function cleanStack(stack: string): string {
  if (!RUNNER_FILE) return stack
  return stack
    .split('\n')
    .filter((line) => !line.includes(RUNNER_FILE))
    .join('\n')
}

function nameOf(error: object): string {
  const name = (error as { name?: unknown }).name
  if (typeof name === 'string' && name !== '') return name
  const ctor = (error as { constructor?: { name?: unknown } }).constructor?.name
  return typeof ctor === 'string' && ctor !== '' && ctor !== 'Object' ? ctor : 'Error'
}

function stringify(value: unknown): string {
  if (typeof value === 'string') return value
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

/**
 * Describe anything a handler threw. Errors keep their name, message and stack; a thrown plain
 * object uses its `message`/`name`; any other value becomes the message. Retry hints are read from
 * the properties `nonRetryable` / `retryAfterMs`, so the SDK's `NonRetryableError` /
 * `RetryAfterError` and any error (or object) carrying them in Motia 0.x style map the same way.
 */
export function describeError(thrown: unknown): ErrorDescription {
  if (typeof thrown === 'object' && thrown !== null) {
    const record = thrown as Record<string, unknown>
    const message = typeof record.message === 'string' ? record.message : stringify(thrown)
    const stack = typeof record.stack === 'string' ? cleanStack(record.stack) : ''
    const retryAfter = record.retryAfterMs
    return {
      type: nameOf(thrown),
      message,
      stack,
      nonRetryable: record.nonRetryable === true,
      retryAfterMs: typeof retryAfter === 'number' && Number.isFinite(retryAfter) && retryAfter > 0 ? Math.round(retryAfter) : 0,
    }
  }
  return { type: 'Error', message: stringify(thrown), stack: '', nonRetryable: false, retryAfterMs: 0 }
}

/** `err.code` of a Node system / module error, if any. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const code = (error as { code?: unknown }).code
  return typeof code === 'string' ? code : undefined
}
