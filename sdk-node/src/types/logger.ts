/** Log levels a step can use (Motia 0.x has no `trace` / `critical`). */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

/** Structured fields attached to a log line. */
export type LogFields = Record<string, unknown>

/** Where a {@link Logger} sends its lines. Inside the runner this is the core; elsewhere the console. */
export type LogSink = (level: LogLevel, message: string, fields: LogFields | undefined) => void
