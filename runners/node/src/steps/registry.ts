import type { StepConfig } from '../../../../sdk-node/src/index'

/** A callable exported by a step file (handler or middleware). */
export type StepFunction = (...args: unknown[]) => unknown

/** A step file that imported and exported a config. */
export interface LoadedStep {
  stepId: string
  /** Absolute path of the file. */
  path: string
  /** Path relative to the project root (posix), for messages. */
  relativePath: string
  /** The `config` export as the file defined it (zod schemas and functions intact). */
  config: StepConfig & Record<string, unknown>
  handler: StepFunction | null
  /** The callables of `config.middleware`, in order. */
  middleware: StepFunction[]
}

/** The steps this runner can invoke, by step id. */
export class StepRegistry {
  private readonly steps = new Map<string, LoadedStep>()

  get(stepId: string): LoadedStep | undefined {
    return this.steps.get(stepId)
  }

  /** Add a step, replacing an earlier version with the same id. */
  set(step: LoadedStep): void {
    this.steps.set(step.stepId, step)
  }

  /** Forget a step (its file failed to load again). */
  delete(stepId: string): void {
    this.steps.delete(stepId)
  }

  get size(): number {
    return this.steps.size
  }
}
