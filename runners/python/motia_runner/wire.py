"""Hand-built protobuf framing for the outbox: a ``RunnerFrame`` assembled from envelopes that are
serialized once each, and large response bodies that never enter a protobuf message.

A ``RunnerFrame`` is ``repeated RunnerMessage messages = 1``: on the wire, for each envelope, the key
byte ``0x0a`` (field 1, length-delimited), the envelope's length as a varint, then its bytes. Building
that here lets each envelope be serialized exactly once (no ``ByteSize`` pass to size it, no copy
into a ``RunnerFrame`` message, no second serialization of the whole frame).

A large ``HttpResponse.body`` goes out as a *tail*: the envelope is serialized without the body, and
the bytes of ``RunnerMessage{result{completed{http_response{body}}}}`` holding only the body are
appended to it. Protobuf parsers merge repeated occurrences of a singular message field (oneof
members included), so the core decodes one envelope with the body in place; the body is copied once
(into the frame) instead of into upb, through upb's growing encode buffer and into the frame.
"""

from __future__ import annotations

from collections.abc import Sequence

# Keys (field number << 3 | wire type 2) of the fields on the path to HttpResponse.body.
_FRAME_MESSAGES = 0x0A  # RunnerFrame.messages = 1
_MESSAGE_RESULT = 0x1A  # RunnerMessage.result = 3
_RESULT_COMPLETED = 0x1A  # InvocationResult.completed = 3
_COMPLETED_HTTP_RESPONSE = 0x12  # Completed.http_response = 2
_HTTP_RESPONSE_BODY = 0x1A  # HttpResponse.body = 3

# From this size on a response body travels as a tail; below it, setting the field is cheaper.
TAIL_MIN_BYTES = 16 * 1024

Parts = Sequence["bytes | bytearray | memoryview"]


def varint(value: int) -> bytes:
    """``value`` (>= 0) as a protobuf base-128 varint."""
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(key: int, length: int) -> bytes:
    return bytes((key,)) + varint(length)


def body_tail(body_length: int) -> bytes:
    """The bytes that, followed by a body of ``body_length`` bytes and appended to a serialized
    ``RunnerMessage`` whose ``result.completed.http_response`` is set, put that body into it."""
    body_field = _field(_HTTP_RESPONSE_BODY, body_length)
    http_size = len(body_field) + body_length
    http_field = _field(_COMPLETED_HTTP_RESPONSE, http_size)
    completed_size = len(http_field) + http_size
    completed_field = _field(_RESULT_COMPLETED, completed_size)
    result_size = len(completed_field) + completed_size
    return _field(_MESSAGE_RESULT, result_size) + completed_field + http_field + body_field


# Most envelopes (results of small responses, calls, logs) are under 128 bytes: one lookup.
_SMALL_ENTRIES = tuple(bytes((_FRAME_MESSAGES, size)) for size in range(0x80))


def frame_entry(envelope_size: int) -> bytes:
    """The key and length that precede an envelope of ``envelope_size`` bytes inside a RunnerFrame."""
    if envelope_size < 0x80:
        return _SMALL_ENTRIES[envelope_size]
    return _field(_FRAME_MESSAGES, envelope_size)
