"""Import aiohttp without loading the system CA bundle twice (cold start, issue 15 item 4).

`aiohttp.connector` builds its two client TLS contexts at import, and each loads the system CA
bundle (`set_default_verify_paths`): ~60 ms of CPU apiece here (Debian's ca-certificates.crt,
OpenSSL 3 parses every certificate). A serving core makes no TLS client call to answer its first
request, so `import_aiohttp` lets the import build the contexts without their certificates and
loads them right before aiohttp first hands one out (`TCPConnector._get_ssl_context`, the only
reader of the two module globals in aiohttp 3.x). A client call therefore verifies exactly as
before; only the moment of loading moves. If aiohttp ever changes that shape, the contexts are
loaded at once: slower, never wrong.
"""

from __future__ import annotations

import functools
import ssl
import sys
import threading
from collections.abc import Callable
from typing import Any

# the module globals aiohttp.connector keeps its default client contexts in (aiohttp 3.x)
_GLOBALS = ("_SSL_CONTEXT_VERIFIED", "_SSL_CONTEXT_UNVERIFIED")


def import_aiohttp() -> bool:
    """Import aiohttp (and `aiohttp.web`); True if its default client contexts' CA loading was
    deferred to their first use, False if aiohttp was already imported or its shape is unknown."""
    if "aiohttp" in sys.modules:
        return False
    deferred: list[ssl.SSLContext] = []
    original = ssl.SSLContext.set_default_verify_paths
    importer = threading.get_ident()

    def record(self: ssl.SSLContext) -> None:
        # only this thread's calls during the import: another thread's context loads as usual
        if threading.get_ident() == importer:
            deferred.append(self)
        else:
            original(self)

    ssl.SSLContext.set_default_verify_paths = record  # type: ignore[method-assign]
    try:
        import aiohttp.web  # noqa: F401  (the serving half; its package __init__ imports the client)
    finally:
        ssl.SSLContext.set_default_verify_paths = original  # type: ignore[method-assign]
    return _load_at_first_use(deferred)


def _load_at_first_use(deferred: list[ssl.SSLContext]) -> bool:
    from aiohttp import connector

    getter = getattr(connector.TCPConnector, "_get_ssl_context", None)
    known = {id(getattr(connector, name, None)) for name in _GLOBALS}
    if getter is None or not deferred or {id(c) for c in deferred} != known:
        for ctx in deferred:  # an aiohttp we do not know: load now, as its import would have
            ssl.SSLContext.set_default_verify_paths(ctx)
        return False
    lock = threading.Lock()
    pending = list(deferred)

    def load() -> None:
        with lock:
            while pending:
                ssl.SSLContext.set_default_verify_paths(pending.pop())

    @functools.wraps(getter)
    def get_ssl_context(self: Any, req: Any) -> Any:
        if pending:
            load()
        return getter(self, req)

    connector.TCPConnector._get_ssl_context = get_ssl_context  # type: ignore[method-assign]
    _loaders.append(load)
    return True


# the loaders of the contexts deferred so far (tests call them; so may a caller that wants them loaded)
_loaders: list[Callable[[], None]] = []


def load_deferred() -> None:
    """Load every deferred context's certificates now."""
    for load in _loaders:
        load()
