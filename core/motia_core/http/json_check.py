"""Is this JSON well formed? Answered without building the value, for big API bodies.

The core parses a JSON request body only to answer malformed JSON with a 400 (and to check a
bodySchema, which needs the value): the runner gets the bytes and builds its own value. orjson has
no validate-only mode, and building Python objects is most of its cost: 0.7 ms for a 1 MB string,
~45 ms for 1.4 MB of numbers and small objects, against 0.25 and ~5 ms for simdjson's validation
(pysimdjson's ``Parser.parse`` builds a tape in C++ and no Python object until one is asked for);
docs/performance.md "Large bodies".

Only a "well formed" from simdjson is trusted, and only where it agrees with orjson, whose verdict
(and error message) the core has always given: a document simdjson refuses, or one starting with a
UTF-8 byte order mark (which simdjson skips and orjson refuses), is handed back to orjson. Integers
beyond 64 bits are the known case simdjson refuses and orjson accepts; no case the other way round
is known (tests/test_bodies_validate.py checks the two against each other on a corpus of edge cases).
"""

from __future__ import annotations

import threading
from typing import Any

_BOM = b"\xef\xbb\xbf"
# A parser keeps buffers as large as the largest document it parsed: one kept per thread for bodies
# up to this size (the event loop's, mostly), a fresh one for bigger ones, so a 60 MB body does not
# stay resident in a parser afterwards.
KEEP_PARSER_UP_TO = 1024 * 1024

_local = threading.local()


def _new_parser() -> Any:
    # imported on first use: importing simdjson costs ~30 ms, which `serve`'s start must not pay
    import simdjson

    return simdjson.Parser()


def well_formed(raw: bytes) -> bool:
    """True when simdjson finds ``raw`` well-formed JSON that orjson accepts as well; False means
    "not known": the caller asks orjson, whose verdict stands."""
    if raw.startswith(_BOM):
        return False
    if len(raw) > KEEP_PARSER_UP_TO:
        parser = _new_parser()
    else:
        parser = getattr(_local, "parser", None)
        if parser is None:
            parser = _local.parser = _new_parser()
    try:
        # The document is dropped at once: a parser refuses a new parse while one of its documents
        # is still referenced.
        parser.parse(raw)
    except (ValueError, RuntimeError):  # malformed, invalid UTF-8 (a ValueError), big integers, ...
        return False
    return True
