"""The heartbeat of one runner stream (docs/protocol.md, "Liveness").

A runner that sends nothing for HEARTBEAT_TIMEOUT seconds (SIGSTOPped, or an event loop blocked by a
handler that never yields) is declared dead. The core pings only a quiet stream, so a busy runner's
own frames are its heartbeat and an idle one costs one tiny message per interval. Only silence the
runner is to blame for counts: time the core's own loop was stalled (it could neither send the ping
nor read the answer) is not counted, and the runner gets the whole timeout after the ping was handed
to the transport.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable

from motia_core._proto.motia.runner.v1 import runner_pb2 as pb

HEARTBEAT_INTERVAL = float(os.environ.get("MOTIA_HEARTBEAT_INTERVAL", "1"))
HEARTBEAT_TIMEOUT = float(os.environ.get("MOTIA_HEARTBEAT_TIMEOUT", "5"))


class Liveness:
    """When the runner was last heard and what the ping waiting for an answer has cost it so far.

    The session tells it each frame read (heard) and each frame written (ping_handed_over, only
    while a ping waits: rare); watch() is the heartbeat task's loop.
    """

    def __init__(self) -> None:
        self.last_heard = time.monotonic()
        self.stalled = 0.0  # seconds the core's own loop lagged since the runner was last heard
        self.ping_nonce = 0  # the heartbeat ping not yet answered by any frame (0: none)
        self.ping_written: float | None = None  # when that ping was handed to the transport
        self.stalled_at_write = 0.0  # self.stalled at that moment

    def heard(self) -> None:
        """A frame came from the runner: any frame answers the ping."""
        self.last_heard = time.monotonic()
        self.stalled = 0.0
        self.ping_nonce, self.ping_written = 0, None

    def ping_handed_over(self, frame: pb.CoreFrame) -> None:
        """Called after a frame was written while a heartbeat ping waits: did it carry that ping?"""
        nonce = self.ping_nonce
        if any(m.WhichOneof("kind") == "ping" and m.ping.nonce == nonce for m in frame.messages):
            self.ping_written = time.monotonic()
            self.stalled_at_write = self.stalled

    async def watch(
        self,
        interval: float,
        timeout: float,
        closed: asyncio.Future[str],
        send_ping: Callable[[], int],
        give_up: Callable[[str], None],
    ) -> None:
        """Ping a quiet stream every `interval`; after `timeout` of the runner's own silence, give_up(why)."""
        while not closed.done():
            before = time.monotonic()
            await asyncio.sleep(interval)
            now = time.monotonic()
            # A loop busy with other work (1 MB bodies on a starved CPU) wakes us late and reads the
            # runner's frames late too: that lag is the core's, not the runner's silence.
            lag = max(0.0, now - before - interval - 0.05)
            self.stalled += lag
            quiet = now - self.last_heard
            silent = quiet - self.stalled
            written = self.ping_written
            # the runner gets the whole timeout after its ping left the core (core stalls not counted);
            # a ping the transport never took means the runner does not read its stream either
            waited = timeout if written is None else now - written - (self.stalled - self.stalled_at_write)
            if silent >= timeout and waited >= timeout:
                why = "a ping never reached it" if written is None else f"a ping unanswered for {now - written:.0f}s"
                give_up(f"stopped answering pings for {quiet:.0f}s ({why})")
                return
            if quiet >= interval:
                nonce = send_ping()
                if not self.ping_nonce:  # the clock runs from the first unanswered ping
                    self.ping_nonce = nonce
