"""Size and shape limits on what enters the core, in one place.

Every value that reaches a runner travels inside one gRPC message, and gRPC refuses (and the
stream dies on) a message above ``MAX_MESSAGE_BYTES``. So the edges refuse anything that could
not fit, with an error that says what and by how much, long before a frame is built:

* ``MAX_PAYLOAD_BYTES``: the largest JSON value one message may carry (event data, a state or
  stream value, an API request as the handler sees it); the rest of the message (ids, topic,
  trace, flows) fits in ``ENVELOPE_ALLOWANCE_BYTES``.
* ``FRAME_BUDGET_BYTES``: the core packs several messages into one frame up to this size (below
  the gRPC limit by less than the envelope allowance, so any legal message fits on its own).
* ``MAX_JSON_DEPTH``: one nesting limit for every language. Ruby's JSON refuses more than 100
  levels by default, Python and Node have their own recursion limits, orjson stops at 1024; a
  value deeper than this is refused where it enters (400 for HTTP, INVALID_ARGUMENT for a call)
  so no runner meets one.
"""

from __future__ import annotations

import re
from itertools import accumulate

from motia_core.errors import CallFailed

MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # Welcome.max_message_bytes; the runners cap theirs at the same value
ENVELOPE_ALLOWANCE_BYTES = 64 * 1024
MAX_PAYLOAD_BYTES = MAX_MESSAGE_BYTES - ENVELOPE_ALLOWANCE_BYTES
FRAME_BUDGET_BYTES = MAX_MESSAGE_BYTES - 16 * 1024
MAX_JSON_DEPTH = 100

_OPEN, _CLOSE = frozenset(b"[{"), frozenset(b"]}")
# +1 for an opening bracket, -1 for a closing one; every other byte was deleted before the scan
_STEP = [1 if b in _OPEN else -1 if b in _CLOSE else 0 for b in range(256)]
_NOT_BRACKET = bytes(b for b in range(256) if b not in _OPEN and b not in _CLOSE)
_NOT_BRACKET_OR_QUOTE = bytes(b for b in range(256) if b not in _OPEN and b not in _CLOSE and b != 0x22)
_SQUARE = bytes.maketrans(b"{}", b"[]")
_QUOTED = re.compile(rb'"[^"]*"')


def mib(n: int) -> str:
    """A byte count as a person reads it: '64 MiB', '1.5 MiB', '512 KiB'."""
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.4g} MiB"
    if n >= 1024:
        return f"{n / 1024:.4g} KiB"
    return f"{n} bytes"


def json_depth_exceeds(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when the JSON text ``raw`` nests deeper than ``limit``.

    The common case costs two C-speed ``count`` calls: a text with no more than ``limit``
    brackets cannot nest deeper. Otherwise the brackets outside strings are kept, and innermost
    pairs are removed pass by pass (each pass lowers every branch by one level, at C speed); a
    text that empties within ``limit`` passes is shallow enough. Only a deep (or malformed) text
    pays for the exact scan.
    """
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    brackets = _brackets_outside_strings(raw).translate(_SQUARE)
    if b"[" * (limit + 1) in brackets:
        return True  # a run of opening brackets deeper than the limit: the usual attack, found at C speed
    rest = brackets
    for _ in range(limit):
        shorter = rest.replace(b"[]", b"")
        if not shorter:
            return False
        if len(shorter) == len(rest):
            break  # unbalanced: let the exact scan decide
        rest = shorter
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0) > limit


def _brackets_outside_strings(raw: bytes) -> bytes:
    """The brackets of ``raw`` that are not inside a JSON string, in order, and nothing else."""
    if b'"' not in raw:
        return raw.translate(None, _NOT_BRACKET)
    if b"\\\\" in raw:
        raw = raw.replace(b"\\\\", b"")  # escaped backslashes first: then every \" left is an escaped quote
    if b'\\"' in raw:
        raw = raw.replace(b'\\"', b"")
    # Only quotes and brackets remain; quotes alternate open/close. Dropping an adjacent pair of
    # quotes drops a bracket-free string (or joins two strings with nothing between them), so it
    # never loses a bracket outside a string; the few strings that hold brackets go by regex.
    kept = raw.translate(None, _NOT_BRACKET_OR_QUOTE).replace(b'""', b"")
    if b'"' in kept:
        kept = _QUOTED.sub(b"", kept).replace(b'"', b"")  # a stray quote: malformed, orjson says so
    return kept


def depth_message(what: str) -> str:
    return (
        f"{what} nests deeper than {MAX_JSON_DEPTH} levels of arrays/objects; "
        f"the limit is {MAX_JSON_DEPTH} (the same for every runner language)"
    )


def size_message(what: str, size: int, limit: int = MAX_PAYLOAD_BYTES) -> str:
    return (
        f"{what} is {size} bytes ({mib(size)}); the limit is {limit} ({mib(limit)}: one runner message "
        f"of {mib(MAX_MESSAGE_BYTES)} less {mib(ENVELOPE_ALLOWANCE_BYTES)} for its envelope)"
    )


def check_value(value_json: bytes, what: str) -> None:
    """Refuse a JSON value that could not reach a runner: too large for one message, or too deep.

    Raises CallFailed CODE_INVALID_ARGUMENT naming ``what``, its size and the limit.
    """
    if len(value_json) > MAX_PAYLOAD_BYTES:
        raise CallFailed("CODE_INVALID_ARGUMENT", size_message(what, len(value_json)))
    if json_depth_exceeds(value_json):
        raise CallFailed("CODE_INVALID_ARGUMENT", depth_message(what))
