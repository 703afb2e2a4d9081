"""One way to connect to Redis for every Redis-backed piece (queue, state, stream items, fan-out, cron
lock), and to keep its faults loud (docs/adapters.md#redis).

- One `redis.asyncio.Redis` client (a blocking connection pool, hiredis parser when installed) shared by all
  pieces of one core: socket timeouts so a Redis that stops answering fails a call instead of hanging
  it, `health_check_interval` so an idle connection is PINGed before reuse, and redis-py's `Retry`
  with `ExponentialBackoff` so a dropped connection is retried a few times (about 0.75 s in all)
  before a call fails;
- `check()` at startup: a Redis that is down or refuses us is a `StorageError` naming the URL
  within `CONNECT_WAIT` seconds, not a hang;
- `translate()` while running: any `RedisError` becomes `StorageUnavailable` (CODE_UNAVAILABLE to a
  runner, HTTP 503 to POST /emit), logged at most once a minute per message;
- URLs in messages have their password masked.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from motia_core.errors import StorageError, StorageUnavailable
from motia_core.logs import Logger

if TYPE_CHECKING:
    import redis.asyncio

CONNECT_WAIT = 10.0  # seconds `check()` waits for Redis at startup before it gives up
SOCKET_TIMEOUT = 5.0  # seconds one command may wait for its reply
CONNECT_TIMEOUT = 2.0  # seconds to open one connection
HEALTH_CHECK_INTERVAL = 15  # seconds a pooled connection may sit idle before it is PINGed on reuse
MAX_CONNECTIONS = 128  # per core, shared by every Redis piece (blocking reads hold one each)
POOL_WAIT = 10.0  # seconds a call waits for a free pooled connection before it fails
RETRIES = 4  # reconnect attempts of one command, backoff 0.05 s doubling, capped at 0.5 s
REPEAT_LOG_AFTER = 60.0  # seconds before the same failure is logged again
_PREFIX_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")


def connect(url: str) -> redis.asyncio.Redis:
    """A client for `url` (redis://, rediss://, unix://). Connects lazily: call `check()` next."""
    import redis.asyncio
    from redis.asyncio.retry import Retry
    from redis.backoff import ExponentialBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    try:
        # a blocking pool: past MAX_CONNECTIONS, a call waits for a free connection (up to
        # POOL_WAIT) instead of failing at once with "Too many connections"
        pool = _pool_class().from_url(
            url,
            max_connections=MAX_CONNECTIONS,
            timeout=POOL_WAIT,
            socket_timeout=SOCKET_TIMEOUT,
            socket_connect_timeout=CONNECT_TIMEOUT,
            health_check_interval=HEALTH_CHECK_INTERVAL,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), RETRIES),
            retry_on_error=[RedisConnectionError, RedisTimeoutError],
        )
        _pack_in_c(pool)
        client = redis.asyncio.Redis(connection_pool=pool)
        client.auto_close_connection_pool = True  # aclose() closes the pool too
        return client
    except ValueError as exc:  # not a redis URL
        raise StorageError(
            f"--redis {mask(url)} is not a Redis URL ({exc}); expected e.g. redis://localhost:6379/0"
        ) from exc


@functools.cache
def _pool_class() -> type[redis.asyncio.BlockingConnectionPool]:
    """A blocking pool that also closes the lean connections (redis_wire.Wire) made from it when it is
    disconnected (the client's aclose()), so a piece that did not close its own leaves no socket open."""
    import weakref

    import redis.asyncio

    class Pool(redis.asyncio.BlockingConnectionPool):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.motia_wires: weakref.WeakSet[Any] = weakref.WeakSet()  # redis_wire.Wire adds itself

        async def disconnect(self, inuse_connections: bool = True) -> None:
            for wire in list(self.motia_wires):
                await wire.close()
            await super().disconnect(inuse_connections)

    return Pool


def _pack_in_c(pool: redis.asyncio.ConnectionPool) -> None:
    """Make the pool's connections pack commands with one hiredis call. redis-py's own hiredis
    packer first runs every argument through a Python generator and its Encoder (about 1.5 µs an
    argument), which made packing the batched queue scripts and trace writes about a seventh of the
    core's time under a chain load (py-spy); hiredis packs str (UTF-8, as the Encoder does), bytes,
    int and float (its repr, as the Encoder does) itself. Anything else (a bool, None: a DataError)
    goes to redis-py's packer, which raises as before. Without hiredis nothing changes."""
    try:
        import hiredis
    except ImportError:
        return
    base = pool.connection_class

    def pack_command(self: Any, *args: Any) -> list[bytes]:
        head = args[0]
        # a command name with literal arguments ('CLIENT UNBLOCK'): sent as separate words
        if isinstance(head, str):
            if " " in head:
                args = (*head.split(), *args[1:])
        elif isinstance(head, bytes) and b" " in head:
            args = (*head.split(), *args[1:])
        try:
            return [hiredis.pack_command(args)]
        except TypeError:  # a type hiredis does not pack: redis-py's packer, and its DataError
            return base.pack_command(self, *args)

    pool.connection_class = type(f"Packed{base.__name__}", (base,), {"pack_command": pack_command})


async def check(client: redis.asyncio.Redis, url: str, wait: float = CONNECT_WAIT) -> None:
    """PING until Redis answers or `wait` seconds pass; then a StorageError naming the URL."""
    from redis.exceptions import AuthenticationError, RedisError, ResponseError

    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    last: Exception | None = None
    while True:
        try:
            await asyncio.wait_for(client.ping(), max(0.1, deadline - loop.time()))
            return
        except (AuthenticationError, ResponseError) as exc:  # answered, but refuses us: waiting will not help
            raise StorageError(f"Redis at {mask(url)} refused the connection: {exc}") from exc
        except (RedisError, OSError, TimeoutError) as exc:
            last = exc
        if loop.time() >= deadline:
            break
        await asyncio.sleep(min(0.5, max(0.0, deadline - loop.time())))
    raise StorageError(
        f"cannot reach Redis at {mask(url)} within {wait:g}s ({last or 'no answer'}): "
        "is redis-server running and is the URL right (--redis / MOTIA_REDIS_URL)?"
    )


class Faults:
    """Translates Redis errors into StorageUnavailable and logs each distinct one at most once a minute."""

    def __init__(self, url: str, what: str, logger: Logger | None) -> None:
        self.where = f"Redis at {mask(url)}"
        self._what = what  # "state", "stream items"...: goes into the message
        self._logger = logger
        self._logged: dict[str, float] = {}

    @contextlib.contextmanager
    def translate(self) -> Iterator[None]:
        from redis.exceptions import RedisError

        try:
            yield
        except RedisError as exc:
            raise self.failed(exc) from exc

    def failed(self, exc: Exception) -> StorageUnavailable:
        message = f"{self.where} failed a {self._what} call: {type(exc).__name__}: {exc}"
        now = time.monotonic()
        if now - self._logged.get(message, -REPEAT_LOG_AFTER) >= REPEAT_LOG_AFTER:
            if len(self._logged) > 64:
                self._logged.clear()
            self._logged[message] = now
            if self._logger is not None:
                self._logger.error(message)
        return StorageUnavailable(message)


def mask(url: str) -> str:
    """redis://user:secret@host:6379/0 -> redis://user:***@host:6379/0 (never log a password)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def default_prefix(project_name: str) -> str:
    """A key prefix from the project folder's name: letters, digits, '_', '.', '-' kept, the rest
    folded to '-' ('My App!' -> 'my-app'), 'motia' when nothing is left. Never '{', '}' or ':',
    which would break the hash tags or the key layout."""
    cleaned = _PREFIX_CHARS.sub("-", project_name.lower()).strip("-.")
    return cleaned[:64] or "motia"


def validate_prefix(prefix: str) -> str:
    if not prefix or _PREFIX_CHARS.search(prefix):
        raise StorageError(
            f"--redis-prefix {prefix!r} is not usable: use letters, digits, '_', '.' or '-' "
            "(no ':', '{' or '}', which shape the key layout)"
        )
    return prefix
