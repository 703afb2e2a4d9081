import { createRequire } from 'node:module'
import type { StepConfig } from '../../../../sdk-node/src/index'
import { debug } from '../diagnostics'
import { loadProjectConfigStep, ProjectConfigError } from '../config-file'
import { describeError, errorCode } from '../errors'
import type { ProjectLoader } from '../loader/install'
import type { LoadError, StepFile, StepManifest, StepsLoaded } from '../protocol/messages'
import { serializeConfig, middlewareOf } from './config-json'
import { collectAfterLoad } from './idle-gc'
import type { LoadedStep, StepFunction, StepRegistry } from './registry'

/** A step file that did not produce a step; carries what LoadError needs. */
class StepLoadError extends Error {
  constructor(
    readonly errorType: string,
    message: string,
    stack = '',
  ) {
    super(message)
    this.stack = stack
  }
}

interface StepModule {
  config?: unknown
  handler?: unknown
  default?: { config?: unknown; handler?: unknown } | null
}

/** Import one step file and pick its `config` and `handler` (named exports, or a default export object carrying them). */
function importStep(file: StepFile): LoadedStep {
  let mod: StepModule | null | undefined
  try {
    mod = createRequire(file.path)(file.path) as StepModule | null | undefined
  } catch (thrown) {
    const error = describeError(thrown)
    const type = errorCode(thrown) === 'MODULE_NOT_FOUND' ? 'ModuleNotFoundError' : error.type
    throw new StepLoadError(type, `${file.relativePath}: ${error.message}`, error.stack)
  }
  const fallback = typeof mod?.default === 'object' && mod.default !== null ? mod.default : undefined
  const config = mod?.config ?? fallback?.config
  const handler = mod?.handler ?? fallback?.handler
  if (config === undefined || config === null) {
    throw new StepLoadError('MissingConfigError', `no \`config\` export in ${file.relativePath}`)
  }
  if (typeof config !== 'object' || Array.isArray(config)) {
    throw new StepLoadError('InvalidConfigError', `the \`config\` export of ${file.relativePath} is not an object`)
  }
  const record = config as StepConfig & Record<string, unknown>
  return {
    stepId: file.stepId,
    path: file.path,
    relativePath: file.relativePath,
    config: record,
    handler: typeof handler === 'function' ? (handler as StepFunction) : null,
    middleware: middlewareOf(record),
  }
}

/** motia.config.ts / .js (config-file.ts): registered like a step whose handler is streamAuth.authenticate. */
function loadConfigFile(file: StepFile, registry: StepRegistry, steps: StepManifest[]): void {
  try {
    const { step, configJson } = loadProjectConfigStep(file)
    registry.set(step)
    steps.push({ stepId: file.stepId, configJson, hasHandler: step.handler !== null, middlewareCount: 0 })
  } catch (thrown) {
    const error = describeError(thrown)
    const type = thrown instanceof ProjectConfigError ? thrown.errorType : error.type
    throw new StepLoadError(type, `${file.relativePath}: ${error.message}`, error.stack)
  }
}

/**
 * Handle LoadSteps: (re)import every named file fresh and answer with one manifest per step and one
 * LoadError per failed file. A failing file never affects the others or the runner. A step whose
 * file fails on reload is dropped from the registry (the core was told it failed).
 */
export function loadSteps(requestId: number, files: readonly StepFile[], registry: StepRegistry, loader: ProjectLoader): StepsLoaded {
  const started = performance.now()
  const dropped = loader.invalidate(files.map((f) => f.path))
  debug(() => `reloading ${dropped.length} module(s)`)
  const steps: StepManifest[] = []
  const errors: LoadError[] = []
  for (const file of files) {
    const fileStarted = performance.now()
    try {
      if (file.kind === 'STEP_FILE_KIND_PROJECT_CONFIG') {
        loadConfigFile(file, registry, steps)
        continue
      }
      const step = importStep(file)
      let configJson: Buffer
      try {
        configJson = serializeConfig(step.config, file.path)
      } catch (thrown) {
        const error = describeError(thrown)
        throw new StepLoadError(error.type, `${file.relativePath}: ${error.message}`, error.stack)
      }
      registry.set(step)
      steps.push({
        stepId: file.stepId,
        configJson,
        hasHandler: step.handler !== null,
        middlewareCount: step.middleware.length,
      })
    } catch (thrown) {
      registry.delete(file.stepId)
      const error = thrown instanceof StepLoadError ? thrown : new StepLoadError('Error', String(thrown))
      errors.push({ stepId: file.stepId, errorType: error.errorType, message: error.message, stack: error.stack ?? '' })
    }
    debug(() => `loaded ${file.relativePath} in ${(performance.now() - fileStarted).toFixed(1)} ms`)
  }
  const stats = loader.transformer.stats
  debug(
    () =>
      `LoadSteps ${requestId}: ${steps.length} step(s), ${errors.length} error(s) in ${(performance.now() - started).toFixed(1)} ms ` +
      `(transforms: ${stats.transformed} in ${stats.transformMs.toFixed(1)} ms, cache hits: ${stats.cacheHits})`,
  )
  collectAfterLoad() // the load grew V8's young generation: given back once it has gone quiet (idle-gc.ts)
  return { requestId, steps, errors }
}
