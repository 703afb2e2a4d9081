import { warn } from '../diagnostics'
import type { RunnerFrame, RunnerMessage } from '../protocol/messages'
import { DEFAULT_MAX_MESSAGE_BYTES } from '../protocol/messages'

/** Where frames go: a {@link CoreStream} in production, anything with `write` in tests. */
export interface FrameSink {
  write(frame: RunnerFrame): Promise<void>
}

/** Protobuf overhead we allow per message on top of its payload bytes when sizing a frame. */
const PER_MESSAGE_OVERHEAD = 64

/** A rough upper-bound of a message's encoded size: its bytes and strings plus field overhead. */
export function estimateSize(value: unknown, depth = 0): number {
  if (value === null || value === undefined) return 0
  if (typeof value === 'string') return value.length * (value.length > 256 ? 3 : 1) + 2
  if (Buffer.isBuffer(value)) return value.length + 4
  if (typeof value !== 'object' || depth > 8) return 10
  let size = 2
  if (Array.isArray(value)) {
    for (const item of value) size += estimateSize(item, depth + 1)
    return size
  }
  for (const key in value) size += 2 + estimateSize((value as Record<string, unknown>)[key], depth + 1)
  return size
}

/**
 * The single writer of the stream. Everything the runner sends goes through {@link send}, which
 * only queues; a flush scheduled with `setImmediate` then drains the whole queue into ONE
 * RunnerFrame (one gRPC message costs the core ~100+ µs whatever its size, so coalescing is what
 * makes the runner fast). `setImmediate` runs after the current I/O callbacks and their microtasks,
 * so the replies to every message of an incoming frame, and every handler that finished in the
 * meantime, ride in the same outgoing frame.
 *
 * Only one write is outstanding at a time; messages queued meanwhile go into the next frame. A
 * queue bigger than half the max message size is split across frames.
 */
export class BatchingWriter {
  private queue: RunnerMessage[] = []
  private queuedBytes = 0
  private scheduled = false
  private writing: Promise<void> | null = null
  private closed = false
  private frames = 0
  private messages = 0

  /**
   * @param sink - the stream
   * @param maxMessageBytes - the max gRPC message size (frames are cut well below it)
   */
  constructor(
    private readonly sink: FrameSink,
    private maxMessageBytes: number = DEFAULT_MAX_MESSAGE_BYTES,
  ) {}

  /** Change the max message size (Welcome.max_message_bytes). */
  setMaxMessageBytes(bytes: number): void {
    if (bytes > 0) this.maxMessageBytes = bytes
  }

  /** Largest payload one message may carry and still fit in a frame. */
  get payloadLimit(): number {
    return this.maxMessageBytes - 4096
  }

  /** Queue a message; it goes out with the next flush. Dropped once the writer is closed. */
  send(message: RunnerMessage): void {
    if (this.closed) return
    this.queue.push(message)
    this.queuedBytes += estimateSize(message) + PER_MESSAGE_OVERHEAD
    this.schedule()
  }

  /** Write everything queued now and wait until gRPC took it. */
  async flush(): Promise<void> {
    while (this.writing !== null || this.queue.length > 0) {
      if (this.writing !== null) await this.writing
      else this.writeQueued()
    }
  }

  /** Stop accepting messages (what is queued is still written by {@link flush}). */
  close(): void {
    this.closed = true
  }

  /** Frames and messages written so far (for debugging). */
  get stats(): { frames: number; messages: number } {
    return { frames: this.frames, messages: this.messages }
  }

  private schedule(): void {
    if (this.scheduled || this.writing !== null) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      if (this.writing === null) this.writeQueued()
    })
  }

  private writeQueued(): void {
    if (this.queue.length === 0) return
    const batch = this.takeBatch()
    this.frames += 1
    this.messages += batch.length
    this.writing = this.sink
      .write({ messages: batch })
      .catch((error: unknown) => {
        // The stream is gone: the session notices on its read side and exits.
        this.closed = true
        this.queue = []
        this.queuedBytes = 0
        warn(`could not write to the core: ${error instanceof Error ? error.message : String(error)}`)
      })
      .finally(() => {
        this.writing = null
        if (this.queue.length > 0) this.schedule()
      })
  }

  private takeBatch(): RunnerMessage[] {
    const budget = this.maxMessageBytes / 2
    if (this.queuedBytes <= budget) {
      const batch = this.queue
      this.queue = []
      this.queuedBytes = 0
      return batch
    }
    let size = 0
    let count = 0
    while (count < this.queue.length) {
      const next = estimateSize(this.queue[count]) + PER_MESSAGE_OVERHEAD
      if (count > 0 && size + next > budget) break
      size += next
      count += 1
    }
    this.queuedBytes = Math.max(0, this.queuedBytes - size)
    return this.queue.splice(0, count)
  }
}
