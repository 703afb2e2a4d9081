"""The single writer of the stream: everything queued between two writes goes out as ONE frame.

grpc.aio allows one outstanding write per stream, and every stream message costs the core about
100 us of CPU whatever its size, so replies are coalesced: producers ``put`` envelopes (never
waiting), and one task drains the queue into a ``RunnerFrame`` each time it wakes. A batch larger
than the negotiated maximum message size is split over several frames.

The frame is handed to grpc as bytes (the channel has no request serializer): each envelope is
serialized once and framed by hand (:mod:`.wire`), and an envelope queued with :meth:`Outbox.put_parts`
(a large response body as a tail) is never serialized by protobuf at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from .proto import DEFAULT_MAX_MESSAGE_BYTES, pb
from .wire import Parts, frame_entry

# Bytes of framing per envelope inside a RunnerFrame (key + length prefix), rounded up.
_FRAMING_BYTES = 8


class Outbox:
    """A queue of ``RunnerMessage`` envelopes and the task that writes them."""

    def __init__(
        self,
        write: Callable[[bytes], Awaitable[None]],
        max_frame_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    ) -> None:
        self._write = write
        self.max_frame_bytes = max_frame_bytes
        # An envelope, or the pieces of one already encoded (see put_parts).
        self._queue: list[pb.RunnerMessage | Parts] = []
        self._wakeup = asyncio.Event()
        self._closed = False
        self._queued = 0  # envelopes ever put
        self._written = 0  # envelopes ever written
        self._flush_waiters: list[tuple[int, asyncio.Future[None]]] = []
        self.frames_written = 0

    def put(self, message: pb.RunnerMessage) -> None:
        """Queue one envelope; call on the event loop thread. Never blocks."""
        self._enqueue(message)

    def put_parts(self, parts: Parts) -> None:
        """Queue one envelope given as pieces whose concatenation is a serialized ``RunnerMessage``."""
        self._enqueue(parts)

    def _enqueue(self, item: pb.RunnerMessage | Parts) -> None:
        if self._closed:
            return
        self._queue.append(item)
        self._queued += 1
        self._wakeup.set()

    async def flush(self) -> None:
        """Wait until everything queued so far has been written."""
        if self._written >= self._queued:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._flush_waiters.append((self._queued, future))
        self._wakeup.set()
        await future

    def close(self) -> None:
        """Stop accepting envelopes; ``run`` returns once the queue is drained."""
        self._closed = True
        self._wakeup.set()

    async def run(self) -> None:
        """The writer loop. Raises whatever the stream's ``write`` raises."""
        while True:
            if not self._queue:
                if self._closed:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            batch, self._queue = self._queue, []
            for frame in self._frames(batch):
                await self._write(frame)
                self.frames_written += 1
            self._written += len(batch)
            self._release_flushers()

    def _release_flushers(self) -> None:
        if not self._flush_waiters:
            return
        still_waiting = []
        for target, future in self._flush_waiters:
            if self._written >= target:
                if not future.done():
                    future.set_result(None)
            else:
                still_waiting.append((target, future))
        self._flush_waiters = still_waiting

    def _frames(self, batch: list[pb.RunnerMessage | Parts]) -> list[bytes]:
        """The serialized ``RunnerFrame``s of ``batch``, each at most ``max_frame_bytes`` (unless one
        envelope alone is larger: the core then refuses it, as it would any oversized message)."""
        frames: list[bytes] = []
        pieces: list[bytes | bytearray | memoryview] = []
        size = 0
        for item in batch:
            parts: Parts
            if isinstance(item, pb.RunnerMessage):
                serialized = item.SerializeToString()
                parts, envelope_size = (serialized,), len(serialized)
            else:
                parts, envelope_size = item, sum(map(len, item))
            if pieces and size + envelope_size + _FRAMING_BYTES > self.max_frame_bytes:
                frames.append(b"".join(pieces))
                pieces, size = [], 0
            pieces.append(frame_entry(envelope_size))
            pieces.extend(parts)
            size += envelope_size + _FRAMING_BYTES
        frames.append(b"".join(pieces))
        return frames
