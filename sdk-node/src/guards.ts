import type { ApiRouteConfig, CronConfig, EventConfig, NoopConfig, Step } from './types/steps'

/** True for an API step. */
export const isApiStep = (step: Step): step is Step<ApiRouteConfig> => step.config.type === 'api'

/** True for an event step. */
export const isEventStep = (step: Step): step is Step<EventConfig> => step.config.type === 'event'

/** True for a cron step. */
export const isCronStep = (step: Step): step is Step<CronConfig> => step.config.type === 'cron'

/** True for a noop step. */
export const isNoopStep = (step: Step): step is Step<NoopConfig> => step.config.type === 'noop'
