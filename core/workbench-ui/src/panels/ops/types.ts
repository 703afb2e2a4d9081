// Shapes of the admin answers the operations panels (Logs, State, Streams, Queue, Cron, Runners) read:
// wb_contract.md for the new endpoints, core/motia_core/http/system.py and http/streams.py for the rest.

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | string

export interface LogRecord {
  id: string | number
  time: number
  level: LogLevel
  message: string
  step?: string | null
  traceId?: string | null
  language?: string | null
  fields?: Record<string, unknown> | null
}

export interface LogPage {
  logs: LogRecord[]
  next: string | number | null
}

export interface StateItem {
  key: string
  value: unknown
}

export interface StreamInfo {
  id: string
  name: string
  hidden: boolean
  filePath: string
  schema: unknown
}

export interface StreamItem {
  id: string
  [field: string]: unknown
}

export interface QueueSubscription {
  topic: string
  step: string
  depth: number
  inFlight: number
  scheduled: number
}

export interface QueueDoc {
  subscriptions: QueueSubscription[]
  deadLetters: number
}

export interface AttemptFailure {
  attempt: number
  time: number
  errorType: string
  message: string
  stack?: string | null
  runner?: string | null
  kind?: string | null
}

export interface DeadLetterSummary {
  id: string
  subscription: string
  topic: string
  traceId: string
  messageGroupId: string
  attempts: number
  enqueuedAt: number
  diedAt: number
  lastError: string | null
}

export interface DeadLetter extends DeadLetterSummary {
  data: unknown
  failures: AttemptFailure[]
}

export interface CronJob {
  step: string
  cron: string
  nextRuns: number[]
  last: { time: number; status: string; traceId: string } | null
}

export interface RunnerInfo {
  runtime: string
  language?: string
  languages?: string[] // the languages the runner's declaration loads (plugins.py)
  pid: number | null
  state: string
  inFlight: number
  restarts: number
  startedAt?: number | null
  uptimeMs?: number | null
  runtimeVersion?: string | null
  slots?: number | null
  steps?: number
}
