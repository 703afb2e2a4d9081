import type { FlowContext } from '../../../../sdk-node/src/index'
import type { Trigger__Output } from '../protocol/messages'
import type { LoadedStep, StepFunction } from '../steps/registry'

/** The trigger to run a step as: the StartInvocation's, or the config's type when unspecified. */
export function effectiveTrigger(trigger: Trigger__Output, step: LoadedStep): Trigger__Output {
  if (trigger !== 'TRIGGER_UNSPECIFIED') return trigger
  switch (step.config.type) {
    case 'api':
      return 'TRIGGER_API'
    case 'cron':
      return 'TRIGGER_CRON'
    default:
      return 'TRIGGER_EVENT'
  }
}

/**
 * Run `config.middleware` in order, then the handler: each middleware gets `(req, ctx, next)`, and
 * `next()` (no arguments) runs the next one, finally the handler, and returns its result. A
 * middleware may answer without calling `next` or change `req` before calling it.
 */
function runChain(middleware: readonly StepFunction[], handler: StepFunction, req: unknown, ctx: FlowContext): Promise<unknown> {
  const dispatch = async (index: number): Promise<unknown> => {
    const mw = middleware[index]
    if (mw === undefined) return handler(req, ctx)
    return mw(req, ctx, () => dispatch(index + 1))
  }
  return dispatch(0)
}

/**
 * Call a step's handler the way its trigger wants it:
 *   API   -> middleware chain, then handler(req, ctx)
 *   EVENT -> handler(data, ctx)
 *   CRON  -> handler(ctx)
 */
export async function runHandler(
  step: LoadedStep,
  handler: StepFunction,
  trigger: Trigger__Output,
  payload: unknown,
  ctx: FlowContext,
): Promise<unknown> {
  switch (effectiveTrigger(trigger, step)) {
    case 'TRIGGER_API':
      return step.middleware.length === 0 ? handler(payload, ctx) : runChain(step.middleware, handler, payload, ctx)
    case 'TRIGGER_CRON':
      return handler(ctx)
    default:
      return handler(payload, ctx)
  }
}
