import * as grpc from '@grpc/grpc-js'
import type { CoreFrame, RunnerFrame } from '../protocol/messages'
import { DEFAULT_MAX_MESSAGE_BYTES } from '../protocol/messages'
import type { RunnerServiceClientCtor } from './proto'

/**
 * The runner's end of `RunnerService.Connect`: incoming frames as an AsyncIterable, outgoing frames
 * through {@link CoreStream.write}. Exactly one writer may use it (see BatchingWriter).
 */
export interface CoreStream {
  /** Frames from the core, in order. Ends when the core closes the stream; throws if it fails. */
  readonly frames: AsyncIterable<CoreFrame>
  /**
   * Queue one frame. Resolves once gRPC took it; waits for the transport to drain first when its
   * buffer is full (back-pressure). Rejects if the stream is gone.
   */
  write(frame: RunnerFrame): Promise<void>
  /** Half-close: tell the core we will send nothing more. */
  end(): void
  /** True once the stream ended, failed or was cancelled. */
  readonly closed: boolean
}

/** Options of {@link openCoreStream}. */
export interface OpenCoreStreamOptions {
  /** gRPC target, used as-is (`unix:/path`, `host:port`). */
  address: string
  /** Max size of one message in either direction; default 64 MiB. */
  maxMessageBytes?: number
  /** Aborting cancels the call (the frames iterator then ends with an error). */
  signal?: AbortSignal
}

/** Open the one bidi stream to the core over an insecure local channel. */
export function openCoreStream(Client: RunnerServiceClientCtor, options: OpenCoreStreamOptions): CoreStream {
  const limit = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES
  const client = new Client(options.address, grpc.credentials.createInsecure(), {
    'grpc.max_send_message_length': limit,
    'grpc.max_receive_message_length': limit,
    // One process, one stream: never let grpc-js retry or reconnect behind our back.
    'grpc.enable_retries': 0,
  })
  const call = client.Connect()
  let closed = false
  const markClosed = (): void => {
    if (closed) return
    closed = true
    client.close()
  }
  call.on('end', markClosed)
  call.on('error', markClosed)
  call.on('close', markClosed)
  // grpc-js emits 'error' for a failed call; with no listener Node would throw. The frames
  // iterator below surfaces the error to the reader.

  const abort = (): void => {
    call.cancel()
  }
  if (options.signal) {
    if (options.signal.aborted) abort()
    else options.signal.addEventListener('abort', abort, { once: true })
  }

  async function* frames(): AsyncGenerator<CoreFrame> {
    try {
      for await (const frame of call) yield frame as CoreFrame
    } finally {
      options.signal?.removeEventListener('abort', abort)
      markClosed()
    }
  }

  return {
    frames: frames(),
    get closed() {
      return closed
    },
    async write(frame: RunnerFrame): Promise<void> {
      if (closed) throw new Error('the stream to the core is closed')
      if (!call.write(frame)) await waitForDrain(call)
    },
    end(): void {
      if (!closed) call.end()
    },
  }
}

/** Resolve on 'drain'; reject if the call closes or fails first. */
function waitForDrain(call: grpc.ClientDuplexStream<RunnerFrame, unknown>): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      call.off('drain', onDrain)
      call.off('close', onClose)
      call.off('error', onClose)
    }
    const onDrain = (): void => {
      cleanup()
      resolve()
    }
    const onClose = (): void => {
      cleanup()
      reject(new Error('the stream to the core closed while writing'))
    }
    call.on('drain', onDrain)
    call.on('close', onClose)
    call.on('error', onClose)
  })
}
