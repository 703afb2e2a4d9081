import { type CancelReason, CancelledError } from '../errors'

/**
 * The cancellation state of one invocation, shared by the runner (which cancels) and the handler
 * context (which exposes it as `ctx.signal` and refuses calls once cancelled).
 *
 * The `AbortController` is created on the first read of {@link signal}: building an `AbortSignal`
 * costs microseconds, and most handlers never look at it. Cancelling before that just records the
 * reason; the signal is then born aborted.
 */
export class Cancellation {
  private controller: AbortController | null = null
  private error: CancelledError | null = null

  /** True once {@link cancel} was called. */
  get cancelled(): boolean {
    return this.error !== null
  }

  /** The error of the cancellation, or `null` while not cancelled. */
  get reason(): CancelledError | null {
    return this.error
  }

  /** Aborts (with the {@link CancelledError} as its `reason`) when the invocation is cancelled. */
  get signal(): AbortSignal {
    if (this.controller === null) {
      this.controller = new AbortController()
      if (this.error !== null) this.controller.abort(this.error)
    }
    return this.controller.signal
  }

  /** Cancel (idempotent: the first reason wins). Returns the error calls now reject with. */
  cancel(reason: CancelReason, invocationId = ''): CancelledError {
    if (this.error !== null) return this.error
    const error = new CancelledError(reason, invocationId)
    this.error = error
    this.controller?.abort(error)
    return error
  }
}
