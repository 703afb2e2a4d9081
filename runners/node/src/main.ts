/**
 * Entry point of the Node runner (bundled to dist/runner.cjs). The core starts it as
 * `node runners/node/dist/runner.cjs` with cwd = the project and MOTIA_* variables in the env.
 */
// First: the compile cache must be in place before the dependencies below are required.
import './loader/compile-cache-early'
import { join, resolve } from 'node:path'
import * as motiaSdk from '../../../sdk-node/src/index'
import { evalProjectConfig } from './config-file'
import { debug, setDebug, warn } from './diagnostics'
import { readRunnerEnv, RunnerEnvError } from './env'
import { installProjectLoader } from './loader/install'
import { readProjectTsconfig } from './loader/tsconfig'
import { installProcessGuards, onTerminate } from './process-guards'
import { RunnerSession } from './session'
import { loadRunnerService } from './transport/proto'

/** runners/node (dist/runner.cjs lives in runners/node/dist). */
const RUNNER_DIR = resolve(__dirname, '..')

/**
 * `runner.cjs --eval-config <file> <projectDir>`: evaluate motia.config.ts / .js once and print it
 * (config-file.ts). No transform cache: the core runs this before it has set up .motia/.
 */
function evalConfigMode(file: string, projectDir: string): number {
  installProjectLoader({
    projectDir,
    runnerDir: RUNNER_DIR,
    sdkExports: motiaSdk,
    tsconfig: readProjectTsconfig(projectDir),
    cacheDir: null,
  })
  evalProjectConfig(file, projectDir)
  return 0
}

async function main(): Promise<number> {
  const startedAt = performance.now()
  // Stacks of transformed .ts files point at the .ts lines (esbuild emits inline source maps).
  process.setSourceMapsEnabled(true)
  const [mode, configFile, configProject] = process.argv.slice(2)
  if (mode === '--eval-config' && configFile !== undefined) {
    return evalConfigMode(resolve(configFile), resolve(configProject ?? process.cwd()))
  }
  installProcessGuards()

  let env
  try {
    env = readRunnerEnv()
  } catch (error) {
    if (error instanceof RunnerEnvError) {
      warn(error.message)
      return 2
    }
    throw error
  }
  setDebug(env.debug)

  const loader = installProjectLoader({
    projectDir: env.projectDir,
    runnerDir: RUNNER_DIR,
    sdkExports: motiaSdk,
    tsconfig: readProjectTsconfig(env.projectDir),
    cacheDir: join(env.projectDir, '.motia', 'cache', 'node'),
  })
  const client = loadRunnerService()
  const session = new RunnerSession({ env, client, loader })
  onTerminate((signal) => session.terminate(signal))
  setTimeout(() => void loader.transformer.prune(), 10_000).unref()
  debug(() => `connecting to ${env.coreAddress} after ${(performance.now() - startedAt).toFixed(1)} ms`)
  const exit = await session.run()
  if (exit.code !== 0) warn(exit.reason)
  else debug(exit.reason)
  return exit.code
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    warn(`fatal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
    process.exit(1)
  },
)
