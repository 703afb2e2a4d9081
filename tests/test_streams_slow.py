"""Slow stream clients never slow the core: each connection has a bounded send queue, and a client
that falls behind is dropped (close code 1008, a warning) while the others keep getting everything."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import socket
import struct
from collections.abc import Callable

from tests.conftest import CoreProcess
from tests.stream_client.harness import WsClient, wait_until

QUEUE_LIMIT = 64
UPDATES = 2000
PAD = 2000  # bytes per item: ~4 MB in all, more than the socket buffers can hide


class RawClient:
    """A WebSocket client on a bare socket that reads only when told to (so it can stall)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(1)
        assert head.startswith(b"HTTP/1.1 101"), head
        self.buffer = b""

    def send_text(self, text: str) -> None:
        payload = text.encode()
        mask = os.urandom(4)
        assert len(payload) < 126
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + masked)

    def _need(self, size: int) -> bytes:
        while len(self.buffer) < size:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buffer += chunk
        out, self.buffer = self.buffer[:size], self.buffer[size:]
        return out

    def frame(self) -> tuple[int, bytes]:
        b0, b1 = self._need(2)
        length = b1 & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self._need(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self._need(8))
        return b0 & 0x0F, self._need(length)


async def test_stalled_client_is_dropped_and_others_get_everything(start_core: Callable[..., CoreProcess]) -> None:
    core = start_core("streams", env={"MOTIA_STREAM_SEND_QUEUE": str(QUEUE_LIMIT), "MOTIA_STREAM_CLOSE_TIMEOUT": "10"})
    healthy = await WsClient.connect(core.url)
    stalled = await asyncio.to_thread(RawClient, core.port)
    try:
        await healthy.join_synced("todo", "slow")
        join = {"type": "join", "data": {"streamName": "todo", "groupId": "slow", "subscriptionId": "s"}}
        stalled.send_text(json.dumps(join))
        opcode, sync = await asyncio.to_thread(stalled.frame)
        assert opcode == 1 and json.loads(sync)["event"] == {"type": "sync", "data": []}
        # from here on the stalled client reads nothing
        body = {"stream": "todo", "op": "sequence", "groupId": "slow", "id": "x", "count": UPDATES, "pad": PAD}
        async with healthy.session.post(f"{core.url}/ts/streams", json=body) as resp:
            assert resp.status == 200
        line = core.wait_for_log(lambda d: "fell behind" in d.get("msg", ""))
        assert line["level"] == "warn" and "closing it with code 1008" in line["msg"]
        queued = int(re.search(r"(\d+) messages", line["msg"]).group(1))  # type: ignore[union-attr]
        assert QUEUE_LIMIT <= queued <= QUEUE_LIMIT * 4  # the queue stayed bounded
        # the healthy client got every update, in order, while the other one was stuck
        events = await healthy.wait_for(lambda m: m["event"]["type"] in ("create", "update"), count=UPDATES)
        assert [m["event"]["data"]["n"] for m in events] == list(range(1, UPDATES + 1))

        # the stalled client now reads: what was in flight, in order, then the close frame
        def drain() -> tuple[list[int], int]:
            seen: list[int] = []
            while True:
                opcode, payload = stalled.frame()
                if opcode == 8:
                    return seen, struct.unpack("!H", payload[:2])[0]
                seen.append(json.loads(payload)["event"]["data"]["n"])

        seen, code = await asyncio.to_thread(drain)
        assert code == 1008
        assert seen == list(range(1, len(seen) + 1)) and len(seen) < UPDATES
        # the core forgot it: one connection left, nothing queued
        async with healthy.session.get(f"{core.url}/__motia/streams/list") as resp:
            sockets = (await resp.json())["sockets"]
        await wait_until(lambda: sockets["dropped"] == 1, what="dropped count")
        assert sockets["connections"] == 1 and sockets["queued"] == 0
    finally:
        await healthy.close()
        stalled.sock.close()
