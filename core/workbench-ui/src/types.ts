// Shapes of the admin API answers the Workbench reads (core/motia_core/http/system.py, wb_contract.md).
export type Language = 'typescript' | 'javascript' | 'python' | 'ruby' | string
export type JsonSchema = Record<string, unknown>

export interface StepInfo {
  id: string
  name: string
  type: 'api' | 'event' | 'cron' | 'noop' | string
  language: Language
  filePath: string
  flows: string[]
  emits: string[]
  description?: string
  method?: string
  path?: string
  bodySchema?: JsonSchema | null
  subscribes?: string[]
  input?: JsonSchema | null
  cron?: string
  virtualEmits?: string[]
  virtualSubscribes?: string[]
  queryParams?: Array<{ name: string; description?: string }>
}

export interface FlowEdge {
  id: string
  source: string
  target: string
  data: { variant: 'event' | 'virtual' | string; topic: string }
}

export interface Flow {
  id: string
  name: string
  steps: StepInfo[]
  edges: FlowEdge[]
}

export interface StepCounts {
  done: number
  running: number
  failed: number
  /** failed attempts a later attempt of the same delivery made good */
  retried?: number
}

/** A trace in the list (and in the live "trace" message). */
export interface TraceSummary {
  id: string
  name: string
  status: string
  startTime: number
  endTime?: number | null
  durationMs?: number | null
  steps?: StepCounts
}

export type SpanEvent = { type: string; time?: number } & Record<string, unknown>

export interface Span {
  id: string
  traceId: string
  step: string
  type: string
  language: Language
  attempt: number
  status: string
  startTime: number
  endTime?: number | null
  topic?: string
  parentId?: string | null
  error?: { message?: string; stack?: string; code?: string } & Record<string, unknown>
  events?: SpanEvent[]
}

export interface TraceDetail extends TraceSummary {
  spans: Span[]
  dropped?: { count: number; failed: number; steps: Record<string, number>; note: string }
}
