"""Stream clients for the tests: a plain aiohttp WebSocket client, and Motia's real npm client
(@motiadev/stream-client-node, driven by client.mjs in this folder)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

HERE = Path(__file__).resolve().parent
Doc = dict[str, Any]


async def wait_until(check: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


class WsClient:
    """A plain client of the stream protocol: join/leave and every message received, in order."""

    def __init__(self, session: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.session = session
        self.ws = ws
        self.messages: list[Doc] = []
        self._reader = asyncio.create_task(self._read())
        self._subs = 0

    @classmethod
    async def connect(cls, url: str, path: str = "/", **kwargs: Any) -> WsClient:
        session = aiohttp.ClientSession()
        try:
            ws = await session.ws_connect(url.replace("http://", "ws://") + path, **kwargs)
        except BaseException:
            await session.close()
            raise
        return cls(session, ws)

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                self.messages.append(json.loads(msg.data))

    async def join(self, stream: str, group_id: str, item_id: str | None = None, sub_id: str | None = None) -> str:
        self._subs += 1
        sub_id = sub_id or f"sub-{self._subs}"
        data: Doc = {"streamName": stream, "groupId": group_id, "subscriptionId": sub_id}
        if item_id is not None:
            data["id"] = item_id
        await self.ws.send_str(json.dumps({"type": "join", "data": data}))
        return sub_id

    async def join_synced(self, stream: str, group_id: str, item_id: str | None = None) -> Doc:
        """Join and wait for the sync message of that subscription."""
        before = len(self.messages)
        await self.join(stream, group_id, item_id)

        def synced() -> Doc | None:
            for m in self.messages[before:]:
                if m["event"]["type"] in ("sync", "event") and m["streamName"] == stream and m["groupId"] == group_id:
                    if m.get("id") == item_id:
                        return m
            return None

        found: Doc = await wait_until(synced, what=f"sync of {stream}/{group_id}/{item_id}")
        return found

    async def leave(self, stream: str, group_id: str, item_id: str | None, sub_id: str) -> None:
        data: Doc = {"streamName": stream, "groupId": group_id, "subscriptionId": sub_id}
        if item_id is not None:
            data["id"] = item_id
        await self.ws.send_str(json.dumps({"type": "leave", "data": data}))

    def events(self, kind: str | None = None) -> list[Doc]:
        """Messages other than sync (optionally of one event type)."""
        return [
            m for m in self.messages if m["event"]["type"] != "sync" and (kind is None or m["event"]["type"] == kind)
        ]

    async def wait_for(self, predicate: Callable[[Doc], bool], timeout: float = 10.0, count: int = 1) -> list[Doc]:
        def found() -> list[Doc] | None:
            hits = [m for m in self.messages if predicate(m)]
            return hits if len(hits) >= count else None

        hits: list[Doc] = await wait_until(found, timeout, f"{count} matching message(s)")
        return hits

    async def close(self) -> None:
        await self.ws.close()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        await self.session.close()


class NodeClient:
    """Motia's real stream client in a Node process; `lines` holds what client.mjs printed."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[Doc] = []
        self.stderr = b""
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, url: str, subscriptions: list[Doc], protocols: list[str] | None = None) -> NodeClient:
        spec: Doc = {"url": url.replace("http://", "ws://"), "subscriptions": subscriptions}
        if protocols:
            spec["protocols"] = protocols
        proc = await asyncio.create_subprocess_exec(
            "node",
            str(HERE / "client.mjs"),
            json.dumps(spec),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(proc)

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            self.lines.append(json.loads(line))

    def of(self, kind: str, sub: str | None = None) -> list[Doc]:
        return [d for d in self.lines if d["t"] == kind and (sub is None or d.get("sub") == sub)]

    def raw(self) -> list[Doc]:
        return [d["m"] for d in self.lines if d["t"] == "raw"]

    async def wait_for(self, predicate: Callable[[Doc], bool], timeout: float = 15.0) -> Doc:
        def found() -> Doc | None:
            return next((d for d in self.lines if predicate(d)), None)

        if self.proc.returncode is not None:
            raise AssertionError(f"node client exited: {self.stderr.decode(errors='replace')}")
        hit: Doc = await wait_until(found, timeout, "a node client line")
        return hit

    async def state_of(self, sub: str, predicate: Callable[[Any], bool], timeout: float = 15.0) -> Any:
        """Wait until the subscription's state (the client's own view) satisfies predicate."""
        line = await self.wait_for(lambda d: d["t"] == "change" and d["sub"] == sub and predicate(d["state"]), timeout)
        return line["state"]

    async def command(self, doc: Doc) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(doc) + "\n").encode())
        await self.proc.stdin.drain()

    async def close(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(ConnectionError):
                await self.command({"cmd": "exit"})
            try:
                await asyncio.wait_for(self.proc.wait(), 5)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        assert self.proc.stderr is not None
        self.stderr = await self.proc.stderr.read()
        await self._reader
