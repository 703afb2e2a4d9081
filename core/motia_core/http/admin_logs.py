"""GET /__motia/logs: the kept log lines, newest first, filtered and paged (docs/observability.md).

Its one dependency is the LogStorage (logstore.py), passed in: this module knows nothing of the core."""

from __future__ import annotations

from aiohttp import web

from motia_core.errors import StorageUnavailable
from motia_core.http.common import admin_json_response as json_response
from motia_core.http.guard import AdminGuard
from motia_core.http.system import bad_parameter, id_parameter, query_limit
from motia_core.logs import Level
from motia_core.logstore import LogQuery, LogStorage

MAX_TEXT_CHARS = 256  # longest `q` a query may carry
MAX_TIME_MS = 10**15  # far beyond any clock: refuses nonsense before it reaches SQLite's integers


def time_parameter(request: web.Request, name: str) -> int | None | web.Response:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    if not (raw.isascii() and raw.isdigit() and int(raw) <= MAX_TIME_MS):
        return bad_parameter(name, raw, "a time in Unix milliseconds")
    return int(raw)


def parse_log_query(request: web.Request) -> LogQuery | web.Response:
    """The query's parameters, each validated (400 naming it)."""
    limit = query_limit(request)
    if isinstance(limit, web.Response):
        return limit
    level: Level | None = None
    raw_level = request.query.get("level")
    if raw_level:
        try:
            level = Level.parse(raw_level)
        except ValueError:
            return bad_parameter("level", raw_level, "debug, info, warn or error (the lowest level shown)")
    ids: dict[str, str | None] = {}
    for name in ("step", "traceId", "before"):
        value = id_parameter(name, request.query.get(name))
        if isinstance(value, web.Response):
            return value
        ids[name] = value
    before = ids["before"]
    if before is not None and not _cursor(before):
        return bad_parameter("before", before, "the `next` of a previous page")
    text = request.query.get("q") or None
    if text is not None and (len(text) > MAX_TEXT_CHARS or "\x00" in text):
        return bad_parameter("q", text, f"a text of at most {MAX_TEXT_CHARS} characters, without NUL")
    since = time_parameter(request, "since")
    if isinstance(since, web.Response):
        return since
    until = time_parameter(request, "until")
    if isinstance(until, web.Response):
        return until
    return LogQuery(limit, level, ids["step"], ids["traceId"], text, since, until, before)


def _cursor(value: str) -> bool:
    """A log id: a number (SQLite) or a Redis stream entry id (`ms-seq`)."""
    head, _, tail = value.partition("-")
    return head.isascii() and head.isdigit() and (not tail or (tail.isascii() and tail.isdigit()))


def add_log_routes(app: web.Application, guard: AdminGuard, storage: LogStorage) -> None:
    async def logs(request: web.Request) -> web.Response:
        query = parse_log_query(request)
        if isinstance(query, web.Response):
            return query
        try:
            page = await storage.query(query)
        except StorageUnavailable as exc:
            return json_response(503, {"error": "Service unavailable", "message": str(exc)})
        return json_response(200, {"logs": page.logs, "next": page.next})

    app.router.add_get("/__motia/logs", guard.wrap(logs))
