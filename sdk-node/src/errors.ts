/**
 * Errors a handler throws to steer retries, and the error a cancelled invocation's context rejects
 * with. The runner reads the properties, not the classes: any thrown value carrying
 * `nonRetryable: true` or a positive `retryAfterMs` is treated the same way (Motia 0.x style).
 */

/**
 * Fail this attempt and ask for the next one to wait `retryAfterMs` milliseconds (instead of the
 * queue's own backoff). Retries still stop after the step's `maxRetries`.
 *
 * ```ts
 * import { RetryAfterError } from 'motia'
 *
 * if (response.status === 429) throw new RetryAfterError(30_000, 'rate limited by the payment API')
 * ```
 */
export class RetryAfterError extends Error {
  override name = 'RetryAfterError'
  /** Delay before the next attempt, in milliseconds (like `setTimeout`). */
  readonly retryAfterMs: number
  /** Always `false`: this error asks for a retry. */
  readonly nonRetryable = false

  /**
   * @param retryAfterMs - delay before the next attempt, in **milliseconds**; a value that is not a
   *   positive finite number means "the queue's default backoff"
   * @param message - the failure message (default: `retry after <n> ms`)
   * @param options - standard `ErrorOptions` (`cause`)
   */
  constructor(retryAfterMs: number, message?: string, options?: ErrorOptions) {
    const ms = typeof retryAfterMs === 'number' && Number.isFinite(retryAfterMs) && retryAfterMs > 0 ? Math.round(retryAfterMs) : 0
    super(message ?? `retry after ${ms} ms`, options)
    this.retryAfterMs = ms
  }
}

/**
 * Fail this invocation for good: the core does not retry it (an event goes straight to the
 * dead-letter queue), whatever the step's `maxRetries` says. Use it for errors no retry can fix,
 * e.g. invalid input.
 *
 * ```ts
 * import { NonRetryableError } from 'motia'
 *
 * if (!order.customerId) throw new NonRetryableError(`order ${order.id} has no customer`)
 * ```
 */
export class NonRetryableError extends Error {
  override name = 'NonRetryableError'
  /** Always `true`: do not retry. */
  readonly nonRetryable = true

  /**
   * @param message - the failure message
   * @param options - standard `ErrorOptions` (`cause`)
   */
  constructor(message?: string, options?: ErrorOptions) {
    super(message ?? 'non-retryable failure', options)
  }
}

/** Why an invocation was cancelled: its handler timed out, the core is stopping, or unspecified. */
export type CancelReason = 'timeout' | 'shutdown' | 'cancelled'

/**
 * The invocation was cancelled by the core (its handler outlived the step's timeout, or the core is
 * stopping). It is `ctx.signal.reason` once `ctx.signal` is aborted, and every `ctx` call made
 * after the cancellation (emit, state, streams) rejects with it, as do calls still waiting for the
 * core's reply. Its `name` is `'AbortError'` (and `code` `'ABORT_ERR'`), like the errors of
 * `fetch` and Node's own APIs when their signal aborts, so libraries that stop on an abort also
 * stop on it.
 */
export class CancelledError extends Error {
  override name = 'AbortError'
  /** Node's code for abort errors. */
  readonly code = 'ABORT_ERR'

  /**
   * @param reason - why the invocation was cancelled
   * @param invocationId - the cancelled invocation
   */
  constructor(
    readonly reason: CancelReason,
    readonly invocationId: string = '',
  ) {
    super(
      reason === 'timeout'
        ? 'the invocation was cancelled: its handler ran longer than the step allows'
        : reason === 'shutdown'
          ? 'the invocation was cancelled: the core is shutting down'
          : 'the invocation was cancelled',
    )
  }
}
