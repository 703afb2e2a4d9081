"""Counts the gRPC stream messages (frames) of every runner session of a motia-core process.

Measurement aid for runners/ruby/scripts/api_cpu.py --frames, never loaded in production: that
script puts this directory on PYTHONPATH and sets MOTIA_FRAME_COUNTS to a file path. Python then
imports this module at start-up, and in a `motia-core` process it wraps each runner session's
stream (GrpcSession's context) to count frames and envelopes both ways, per runner language, and
rewrites the file every 0.5 s as JSON: {"ruby": [frames_in, envelopes_in, frames_out, envelopes_out]}.
Everything else (the runners, other Python processes) is left alone.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import Any


def _install(out: str) -> None:
    from motia_core.runners import grpc_session

    counts: dict[str, list[int]] = {}

    class CountingContext:
        def __init__(self, context: Any, language: str) -> None:
            self._context = context
            self._counts = counts.setdefault(language, [0, 0, 0, 0])

        def __getattr__(self, name: str) -> Any:
            return getattr(self._context, name)

        async def read(self) -> Any:
            frame = await self._context.read()
            if hasattr(frame, "messages"):  # not grpc.aio.EOF
                self._counts[0] += 1
                self._counts[1] += len(frame.messages)
            return frame

        async def write(self, frame: Any) -> None:
            self._counts[2] += 1
            self._counts[3] += len(frame.messages)
            await self._context.write(frame)

    original = grpc_session.GrpcSession.__init__

    def counting_init(self: Any, context: Any, info: Any, *args: Any, **kwargs: Any) -> None:
        original(self, CountingContext(context, info.language), info, *args, **kwargs)

    grpc_session.GrpcSession.__init__ = counting_init  # type: ignore[method-assign]

    def dump() -> None:
        while True:
            time.sleep(0.5)
            tmp = f"{out}.tmp"
            with open(tmp, "w") as fh:
                json.dump(counts, fh)
            os.replace(tmp, out)

    threading.Thread(target=dump, name="frame-counts", daemon=True).start()


_OUT = os.environ.get("MOTIA_FRAME_COUNTS")
if _OUT and any("motia-core" in arg or arg == "motia_core" for arg in sys.argv[:2]):
    try:
        _install(_OUT)
    except Exception as exc:  # a measurement aid must never stop the core
        print(f"core_frames: not counting: {exc}", file=sys.stderr)
