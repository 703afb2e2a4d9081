import { existsSync } from 'node:fs'
import { connect } from 'node:net'

/** Thrown when the core's socket does not accept connections within the wait. */
export class CoreSocketTimeout extends Error {
  override name = 'CoreSocketTimeout'
}

/** Pause between two attempts: the core usually listens within tens of ms of the spawn. */
const RETRY_MS = 5

/**
 * Wait until the core's unix socket accepts a connection, for at most `limitMs`. The core may
 * spawn this runner before its gRPC server listens (core/motia_core/coldstart.py, ServerAhead),
 * and grpc-js fails a call at once when the socket is missing (retries are off, core-stream.ts).
 * The probe connection is closed at once; the server drops it like any client that leaves before
 * speaking HTTP/2. Other targets (host:port) and `limitMs` 0 return at once.
 */
export async function waitForCoreSocket(address: string, limitMs: number): Promise<number> {
  if (limitMs <= 0 || !address.startsWith('unix:')) return 0
  const path = address.slice('unix:'.length).replace(/^\/\/(?=\/)/, '')
  const started = performance.now()
  let attempts = 0
  for (;;) {
    attempts += 1
    // a stat is cheaper than a connect: probe only once the socket file exists (bound, about to listen)
    const error = existsSync(path) ? await probe(path) : Object.assign(new Error('no socket file yet'), { code: 'ENOENT' })
    if (error === null) return attempts
    const waited = performance.now() - started
    if (waited >= limitMs) {
      throw new CoreSocketTimeout(
        `the core's socket ${path} did not accept a connection within ${limitMs} ms ` +
          `(MOTIA_CORE_CONNECT_WAIT_MS; ${attempts} attempts, last: ${error.code ?? error.message})`,
      )
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(RETRY_MS, limitMs - waited)))
  }
}

/** null once connected, else the connect error (ENOENT before the socket exists, ECONNREFUSED before it listens). */
function probe(path: string): Promise<NodeJS.ErrnoException | null> {
  return new Promise((resolve) => {
    const socket = connect({ path })
    socket.once('connect', () => {
      socket.destroy()
      resolve(null)
    })
    socket.once('error', (error: NodeJS.ErrnoException) => {
      socket.destroy()
      resolve(error)
    })
  })
}
