import { Cancellation, createFlowContext } from '../../../../sdk-node/src/runtime'
import type { CancelReason } from '../../../../sdk-node/src/index'
import { debug } from '../diagnostics'
import { describeError } from '../errors'
import { decodeJson, encodeJson } from '../json'
import {
  type Cancel,
  FailureKind,
  type Failed,
  type InvocationResult,
  type RunnerMessage,
  type StartInvocation,
} from '../protocol/messages'
import type { LoadedStep, StepRegistry } from '../steps/registry'
import type { CallChannel } from './calls'
import { addBody, encodeHttpResponse, responseSize } from './http-body'
import { runHandler } from './run-handler'

/** Where results go (the BatchingWriter). */
export interface ResultSink {
  send(message: RunnerMessage): void
  readonly payloadLimit: number
}

type FailureKindName = (typeof FailureKind)[keyof typeof FailureKind]
type Outcome = Pick<InvocationResult, 'completed' | 'failed'>

function failed(kind: FailureKindName, type: string, message: string, stack = ''): Failed {
  return { kind, errorType: type, message, stack, nonRetryable: false, retryAfterMs: 0 }
}

/** An invocation whose handler is running. */
interface Running {
  readonly start: StartInvocation
  readonly cancellation: Cancellation
}

const TOPICS = new WeakMap<LoadedStep, readonly string[]>()

/** The topics of a step's `emits` (strings or `{ topic }`), computed once per loaded step. */
function declaredTopics(step: LoadedStep): readonly string[] {
  let topics = TOPICS.get(step)
  if (topics === undefined) {
    const emits: unknown = step.config.emits
    topics = Array.isArray(emits)
      ? emits.map((e: unknown) => (typeof e === 'string' ? e : String((e as { topic?: unknown } | null)?.topic ?? '')))
      : []
    TOPICS.set(step, topics)
  }
  return topics
}

/** How many finished invocations' fencing tokens are kept to answer a late Cancel with. */
const REMEMBERED_FINISHED = 1024

function cancelReason(reason: Cancel['reason']): CancelReason {
  switch (reason) {
    case 'REASON_TIMEOUT':
      return 'timeout'
    case 'REASON_SHUTDOWN':
      return 'shutdown'
    default:
      return 'cancelled'
  }
}

/**
 * Runs StartInvocations concurrently: each becomes a promise the read loop does not wait for; its
 * outcome is queued on the writer as an InvocationResult. Never throws, whatever the handler does.
 *
 * Cancel: a JS promise cannot be stopped from outside, so cancelling aborts the invocation's
 * `ctx.signal`, rejects its pending and future context calls, and from then on treats the
 * invocation as over: it no longer counts as in flight (the slot is free, a drain does not wait for
 * it), whatever it returns or throws later is dropped (no InvocationResult), and Cancelled goes out
 * at once. The core only needs to know the slot is free; a handler that ignores the signal keeps
 * running in the background until it returns, with no way left to reach the core but log lines.
 */
export class InvocationRunner {
  private readonly running = new Map<string, Running>()
  /** invocation id -> fencing token of recently finished (or cancelled) invocations. */
  private readonly finished = new Map<string, StartInvocation['fencingToken']>()
  private draining = false
  private idleWaiters: Array<() => void> = []

  constructor(
    private readonly steps: StepRegistry,
    private readonly calls: CallChannel,
    private readonly sink: ResultSink,
  ) {}

  /** Invocations in flight (cancelled ones no longer count). */
  get inFlight(): number {
    return this.running.size
  }

  /** Start an invocation (returns at once). While draining, answers SHUTTING_DOWN instead. */
  start(start: StartInvocation): void {
    if (this.draining) {
      this.reply(start, {
        failed: failed(FailureKind.FAILURE_KIND_SHUTTING_DOWN, 'ShuttingDown', 'the runner is shutting down and takes no new work'),
      })
      return
    }
    const entry: Running = { start, cancellation: new Cancellation() }
    this.running.set(start.invocationId, entry)
    this.execute(start, entry.cancellation).then(
      (outcome) => this.settle(entry, outcome),
      (error: unknown) => {
        // execute() catches everything a handler does; this is a bug of the runner itself.
        const detail = describeError(error)
        this.settle(entry, { failed: failed(FailureKind.FAILURE_KIND_HANDLER_ERROR, detail.type, detail.message, detail.stack) })
      },
    )
  }

  /**
   * Cancel an invocation: stop it as far as JS allows (see the class comment) and confirm with
   * Cancelled. An unknown or already finished invocation is confirmed at once as well.
   */
  cancel(cancel: Cancel): void {
    const invocationId = cancel.invocationId
    const entry = this.running.get(invocationId)
    if (entry === undefined) {
      debug(() => `cancel of ${invocationId}: not running, confirming`)
      this.sink.send({ cancelled: { invocationId, fencingToken: this.finished.get(invocationId) ?? 0 } })
      return
    }
    const reason = cancelReason(cancel.reason)
    debug(() => `cancelling ${invocationId} (${reason})`)
    // Free the slot first: listeners of ctx.signal run synchronously inside cancel().
    this.release(entry)
    const error = entry.cancellation.cancel(reason, invocationId)
    this.calls.abandon(invocationId, error)
    this.sink.send({ cancelled: { invocationId, fencingToken: entry.start.fencingToken } })
  }

  /** Take no new work from now on. */
  drain(): void {
    this.draining = true
  }

  /** Resolves when nothing is in flight, or after `timeoutMs` (null = never); true if everything finished. */
  waitIdle(timeoutMs: number | null): Promise<boolean> {
    if (this.running.size === 0) return Promise.resolve(true)
    return new Promise((resolve) => {
      const timer =
        timeoutMs === null
          ? null
          : setTimeout(() => {
              this.idleWaiters = this.idleWaiters.filter((w) => w !== done)
              resolve(false)
            }, timeoutMs)
      const done = (): void => {
        if (timer !== null) clearTimeout(timer)
        resolve(true)
      }
      this.idleWaiters.push(done)
    })
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters
    this.idleWaiters = []
    for (const waiter of waiters) waiter()
  }

  /** A handler is done: send its result, unless it was cancelled (the core gave up on it). */
  private settle(entry: Running, outcome: Outcome): void {
    if (entry.cancellation.cancelled) {
      debug(() => `${entry.start.invocationId} ended after its cancellation; outcome dropped`)
      return
    }
    this.reply(entry.start, outcome) // queued before release() may wake a drain that flushes
    this.release(entry)
  }

  /** The invocation no longer holds a slot. */
  private release(entry: Running): void {
    const { invocationId, fencingToken } = entry.start
    if (this.running.get(invocationId) === entry) this.running.delete(invocationId)
    this.finished.delete(invocationId)
    this.finished.set(invocationId, fencingToken)
    if (this.finished.size > REMEMBERED_FINISHED) {
      const oldest = this.finished.keys().next()
      if (oldest.done !== true) this.finished.delete(oldest.value)
    }
    if (this.running.size === 0) this.notifyIdle()
  }

  private reply(start: StartInvocation, outcome: Outcome): void {
    this.sink.send({ result: { invocationId: start.invocationId, fencingToken: start.fencingToken, ...outcome } })
  }

  /** A stream file's `config.canAccess(subscription, authContext)`, answered as a JSON boolean. */
  private async canAccess(start: StartInvocation, step: LoadedStep): Promise<Outcome> {
    const canAccess = step.config.canAccess
    if (typeof canAccess !== 'function') {
      return { failed: failed(FailureKind.FAILURE_KIND_HANDLER_ERROR, 'MissingCanAccessError', `${step.relativePath} has no config.canAccess function`) }
    }
    let payload: { subscription?: unknown; authContext?: unknown }
    try {
      payload = (decodeJson(start.payloadJson, {}) ?? {}) as { subscription?: unknown; authContext?: unknown }
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error)
      return { failed: failed(FailureKind.FAILURE_KIND_BAD_PAYLOAD, 'BadPayload', `stream access payload is not JSON: ${detail}`) }
    }
    try {
      const allowed: unknown = await (canAccess as (subscription: unknown, authContext: unknown) => unknown)(payload.subscription, payload.authContext ?? null)
      return { completed: { payloadJson: Buffer.from(allowed ? 'true' : 'false') } }
    } catch (thrown) {
      const error = describeError(thrown)
      return { failed: { kind: FailureKind.FAILURE_KIND_HANDLER_ERROR, errorType: error.type, message: error.message, stack: error.stack, nonRetryable: true, retryAfterMs: 0 } }
    }
  }

  private async execute(start: StartInvocation, cancellation: Cancellation): Promise<Outcome> {
    const step = this.steps.get(start.stepId)
    if (step === undefined) {
      return { failed: failed(FailureKind.FAILURE_KIND_UNKNOWN_STEP, 'UnknownStep', `step '${start.stepId}' is not loaded in this runner`) }
    }
    if (start.trigger === 'TRIGGER_STREAM_ACCESS') return this.canAccess(start, step)
    if (step.handler === null) {
      return {
        failed: failed(FailureKind.FAILURE_KIND_HANDLER_ERROR, 'MissingHandlerError', `${step.relativePath} exports no \`handler\` function`),
      }
    }
    // an API call whose body came as bytes: the response goes back as bytes too (http-body.ts)
    const httpBody = start.trigger === 'TRIGGER_API' ? start.httpBody : null
    let payload: unknown
    try {
      payload = start.trigger === 'TRIGGER_CRON' ? undefined : decodeJson(start.payloadJson, undefined)
      if (httpBody !== null) addBody(payload as Record<string, unknown>, httpBody)
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error)
      return { failed: failed(FailureKind.FAILURE_KIND_BAD_PAYLOAD, 'BadPayload', `payload of invocation ${start.invocationId} is not JSON: ${detail}`) }
    }

    const info = { traceId: start.traceId, flows: start.flows, emits: declaredTopics(step) }
    const ctx = createFlowContext(info, this.calls.hostFor(start.invocationId), cancellation)
    let value: unknown
    try {
      value = await runHandler(step, step.handler, start.trigger, payload, ctx)
    } catch (thrown) {
      const error = describeError(thrown)
      debug(() => `${step.relativePath} threw: ${error.type}: ${error.message}`)
      return {
        failed: {
          kind: FailureKind.FAILURE_KIND_HANDLER_ERROR,
          errorType: error.type,
          message: error.message,
          stack: error.stack,
          nonRetryable: error.nonRetryable,
          retryAfterMs: error.retryAfterMs,
        },
      }
    }
    try {
      const what = `the value returned by the handler of ${step.relativePath}`
      const httpResponse = httpBody === null ? null : encodeHttpResponse(value, what)
      if (httpResponse !== null) {
        const size = responseSize(httpResponse)
        if (size > this.sink.payloadLimit) {
          return {
            failed: failed(
              FailureKind.FAILURE_KIND_BAD_RESULT,
              'ResultTooLarge',
              `the response returned by the handler of ${step.relativePath} is ${size} bytes, over the ${this.sink.payloadLimit}-byte message limit`,
            ),
          }
        }
        return { completed: { httpResponse } }
      }
      const payloadJson = encodeJson(value, what, true)
      if (payloadJson.length > this.sink.payloadLimit) {
        return {
          failed: failed(
            FailureKind.FAILURE_KIND_BAD_RESULT,
            'ResultTooLarge',
            `the value returned by the handler of ${step.relativePath} is ${payloadJson.length} bytes, over the ${this.sink.payloadLimit}-byte message limit`,
          ),
        }
      }
      return { completed: { payloadJson } }
    } catch (error) {
      const detail = describeError(error)
      return { failed: failed(FailureKind.FAILURE_KIND_BAD_RESULT, detail.type, detail.message, detail.stack) }
    }
  }
}
