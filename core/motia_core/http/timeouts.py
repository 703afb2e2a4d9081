"""Connection timeouts of the HTTP server: keep-alive, and a deadline for the request head.

aiohttp 3.14 closes an idle keep-alive connection after ``keepalive_timeout`` (its default is
3630 s; we use 75 s, like nginx) but has no header timeout: a client that sends one header byte per
second (slowloris) holds a connection, and its buffers, for as long as it likes. The handler below
closes a connection whose request head has not completed within ``HEADER_TIMEOUT`` seconds of the
connection opening or of the head's first byte (MOTIA_HEADER_TIMEOUT, default 10 s), with a 408.
Bodies are not covered: a handler reading a slow upload is bounded by --max-body and the API
timeout.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

KEEPALIVE_TIMEOUT = 75.0  # seconds an idle keep-alive connection stays open
HEADER_TIMEOUT = float(os.environ.get("MOTIA_HEADER_TIMEOUT", "10"))
_TIMEOUT_RESPONSE = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


class _HeadDeadlineHandler(RequestHandler):
    """aiohttp's protocol plus one timer that runs while a request head is being received.

    It reads aiohttp's own bookkeeping (``_request_count``: heads parsed so far; ``_messages``:
    parsed heads not yet handled; ``_request_in_progress``): checked against aiohttp 3.14.
    """

    def __init__(self, *args: Any, header_timeout: float = HEADER_TIMEOUT, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timeout = header_timeout
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        heads = self._request_count
        super().data_received(data)
        if self._request_count != heads:
            self._disarm()  # a head completed: the handler's own timeouts take over
        elif self._head_timer is None and self._between_requests():
            self._arm()  # the first bytes of the next request on a keep-alive connection

    def _between_requests(self) -> bool:
        return not self._request_in_progress and not self._messages and not self._upgraded

    def _arm(self) -> None:
        if self._header_timeout > 0:
            self._head_timer = self._loop.call_later(self._header_timeout, self._expired)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _expired(self) -> None:
        self._head_timer = None
        if not self._between_requests():
            return
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(_TIMEOUT_RESPONSE)
        self.force_close()


class _Server(web.Server):
    def __call__(self) -> RequestHandler:
        return _HeadDeadlineHandler(self, loop=self._loop, **self._kwargs)


class HardenedAppRunner(web.AppRunner):
    """web.AppRunner whose connections get the request-head deadline above."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        return _Server(
            server.request_handler,
            request_factory=server.request_factory,
            handler_cancellation=server.handler_cancellation,
            loop=server._loop,
            **server._kwargs,
        )
