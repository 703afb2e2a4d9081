import { createFlowContext } from '../../../../sdk-node/src/runtime'
import { debug } from '../diagnostics'
import { describeError } from '../errors'
import { decodeJson, encodeJson } from '../json'
import { FailureKind, type Failed, type InvocationResult, type RunnerMessage, type StartInvocation } from '../protocol/messages'
import type { LoadedStep, StepRegistry } from '../steps/registry'
import type { CallChannel } from './calls'
import { runHandler } from './run-handler'

/** Where results go (the BatchingWriter). */
export interface ResultSink {
  send(message: RunnerMessage): void
  readonly payloadLimit: number
}

type FailureKindName = (typeof FailureKind)[keyof typeof FailureKind]

function failed(kind: FailureKindName, type: string, message: string, stack = ''): Failed {
  return { kind, errorType: type, message, stack, nonRetryable: false, retryAfterMs: 0 }
}

/**
 * Runs StartInvocations concurrently: each becomes a promise the read loop does not wait for; its
 * outcome is queued on the writer as an InvocationResult. Never throws, whatever the handler does.
 */
export class InvocationRunner {
  private readonly active = new Set<Promise<void>>()
  private draining = false
  private idleWaiters: Array<() => void> = []

  constructor(
    private readonly steps: StepRegistry,
    private readonly calls: CallChannel,
    private readonly sink: ResultSink,
  ) {}

  /** Invocations in flight. */
  get inFlight(): number {
    return this.active.size
  }

  /** Start an invocation (returns at once). While draining, answers SHUTTING_DOWN instead. */
  start(start: StartInvocation): void {
    if (this.draining) {
      this.reply(start, {
        failed: failed(FailureKind.FAILURE_KIND_SHUTTING_DOWN, 'ShuttingDown', 'the runner is shutting down and takes no new work'),
      })
      return
    }
    const running = this.execute(start).then((outcome) => this.reply(start, outcome))
    this.active.add(running)
    void running.finally(() => {
      this.active.delete(running)
      if (this.active.size === 0) this.notifyIdle()
    })
  }

  /** Take no new work from now on. */
  drain(): void {
    this.draining = true
  }

  /** Resolves when nothing is in flight, or after `timeoutMs`; true if everything finished. */
  waitIdle(timeoutMs: number): Promise<boolean> {
    if (this.active.size === 0) return Promise.resolve(true)
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((w) => w !== done)
        resolve(false)
      }, timeoutMs)
      const done = (): void => {
        clearTimeout(timer)
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

  private reply(start: StartInvocation, outcome: Pick<InvocationResult, 'completed' | 'failed'>): void {
    this.sink.send({ result: { invocationId: start.invocationId, fencingToken: start.fencingToken, ...outcome } })
  }

  /** A stream file's `config.canAccess(subscription, authContext)`, answered as a JSON boolean. */
  private async canAccess(start: StartInvocation, step: LoadedStep): Promise<Pick<InvocationResult, 'completed' | 'failed'>> {
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

  private async execute(start: StartInvocation): Promise<Pick<InvocationResult, 'completed' | 'failed'>> {
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
    let payload: unknown
    try {
      payload = start.trigger === 'TRIGGER_CRON' ? undefined : decodeJson(start.payloadJson, undefined)
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error)
      return { failed: failed(FailureKind.FAILURE_KIND_BAD_PAYLOAD, 'BadPayload', `payload of invocation ${start.invocationId} is not JSON: ${detail}`) }
    }

    const ctx = createFlowContext({ traceId: start.traceId, flows: start.flows }, this.calls.hostFor(start.invocationId))
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
      const payloadJson = encodeJson(value, `the value returned by the handler of ${step.relativePath}`, true)
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
