// Original file: ../../proto/motia/runner/v1/runner.proto

export const Trigger = {
  TRIGGER_UNSPECIFIED: 'TRIGGER_UNSPECIFIED',
  TRIGGER_API: 'TRIGGER_API',
  TRIGGER_EVENT: 'TRIGGER_EVENT',
  TRIGGER_CRON: 'TRIGGER_CRON',
} as const;

export type Trigger =
  | 'TRIGGER_UNSPECIFIED'
  | 0
  | 'TRIGGER_API'
  | 1
  | 'TRIGGER_EVENT'
  | 2
  | 'TRIGGER_CRON'
  | 3

export type Trigger__Output = typeof Trigger[keyof typeof Trigger]
