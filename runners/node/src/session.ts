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
 *   draining    - Shutdown received: no new work, waiting for in-flight invocations
 *   closed      - the stream is over; the process exits
 */
export type SessionState = 'handshaking' | 'ready' | 'draining' | 'closed'

/** How the session ended: the process exit code and why. */
export interface SessionExit {
  /** 0 after a Shutdown, 1 when the stream ended or failed otherwise, 2 when the core refused us. */
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

/**
 * One runner session: the handshake, then every CoreMessage dispatched as it arrives. Handlers run
 * concurrently (the read loop never waits for them); replies go through the one batching writer.
 */
export class RunnerSession {
  private state: SessionState = 'handshaking'
  private shutdownRequested = false
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
    this.writer.send({ hello: this.hello() })
    try {
      for await (const frame of this.stream.frames) {
        for (const message of frame.messages) {
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
      return this.shutdownRequested
        ? { code: 0, reason: 'shut down' }
        : { code: 1, reason: 'the core closed the stream without a Shutdown' }
    } catch (error) {
      if (this.shutdownRequested) return { code: 0, reason: 'shut down' }
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
      capabilities: ['middleware', 'streams'],
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

  /** Shutdown: no new work, wait for in-flight invocations up to grace_ms, flush, half-close. */
  private async shutdown(shutdown: Shutdown): Promise<void> {
    if (this.shutdownRequested) return
    this.shutdownRequested = true
    this.state = 'draining'
    this.invocations.drain()
    debug(() => `shutdown (${shutdown.reason || 'no reason'}): ${this.invocations.inFlight} in flight, grace ${shutdown.graceMs} ms`)
    const finished = await this.invocations.waitIdle(shutdown.graceMs)
    if (!finished) {
      warn(`shutdown: ${this.invocations.inFlight} invocation(s) still running after the ${shutdown.graceMs} ms grace period; abandoning them`)
    }
    await this.writer.flush()
    this.writer.close()
    this.stream.end()
    // The core answers the half-close by ending the stream; if it does not, stop waiting.
    setTimeout(() => this.abort.abort(), CLOSE_WAIT_MS).unref()
  }

  /** Current lifecycle state (for diagnostics). */
  get currentState(): SessionState {
    return this.state
  }
}
