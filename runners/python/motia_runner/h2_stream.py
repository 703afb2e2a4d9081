"""The runner's one gRPC stream over HTTP/2 framed here, on the runner's own event loop
(``MOTIA_RUNNER_TRANSPORT=h2``).

Why: grpc.aio completes every read and write on its poller thread and wakes the loop through a
socket, which costs the runner ~240-320 us of CPU per frame cycle (one ``CoreFrame`` in, one
``RunnerFrame`` out); framing the single long-lived stream here costs ~90 us (docs/performance.md,
"Python runner over h2"). The ``h2`` library was measured too and saved only ~10-15 %: it parses
every frame into objects, runs a state machine per frame and formats each received frame for a
debug log it then drops.

The call has the surface of the grpc.aio call the session uses (``write``, ``read``,
``done_writing``, ``cancel``); ``read`` returns ``None`` at the end of the stream. It speaks standard
gRPC over cleartext HTTP/2 (RFC 9113; gRPC's PROTOCOL-HTTP2): ``POST <method>``,
``content-type: application/grpc``, ``te: trailers``, 5-byte length-prefixed messages, ``grpc-status``
in the trailers. HPACK is the ``hpack`` package's. Only stream 1 is ever opened.

Failures raise :class:`StreamClosedError` worded like grpc.aio's (``UNAVAILABLE: ...``), so the session
logs and exits as it does with grpc.aio.
"""

from __future__ import annotations

import asyncio
import collections
import struct
import urllib.parse
from typing import Any, cast

import hpack

from .errors import StreamClosedError
from .proto import pb

_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
_HEADER = struct.Struct(">BHBBI")  # length (24 bits as 8 + 16), type, flags, stream id
_DATA, _HEADERS, _RST_STREAM, _SETTINGS, _PING, _GOAWAY, _WINDOW_UPDATE, _CONTINUATION = 0, 1, 3, 4, 6, 7, 8, 9
_END_STREAM, _ACK, _END_HEADERS, _PADDED, _PRIORITY = 0x1, 0x1, 0x4, 0x8, 0x20
_SETTINGS_INITIAL_WINDOW, _SETTINGS_MAX_FRAME, _SETTINGS_ENABLE_PUSH = 4, 5, 2
_STREAM = 1
_DEFAULT_WINDOW = 65_535
# What the core may send before we acknowledge: large, so a 1 MB body never waits on us.
_RECEIVE_WINDOW = 16 * 1024 * 1024
_OUR_MAX_FRAME = 16_384  # the protocol's default, which we do not raise
_MAX_WINDOW = 2**31 - 1
_CANCEL, _PROTOCOL_ERROR, _FLOW_CONTROL_ERROR = 0x8, 0x1, 0x3
_STATUS_NAMES = (
    "OK CANCELLED UNKNOWN INVALID_ARGUMENT DEADLINE_EXCEEDED NOT_FOUND ALREADY_EXISTS PERMISSION_DENIED "
    "RESOURCE_EXHAUSTED FAILED_PRECONDITION ABORTED OUT_OF_RANGE UNIMPLEMENTED INTERNAL UNAVAILABLE "
    "DATA_LOSS UNAUTHENTICATED"
).split()
# Connection attempts: the core listens before it spawns us, so refusals are brief (a restart).
CONNECT_TIMEOUT_SECONDS = 10.0
_RETRY_DELAYS = (0.05, 0.1, 0.2, 0.4, 0.8)


def _frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    size = len(payload)
    return _HEADER.pack(size >> 16, size & 0xFFFF, kind, flags, stream) + payload


def _failure(code: str, details: str) -> StreamClosedError:
    return StreamClosedError(f"the stream to the core failed: {code}: {details}")


class H2Call(asyncio.Protocol):
    """One HTTP/2 connection carrying the runner's ``Connect`` stream."""

    def __init__(self, method: str, authority: str, max_message_bytes: int) -> None:
        self._method = method.encode()
        self._authority = authority.encode()
        self.max_message_bytes = max_message_bytes
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()  # received bytes not yet parsed into frames
        self._message = bytearray()  # DATA payload not yet parsed into gRPC messages
        self._header_block = bytearray()  # a HEADERS block waiting for its CONTINUATIONs
        self._header_end_stream = False
        self._decoder = hpack.Decoder()
        self._got_headers = False
        self._inbox: collections.deque[pb.CoreFrame] = collections.deque()
        self._reader: asyncio.Future[None] | None = None
        self._ended = False  # the core's trailers said OK
        self._error: StreamClosedError | None = None
        self._write_closed = False
        # Flow control of what we send: the core's windows; of what we receive: bytes not yet credited back.
        self._send_connection = _DEFAULT_WINDOW
        self._send_stream = _DEFAULT_WINDOW
        self._peer_initial_window = _DEFAULT_WINDOW
        self._peer_max_frame = _OUR_MAX_FRAME
        self._unacknowledged = 0
        self._paused = False
        self._writable: asyncio.Future[None] | None = None

    # -- the surface the session uses -------------------------------------------------------------

    async def read(self) -> pb.CoreFrame | None:
        """The next ``CoreFrame``, or ``None`` once the core ended the stream with status OK."""
        while not self._inbox:
            if self._error is not None:
                raise self._error
            if self._ended:
                return None
            self._reader = asyncio.get_running_loop().create_future()
            await self._reader
        return self._inbox.popleft()

    async def write(self, message: bytes) -> None:
        """Send one serialized message, waiting for flow-control credit and the socket as needed."""
        if self._error is not None:
            raise self._error
        if self._write_closed:
            raise StreamClosedError("the stream to the core is already half-closed")
        if len(message) > self.max_message_bytes:
            raise _failure(
                "RESOURCE_EXHAUSTED",
                f"a message of {len(message)} bytes to the core is over the limit of {self.max_message_bytes}",
            )
        data = memoryview(b"\x00" + len(message).to_bytes(4, "big") + message)
        while data:
            size = min(len(data), self._send_connection, self._send_stream, self._peer_max_frame)
            if size <= 0 or self._paused:
                await self._wait_writable()
                continue
            assert self._transport is not None
            self._transport.write(_HEADER.pack(size >> 16, size & 0xFFFF, _DATA, 0, _STREAM) + data[:size])
            self._send_connection -= size
            self._send_stream -= size
            data = data[size:]

    async def done_writing(self) -> None:
        """Half-close: tell the core we send nothing more (an empty DATA frame ending the stream)."""
        if self._write_closed or self._error is not None or self._transport is None:
            return
        self._write_closed = True
        self._transport.write(_frame(_DATA, _END_STREAM, _STREAM))

    def cancel(self) -> None:
        """Abandon the stream (RST_STREAM CANCEL unless it ended) and close the connection."""
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        if not self._ended and self._error is None:
            transport.write(_frame(_RST_STREAM, 0, _STREAM, _CANCEL.to_bytes(4, "big")))
        self._fail(_failure("CANCELLED", "the runner cancelled the stream"))
        transport.close()

    # -- asyncio.Protocol -------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport, but have its methods.
        transport = cast(asyncio.Transport, transport)
        self._transport = transport
        settings = struct.pack(">HIHI", _SETTINGS_ENABLE_PUSH, 0, _SETTINGS_INITIAL_WINDOW, _RECEIVE_WINDOW)
        headers = hpack.Encoder().encode(
            [
                (b":method", b"POST"),
                (b":scheme", b"http"),
                (b":path", self._method),
                (b":authority", self._authority),
                (b"content-type", b"application/grpc"),
                (b"te", b"trailers"),
                (b"grpc-accept-encoding", b"identity"),
            ]
        )
        credit = (_RECEIVE_WINDOW - _DEFAULT_WINDOW).to_bytes(4, "big")  # the connection's window too
        transport.write(
            _PREFACE
            + _frame(_SETTINGS, 0, 0, settings)
            + _frame(_WINDOW_UPDATE, 0, 0, credit)
            + _frame(_HEADERS, _END_HEADERS, _STREAM, headers)
        )

    def connection_lost(self, exc: Exception | None) -> None:
        why = f": {exc}" if exc is not None else ""
        self._fail(_failure("UNAVAILABLE", f"the connection to the core closed{why}"))

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        self._wake_writer()

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        position, end, replies = 0, len(buffer), []
        try:
            while end - position >= 9:
                size = (buffer[position] << 16) | (buffer[position + 1] << 8) | buffer[position + 2]
                if size > _OUR_MAX_FRAME:
                    raise self._protocol_error(f"a frame of {size} bytes; the limit is {_OUR_MAX_FRAME}")
                if end - position < 9 + size:
                    break
                kind, flags = buffer[position + 3], buffer[position + 4]
                stream = int.from_bytes(buffer[position + 5 : position + 9], "big") & 0x7FFFFFFF
                start = position + 9
                position = start + size
                if kind == _DATA:
                    self._on_data(buffer, start, position, flags, stream)
                elif kind == _WINDOW_UPDATE:
                    self._on_window_update(int.from_bytes(buffer[start : start + 4], "big") & 0x7FFFFFFF, stream)
                elif kind in (_HEADERS, _CONTINUATION):
                    self._on_headers(kind, buffer, start, position, flags)
                elif kind == _SETTINGS:
                    if not flags & _ACK:
                        self._on_settings(buffer, start, position)
                        replies.append(_frame(_SETTINGS, _ACK, 0))
                elif kind == _PING:
                    if not flags & _ACK:  # a keepalive: answer with the same 8 bytes
                        replies.append(_frame(_PING, _ACK, 0, bytes(buffer[start:position])))
                elif kind == _RST_STREAM and stream == _STREAM:
                    code = int.from_bytes(buffer[start : start + 4], "big")
                    self._fail(
                        _failure(
                            "UNAVAILABLE" if code != _CANCEL else "CANCELLED",
                            f"the core reset the stream (HTTP/2 error {code})",
                        )
                    )
                elif kind == _GOAWAY:
                    self._on_goaway(buffer, start, position)
                # PRIORITY, PUSH_PROMISE (disabled) and unknown kinds are ignored, as the protocol says.
        except StreamClosedError as error:
            self._fail(error)
            if self._transport is not None:
                self._transport.close()
            return
        del buffer[:position]
        if self._unacknowledged >= _RECEIVE_WINDOW // 2:
            credit = self._unacknowledged.to_bytes(4, "big")
            self._unacknowledged = 0
            replies.append(_frame(_WINDOW_UPDATE, 0, 0, credit) + _frame(_WINDOW_UPDATE, 0, _STREAM, credit))
        if replies and self._transport is not None:
            self._transport.write(b"".join(replies))

    # -- frames -----------------------------------------------------------------------------------

    def _on_data(self, buffer: bytearray, start: int, end: int, flags: int, stream: int) -> None:
        self._unacknowledged += end - start  # padding counts against the window too
        if stream != _STREAM:
            return
        if flags & _PADDED:
            end -= buffer[start]
            start += 1
        message = self._message
        message += buffer[start:end]
        while len(message) >= 5:
            length = int.from_bytes(message[1:5], "big")
            if message[0]:
                raise _failure("INTERNAL", "the core sent a compressed message; this runner accepts identity only")
            if length > self.max_message_bytes:
                raise _failure(
                    "RESOURCE_EXHAUSTED",
                    f"the core sent a message of {length} bytes; the limit is {self.max_message_bytes}",
                )
            if len(message) < 5 + length:
                break
            try:
                frame = pb.CoreFrame.FromString(bytes(message[5 : 5 + length]))
            except Exception as exc:  # upb's DecodeError
                raise _failure("INTERNAL", f"cannot parse the core's CoreFrame: {exc}") from None
            del message[: 5 + length]
            self._inbox.append(frame)
            self._wake_reader()
        if flags & _END_STREAM:
            raise _failure("INTERNAL", "the core ended the stream without trailers")

    def _on_window_update(self, increment: int, stream: int) -> None:
        if stream == 0:
            self._send_connection += increment
            if self._send_connection > _MAX_WINDOW:
                raise self._protocol_error("the core's connection window overflowed")
        elif stream == _STREAM:
            self._send_stream += increment
            if self._send_stream > _MAX_WINDOW:
                raise self._protocol_error("the core's stream window overflowed")
        self._wake_writer()

    def _on_settings(self, buffer: bytearray, start: int, end: int) -> None:
        for offset in range(start, end - 5, 6):
            key, value = struct.unpack_from(">HI", buffer, offset)
            if key == _SETTINGS_INITIAL_WINDOW:
                self._send_stream += value - self._peer_initial_window  # RFC 9113 6.9.2
                self._peer_initial_window = value
            elif key == _SETTINGS_MAX_FRAME:
                self._peer_max_frame = value
        self._wake_writer()

    def _on_headers(self, kind: int, buffer: bytearray, start: int, end: int, flags: int) -> None:
        if kind == _HEADERS:
            if flags & _PADDED:
                end -= buffer[start]
                start += 1
            if flags & _PRIORITY:
                start += 5
            self._header_block = bytearray()
            self._header_end_stream = bool(flags & _END_STREAM)
        self._header_block += buffer[start:end]
        if not flags & _END_HEADERS:
            return
        try:
            fields = dict(self._decoder.decode(bytes(self._header_block), raw=True))
        except hpack.HPACKError as exc:
            raise self._protocol_error(f"cannot decode the core's headers: {exc}") from None
        self._header_block = bytearray()
        if not self._got_headers:
            self._got_headers = True
            status = fields.get(b":status", b"")
            if status != b"200":
                raise _failure("UNAVAILABLE" if status != b"404" else "UNIMPLEMENTED", f"HTTP status {status.decode()}")
        if self._header_end_stream:  # the trailers (or a trailers-only answer)
            self._on_trailers(fields)

    def _on_trailers(self, fields: dict[bytes, bytes]) -> None:
        raw = fields.get(b"grpc-status")
        if raw is None:
            raise _failure("UNKNOWN", "the core ended the stream without a grpc-status")
        code = int(raw)
        if code == 0:
            self._ended = True
            self._wake_reader()
            return
        name = _STATUS_NAMES[code] if 0 <= code < len(_STATUS_NAMES) else str(code)
        raise _failure(name, urllib.parse.unquote(fields.get(b"grpc-message", b"").decode("utf-8", "replace")))

    def _on_goaway(self, buffer: bytearray, start: int, end: int) -> None:
        last_stream = int.from_bytes(buffer[start : start + 4], "big") & 0x7FFFFFFF
        code = int.from_bytes(buffer[start + 4 : start + 8], "big")
        if code != 0 or last_stream < _STREAM:
            debug = bytes(buffer[start + 8 : end]).decode("utf-8", "replace")
            raise _failure(
                "UNAVAILABLE", f"the core closed the connection (GOAWAY, HTTP/2 error {code}) {debug}".strip()
            )
        # A graceful GOAWAY that covers our stream: it may still finish; the connection ends after it.

    def _protocol_error(self, what: str) -> StreamClosedError:
        if self._transport is not None:
            self._transport.write(_frame(_GOAWAY, 0, 0, struct.pack(">II", 0, _PROTOCOL_ERROR)))
        return _failure("INTERNAL", f"HTTP/2 protocol error: {what}")

    # -- wake-ups ---------------------------------------------------------------------------------

    def _fail(self, error: StreamClosedError) -> None:
        if self._error is None and not self._ended:
            self._error = error
        self._wake_reader()
        self._wake_writer()

    def _wake_reader(self) -> None:
        reader = self._reader
        if reader is not None and not reader.done():
            reader.set_result(None)

    def _wake_writer(self) -> None:
        writable = self._writable
        if writable is not None and not writable.done():
            writable.set_result(None)

    async def _wait_writable(self) -> None:
        if self._error is not None:
            raise self._error
        self._writable = asyncio.get_running_loop().create_future()
        await self._writable
        if self._error is not None:
            raise self._error


async def open_call(
    address: str, method: str, max_message_bytes: int, timeout: float = CONNECT_TIMEOUT_SECONDS
) -> H2Call:
    """Connect to ``address`` (``unix:<path>``, ``unix://<path>`` or ``<host>:<port>``) and open ``method``'s
    stream, retrying refused connections until ``timeout``; raises :class:`StreamClosedError`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    attempt = 0
    while True:
        call = H2Call(method, "localhost", max_message_bytes)
        try:
            await asyncio.wait_for(_connect(loop, address, call), max(0.0, deadline - loop.time()))
            return call
        except OSError as exc:  # TimeoutError (wait_for) is one too
            delay = _RETRY_DELAYS[min(attempt, len(_RETRY_DELAYS) - 1)]
            if isinstance(exc, TimeoutError) or loop.time() + delay >= deadline:
                reason = "timed out" if isinstance(exc, TimeoutError) else str(exc)
                raise _failure("UNAVAILABLE", f"cannot connect to the core at {address}: {reason}") from None
            attempt += 1
            await asyncio.sleep(delay)


async def _connect(loop: asyncio.AbstractEventLoop, address: str, call: H2Call) -> Any:
    if address.startswith("unix:"):
        path = address[len("unix:") :]
        path = path[2:] if path.startswith("//") else path
        return await loop.create_unix_connection(lambda: call, path)
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise _failure("INVALID_ARGUMENT", f"{address!r} is not unix:<path> or <host>:<port>")
    return await loop.create_connection(lambda: call, host.strip("[]"), int(port))
