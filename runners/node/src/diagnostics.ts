/**
 * The runner's own messages, on stderr (the core captures the runner's stdout and stderr line by
 * line; stdout belongs to user code). Never used for protocol data.
 */
const PREFIX = '[motia-runner:node]'

let debugEnabled = false

/** Turn debug lines on or off (MOTIA_RUNNER_DEBUG). */
export function setDebug(enabled: boolean): void {
  debugEnabled = enabled
}

/** True when debug lines are printed. */
export function isDebug(): boolean {
  return debugEnabled
}

/** A line the operator should see. */
export function warn(message: string): void {
  process.stderr.write(`${PREFIX} ${message}\n`)
}

/** A line printed only with MOTIA_RUNNER_DEBUG=1. */
export function debug(message: string | (() => string)): void {
  if (!debugEnabled) return
  process.stderr.write(`${PREFIX} ${typeof message === 'function' ? message() : message}\n`)
}
