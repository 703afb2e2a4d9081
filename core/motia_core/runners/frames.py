"""The core's outgoing frames to one runner: envelopes appended to the frame being built, one writer.

The writer sends everything queued as one gRPC message: a gRPC message costs ~100 µs of core CPU
whatever its size, so coalescing is the difference between ~15 % and ~50 % of bare aiohttp
throughput (docs/protocol.md). A backlog larger than the frame budget (tens of MiB queued in one
tick) is cut into frames that each fit: gRPC ends the whole stream on a message above
Welcome.max_message_bytes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from motia_core._proto.motia.runner.v1 import runner_pb2 as pb
from motia_core.limits import FRAME_BUDGET_BYTES

FRAMING_BYTES = 8  # per envelope inside a CoreFrame: field tag + length prefix, rounded up


class FrameWriter:
    """Build frames with message(); run() sends them, one write at a time (grpc.aio allows one)."""

    def __init__(
        self,
        write: Callable[[pb.CoreFrame], Awaitable[None]],
        on_oversized: Callable[[pb.CoreMessage, int], None],
    ) -> None:
        self._write = write
        self._on_oversized = on_oversized  # a lone envelope too large for any frame: fail just its owner
        self._frame = pb.CoreFrame()
        self._frame_bytes = 0  # encoded size of the frame's messages except the last (still being filled)
        self._last: pb.CoreMessage | None = None  # that last message (indexing the frame costs a wrapper)
        self._wake = asyncio.Event()

    def message(self) -> pb.CoreMessage:
        """A new envelope at the end of the frame being built; the caller fills it before yielding."""
        last = self._last
        if last is not None:  # the previous envelope is filled by now: count it once (ByteSize of one message)
            self._frame_bytes += last.ByteSize() + FRAMING_BYTES
        msg = self._last = self._frame.messages.add()
        if not self._wake.is_set():
            self._wake.set()
        return msg

    async def run(self) -> None:
        """Send until cancelled; a failed write raises (the stream is broken)."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            last = self._last
            if last is None:
                continue
            size = self._frame_bytes + last.ByteSize() + FRAMING_BYTES
            frame, self._frame, self._frame_bytes, self._last = self._frame, pb.CoreFrame(), 0, None
            if size <= FRAME_BUDGET_BYTES:  # the common case: everything queued goes out as one message
                await self._write(frame)
                continue
            for part in self._split(frame):
                await self._write(part)

    def _split(self, frame: pb.CoreFrame) -> list[pb.CoreFrame]:
        parts: list[pb.CoreFrame] = []
        current = pb.CoreFrame()
        size = 0
        for msg in frame.messages:
            n = msg.ByteSize() + FRAMING_BYTES
            if n > FRAME_BUDGET_BYTES:
                self._on_oversized(msg, n)
                continue
            if current.messages and size + n > FRAME_BUDGET_BYTES:
                parts.append(current)
                current, size = pb.CoreFrame(), 0
            current.messages.append(msg)
            size += n
        if current.messages:
            parts.append(current)
        return parts
