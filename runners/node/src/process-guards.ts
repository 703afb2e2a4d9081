import { warn } from './diagnostics'

/** Called on SIGTERM (each time one arrives; the session makes the repeats no-ops). */
export type TerminateHandler = (signal: 'SIGTERM') => void

let terminateHandler: TerminateHandler | null = null
let terminated = false

/**
 * Who handles SIGTERM (the session: drain, then exit 0). A SIGTERM that arrived before a handler
 * was set is passed on at once.
 */
export function onTerminate(handler: TerminateHandler): void {
  terminateHandler = handler
  if (terminated) handler('SIGTERM')
}

/**
 * Process-level rules of a runner:
 *   - stdin is a pipe from the core; EOF means the core is gone (even after kill -9): exit 1 at once;
 *   - an uncaught exception or unhandled rejection in user code is logged to stderr, never fatal;
 *   - Ctrl-C in the core's terminal reaches the whole process group: the core decides when the
 *     runner stops (Shutdown or stdin EOF), so SIGINT is ignored unless stdin is a terminal;
 *   - SIGTERM (from the OS, e.g. a container stop) does not kill the process: it is handed to
 *     {@link onTerminate}'s handler, which drains (Draining, finish in-flight work, exit 0).
 */
export function installProcessGuards(): void {
  const coreGone = (why: string) => (): void => {
    warn(`${why}: the core is gone, exiting`)
    process.exit(1)
  }
  process.stdin.on('end', coreGone('stdin closed'))
  process.stdin.on('close', coreGone('stdin closed'))
  process.stdin.on('error', coreGone('stdin failed'))
  process.stdin.on('data', () => {
    /* the core writes nothing; drain whatever comes */
  })
  process.stdin.resume()

  process.on('uncaughtException', (error, origin) => {
    warn(`${origin === 'unhandledRejection' ? 'unhandled rejection' : 'uncaught exception'} (the runner keeps going): ${formatThrown(error)}`)
  })
  process.on('unhandledRejection', (reason) => {
    warn(`unhandled promise rejection (the runner keeps going): ${formatThrown(reason)}`)
  })

  if (!process.stdin.isTTY) process.on('SIGINT', () => undefined)

  process.on('SIGTERM', () => {
    terminated = true
    terminateHandler?.('SIGTERM')
  })
}

function formatThrown(thrown: unknown): string {
  if (thrown instanceof Error) return thrown.stack ?? `${thrown.name}: ${thrown.message}`
  try {
    return JSON.stringify(thrown) ?? String(thrown)
  } catch {
    return String(thrown)
  }
}
