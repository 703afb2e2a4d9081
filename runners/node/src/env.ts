import { isAbsolute, resolve } from 'node:path'

/** Default for `Hello.concurrency_slots` when MOTIA_RUNNER_SLOTS is not set. */
export const DEFAULT_SLOTS = 1024

/** What the core passes to the runner through its environment (see the runner contract). */
export interface RunnerEnv {
  /** gRPC target of the core, used as-is (e.g. `unix:/tmp/motia-abc/core.sock`). */
  coreAddress: string
  /** Per-spawn secret, echoed in `Hello.secret`. */
  secret: string
  /** Absolute project root. */
  projectDir: string
  /** Max invocations in flight, reported in `Hello.concurrency_slots`. */
  slots: number
  /** Extra diagnostics on stderr (MOTIA_RUNNER_DEBUG=1). */
  debug: boolean
}

/** Thrown for an environment the runner cannot start with. */
export class RunnerEnvError extends Error {
  override name = 'RunnerEnvError'
}

/** Read and check the runner's environment. */
export function readRunnerEnv(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): RunnerEnv {
  const coreAddress = env.MOTIA_CORE_ADDRESS?.trim()
  if (!coreAddress) {
    throw new RunnerEnvError('MOTIA_CORE_ADDRESS is not set: the runner is started by the motia-core process')
  }
  const projectDir = env.MOTIA_PROJECT_DIR?.trim() || cwd
  return {
    coreAddress,
    secret: env.MOTIA_RUNNER_SECRET ?? '',
    projectDir: isAbsolute(projectDir) ? projectDir : resolve(cwd, projectDir),
    slots: parseSlots(env.MOTIA_RUNNER_SLOTS),
    debug: isTruthy(env.MOTIA_RUNNER_DEBUG),
  }
}

function parseSlots(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') return DEFAULT_SLOTS
  const slots = Number(raw)
  if (!Number.isInteger(slots) || slots < 1 || slots > 0xffffffff) {
    throw new RunnerEnvError(`MOTIA_RUNNER_SLOTS must be a positive integer, got '${raw}'`)
  }
  return slots
}

function isTruthy(raw: string | undefined): boolean {
  return raw !== undefined && /^(1|true|yes|on)$/i.test(raw.trim())
}
