import type { LogFields, LogLevel, LogSink } from './types/logger'

const LEVELS: ReadonlySet<string> = new Set<LogLevel>(['debug', 'info', 'warn', 'error'])

/** Writes to the process console; used by a Logger built outside the runner (tests, scripts). */
const consoleSink: LogSink = (level, message, fields) => {
  const line = fields === undefined ? [message] : [message, fields]
  if (level === 'error') console.error(...line)
  else if (level === 'warn') console.warn(...line)
  else console.log(...line)
}

/** `{message, stack, name}` for an Error: the shape log fields carry errors in. */
export function errorToFields(error: Error): LogFields {
  return { message: error.message, stack: error.stack, name: error.name }
}

/**
 * Turn the optional second argument of `logger.info(message, args)` into log fields:
 * a plain object is used as is, an Error becomes `{message, stack, name}`, anything else
 * becomes `{data: value}`.
 */
export function toLogFields(args: unknown): LogFields | undefined {
  if (args === undefined) return undefined
  if (args instanceof Error) return errorToFields(args)
  if (typeof args === 'object' && args !== null && !Array.isArray(args)) return args as LogFields
  return { data: args }
}

/**
 * The logger handed to handlers as `ctx.logger` (Motia 0.x API: `info|warn|error|debug(message, args?)`,
 * plus `log(entry)` and `child(meta)`). Lines are sent to the core, which tags them with the trace id,
 * step and flows. Logging never throws and is never awaited.
 */
export class Logger {
  /**
   * @param sink - where lines go; defaults to the console
   * @param meta - fields merged into every line (see {@link Logger.child})
   */
  constructor(
    private readonly sink: LogSink = consoleSink,
    private readonly meta: LogFields | undefined = undefined,
  ) {}

  /** A logger that adds `meta` to every line (on top of this logger's own fields). */
  child(meta: LogFields): Logger {
    return new Logger(this.sink, { ...this.meta, ...meta })
  }

  info(message: string, args?: unknown): void {
    this.emitLine('info', message, args)
  }

  warn(message: string, args?: unknown): void {
    this.emitLine('warn', message, args)
  }

  error(message: string, args?: unknown): void {
    this.emitLine('error', message, args)
  }

  debug(message: string, args?: unknown): void {
    this.emitLine('debug', message, args)
  }

  /** Log a whole entry `{level?, msg?, ...fields}` (Motia 0.x `Logger.log`). */
  log(entry: { level?: string; msg?: string; [key: string]: unknown }): void {
    const { level, msg, ...fields } = entry
    const lvl: LogLevel = typeof level === 'string' && LEVELS.has(level) ? (level as LogLevel) : 'info'
    this.emitLine(lvl, typeof msg === 'string' ? msg : String(msg ?? ''), fields)
  }

  private emitLine(level: LogLevel, message: unknown, args: unknown): void {
    try {
      const own = toLogFields(args)
      const fields = this.meta === undefined ? own : { ...this.meta, ...own }
      this.sink(level, typeof message === 'string' ? message : String(message), fields)
    } catch (error) {
      // A logger must never break the handler that calls it.
      console.error('[motia] could not send a log line:', error)
    }
  }
}
