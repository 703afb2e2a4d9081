import { randomUUID } from 'node:crypto'
import { SDK_VERSION } from '../../../sdk-node/src/runtime'
import { debug, warn } from './diagnostics'
import type { RunnerEnv } from './env'
import { CallChannel } from './invocation/calls'
import { InvocationRunner } from './invocation/invocations'
import type { ProjectLoader } from './loader/install'
import {
  type CoreMessage,
  DEFAULT_MAX_MESSAGE_BYTES,
  type Hello,
  PROTOCOL_MAX,
  PROTOCOL_MIN,
  type Refusal,
  type Shutdown,
} from './protocol/messages'
import { loadSteps } from './steps/load-steps'
import { StepRegistry } from './steps/registry'
import { BatchingWriter } from './transport/batching-writer'
import { type CoreStream, openCoreStream } from './transport/core-stream'
import type { RunnerServiceClientCtor } from './transport/proto'

/**
 * Lifecycle of the one session a runner process has.
 *   handshaking - Hello sent, waiting for Welcome or Refusal
 *   ready       - serving LoadSteps, invocations, calls and pings
 *   draining    - Shutdown received or SIGTERM: no new work, waiting for in-flight invocations
 *   closed      - the stream is over; the process exits
 */
export type SessionState = 'handshaking' | 'ready' | 'draining' | 'closed'

/** How the session ended: the process exit code and why. */
export interface SessionExit {
  /** 0 after a Shutdown or a SIGTERM drain, 1 when the stream ended or failed otherwise, 2 when the core refused us. */
  code: 0 | 1 | 2
  reason: string
}

/** What a session needs. */
export interface SessionOptions {
  env: RunnerEnv
  client: RunnerServiceClientCtor
  loader: ProjectLoader
}

/** After half-closing on Shutdown, how long to wait for the core to close its side. */
const CLOSE_WAIT_MS = 2000

/** Optional protocol features this runner implements (Hello.capabilities). */
const CAPABILITIES = ['middleware', 'streams', 'cancel', 'drain', 'http_body_bytes']

/**
 * Why the session stops taking work: the core's Shutdown (in-flight work gets its grace period),
 * or SIGTERM from the OS (announced with Draining; in-flight work is finished, however long).
 */
type StopCause = 'shutdown' | 'sigterm'

/**
 * One runner session: the handshake, then every CoreMessage dispatched as it arrives. Handlers run
 * concurrently (the read loop never waits for them); replies go through the one batching writer.
 */
export class RunnerSession {
  private state: SessionState = 'handshaking'
  private stopping: StopCause | null = null
  private started = false
  private terminateBeforeStart = false
  private readonly abort = new AbortController()
  private readonly stream: CoreStream
  private readonly writer: BatchingWriter
  private readonly calls: CallChannel
  private readonly invocations: InvocationRunner
  private readonly registry = new StepRegistry()

  constructor(private readonly options: SessionOptions) {
    this.stream = openCoreStream(options.client, {
      address: options.env.coreAddress,
      maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
      signal: this.abort.signal,
    })
    this.writer = new BatchingWriter(this.stream)
    this.calls = new CallChannel(this.writer)
    this.invocations = new InvocationRunner(this.registry, this.calls, this.writer)
  }

  /** Run until the stream is over; never throws. */
  async run(): Promise<SessionExit> {
    this.started = true
    this.writer.send({ hello: this.hello() })
    if (this.terminateBeforeStart) this.terminate('SIGTERM')
    try {
      for await (const frame of this.stream.frames) {
        for (const message of frame.messages) {
          // A load's files are transformed in one async batch first (Transformer.prefetch); awaited
          // here so that no later message overtakes the load.
          if (message.kind === 'loadSteps' && message.loadSteps) {
            await this.options.loader.transformer.prefetch(message.loadSteps.files.map((file) => file.path))
          }
          let refused: SessionExit | null = null
          try {
            refused = this.dispatch(message)
          } catch (error) {
            // A bug handling one message must not end the session.
            warn(`error handling a '${String(message.kind)}' message: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
          }
          if (refused) return refused
        }
      }
      return this.stopping !== null
        ? { code: 0, reason: this.stopReason() }
        : { code: 1, reason: 'the core closed the stream without a Shutdown' }
    } catch (error) {
      if (this.stopping !== null) return { code: 0, reason: this.stopReason() }
      return { code: 1, reason: `the stream to the core failed: ${error instanceof Error ? error.message : String(error)}` }
    } finally {
      this.state = 'closed'
      this.calls.close(new Error('the runner is no longer connected to the core'))
      this.writer.close()
      debug(() => `session closed; wrote ${this.writer.stats.frames} frame(s) / ${this.writer.stats.messages} message(s)`)
    }
  }

  private hello(): Hello {
    return {
      protocolMin: PROTOCOL_MIN,
      protocolMax: PROTOCOL_MAX,
      runnerInstanceId: randomUUID(),
      language: 'node',
      runtimeVersion: `node ${process.version}`,
      sdkVersion: SDK_VERSION,
      concurrencySlots: this.options.env.slots,
      secret: this.options.env.secret,
      pid: process.pid,
      capabilities: CAPABILITIES,
    }
  }

  /** Handle one message; returns an exit only for a Refusal. */
  private dispatch(message: CoreMessage): SessionExit | null {
    switch (message.kind) {
      case 'welcome': {
        const welcome = message.welcome
        if (!welcome) return null
        this.state = 'ready'
        this.writer.setMaxMessageBytes(welcome.maxMessageBytes)
        debug(() => `welcome: protocol ${welcome.protocolVersion}, session ${welcome.sessionId}`)
        return null
      }
      case 'refusal':
        return this.refused(message.refusal)
      case 'loadSteps': {
        const load = message.loadSteps
        if (load) this.writer.send({ stepsLoaded: loadSteps(load.requestId, load.files, this.registry, this.options.loader) })
        return null
      }
      case 'start':
        if (message.start) this.invocations.start(message.start)
        return null
      case 'cancel':
        if (message.cancel) this.invocations.cancel(message.cancel)
        return null
      case 'callReply':
        if (message.callReply) this.calls.resolve(message.callReply)
        return null
      case 'ping':
        this.writer.send({ pong: { nonce: message.ping?.nonce ?? 0 } })
        return null
      case 'pong':
        return null
      case 'shutdown':
        if (message.shutdown) void this.shutdown(message.shutdown)
        return null
      default:
        // A newer core may send kinds this runner does not know: ignore them.
        debug(() => `ignoring a core message of unknown kind '${String(message.kind)}'`)
        return null
    }
  }

  private refused(refusal: Refusal | null | undefined): SessionExit {
    const code = refusal?.code ?? 'CODE_UNSPECIFIED'
    const detail = refusal?.message || 'no reason given'
    const versions = refusal ? ` (core speaks protocol ${refusal.coreProtocolMin}..${refusal.coreProtocolMax}, runner ${PROTOCOL_MIN}..${PROTOCOL_MAX})` : ''
    return { code: 2, reason: `the core refused this runner: ${code}: ${detail}${code === 'CODE_VERSION_UNSUPPORTED' ? versions : ''}` }
  }

  /**
   * SIGTERM from the OS: send Draining, take no new work (StartInvocation -> SHUTTING_DOWN), let
   * every invocation in flight finish and send its result, then flush, half-close, exit 0. Nothing
   * changes that once it started: a second SIGTERM and a Shutdown from the core are ignored. A
   * SIGTERM during the core's Shutdown is ignored too (the runner is already stopping).
   */
  terminate(signal: 'SIGTERM'): void {
    if (!this.started) {
      this.terminateBeforeStart = true // run() sends Hello first, then drains
      return
    }
    if (this.stopping !== null || this.state === 'closed') {
      debug(() => `${signal} while ${this.stopping === 'sigterm' ? 'draining' : 'stopping'}: ignored`)
      return
    }
    this.stopping = 'sigterm'
    this.state = 'draining'
    this.invocations.drain()
    this.writer.send({ draining: { reason: signal } })
    debug(() => `${signal}: draining ${this.invocations.inFlight} invocation(s) in flight`)
    void this.closeWhenIdle(null)
  }

  /** Shutdown: no new work, wait for in-flight invocations up to grace_ms, flush, half-close. */
  private async shutdown(shutdown: Shutdown): Promise<void> {
    if (this.stopping !== null) {
      debug(() => `shutdown (${shutdown.reason || 'no reason'}) while ${this.stopping === 'sigterm' ? 'draining after SIGTERM' : 'shutting down'}: ignored`)
      return
    }
    this.stopping = 'shutdown'
    this.state = 'draining'
    this.invocations.drain()
    debug(() => `shutdown (${shutdown.reason || 'no reason'}): ${this.invocations.inFlight} in flight, grace ${shutdown.graceMs} ms`)
    await this.closeWhenIdle(shutdown.graceMs)
  }

  /** Wait for the invocations in flight (up to `graceMs`; null = no limit), flush, half-close. */
  private async closeWhenIdle(graceMs: number | null): Promise<void> {
    const finished = await this.invocations.waitIdle(graceMs)
    if (!finished) {
      warn(`shutdown: ${this.invocations.inFlight} invocation(s) still running after the ${graceMs} ms grace period; abandoning them`)
    }
    if (this.state === 'closed') return
    await this.writer.flush()
    this.writer.close()
    this.stream.end()
    // The core answers the half-close by ending the stream; if it does not, stop waiting.
    setTimeout(() => this.abort.abort(), CLOSE_WAIT_MS).unref()
  }

  private stopReason(): string {
    return this.stopping === 'sigterm' ? 'drained after SIGTERM' : 'shut down'
  }

  /** Current lifecycle state (for diagnostics). */
  get currentState(): SessionState {
    return this.state
  }
}
