"""Logs on Redis: one capped stream shared by every instance, `{P:logs}:s` (P = the prefix), so
GET /__motia/logs on any instance shows every instance's lines (docs/observability.md).

Each line is a stream entry (fields t, l, m, s, tr, la, so, f: time ms, level, message, step, trace
id, language, source, fields JSON); its entry id is the line's id and the paging cursor. A batch is
one pipeline of XADD with `MAXLEN ~ max_lines` (the count bound, trimmed by whole radix nodes, so a
stream may briefly hold a little more); the age bound is an `XTRIM MINID ~` at most once a minute.

A query walks the stream newest first (XREVRANGE, in chunks) and filters each entry here: Redis has
no secondary index to ask. One query reads at most `scan` entries; when that budget runs out before
the page is full, the page is returned as it is with `next` set to where the walk stopped, so a
client keeps paging (a page may then hold fewer than `limit` lines). Faults are StorageUnavailable.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson

from motia_core.logs import Level, LogRecord
from motia_core.logstore import LogDoc, LogPage, LogQuery, LogRetention, fields_json, log_doc
from motia_core.redis_conn import Faults

if TYPE_CHECKING:
    import redis.asyncio

SCAN_BUDGET = 20_000  # entries one query reads at most
_CHUNK = 500  # entries per XREVRANGE
_TRIM_EVERY = 60.0  # seconds between two age trims


class RedisLogStorage:
    def __init__(
        self, client: redis.asyncio.Redis, prefix: str, url: str = "", retention: LogRetention | None = None
    ) -> None:
        self.retention = retention or LogRetention()
        self.key = f"{{{prefix}:logs}}:s"
        self.scan = SCAN_BUDGET
        self._r = client
        self._faults = Faults(url or "(client)", "logs", None)
        self._trimmed_at = 0.0

    async def append(self, records: Sequence[LogRecord]) -> list[str]:
        with self._faults.translate():
            async with self._r.pipeline(transaction=False) as pipe:
                for r in records:
                    entry: dict[Any, Any] = {"t": int(r.time * 1000), "l": int(r.level), "m": r.message, "so": r.source}
                    for name, value in (("s", r.step), ("tr", r.trace_id), ("la", r.language)):
                        if value:
                            entry[name] = value
                    extra = fields_json(r)
                    if extra is not None:
                        entry["f"] = extra
                    pipe.xadd(self.key, entry, maxlen=self.retention.max_lines, approximate=True)
                now = time.monotonic()
                if now - self._trimmed_at >= _TRIM_EVERY:
                    self._trimmed_at = now
                    oldest = int((time.time() - self.retention.max_age) * 1000)
                    pipe.xtrim(self.key, minid=str(oldest), approximate=True)
                ids = await pipe.execute()
        return [_text(i) for i in ids[: len(records)]]  # a trim's reply may follow the XADDs

    async def query(self, query: LogQuery) -> LogPage:
        found: list[LogDoc] = []
        upper = f"({query.before}" if query.before else "+"
        if query.until is not None and not query.before:
            upper = f"{query.until + 60_000}"  # entry ids are arrival times: a minute of slack for late lines
        read = 0
        with self._faults.translate():
            while read < self.scan:
                chunk = await self._r.xrevrange(self.key, max=upper, min="-", count=min(_CHUNK, self.scan - read))
                if not chunk:
                    return LogPage(found, None)
                read += len(chunk)
                for entry_id, fields in chunk:
                    doc = _doc(_text(entry_id), fields or {})
                    if _matches(doc, query):
                        found.append(doc)
                        if len(found) > query.limit:
                            return LogPage(found[: query.limit], found[query.limit - 1]["id"])
                last = _text(chunk[-1][0])
                if query.since is not None and int(last.split("-")[0]) < query.since - 60_000:
                    return LogPage(found, None)  # older than the range (with slack): nothing more matches
                upper = f"({last}"
        return LogPage(found, upper[1:])  # the budget ran out: the client goes on from here

    async def close(self) -> None:
        pass


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _doc(entry_id: str, fields: dict[Any, Any]) -> LogDoc:
    def get(name: bytes) -> str | None:
        value = fields.get(name)
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else None

    raw = fields.get(b"f")
    record = LogRecord(
        Level(int(get(b"l") or Level.INFO)),
        get(b"m") or "",
        get(b"s"),
        get(b"tr"),
        get(b"la"),
        get(b"so") or "core",
        orjson.loads(raw) if isinstance(raw, bytes) and raw else {},
    )
    doc = log_doc(entry_id, record)
    doc["time"] = int(get(b"t") or 0)
    return doc


def _matches(doc: LogDoc, q: LogQuery) -> bool:
    if q.level is not None and Level[doc["level"].upper()] < q.level:
        return False
    if q.step is not None and doc.get("step") != q.step:
        return False
    if q.trace_id is not None and doc.get("traceId") != q.trace_id:
        return False
    if q.text and q.text.lower() not in doc["message"].lower():
        return False
    if q.since is not None and doc["time"] < q.since:
        return False
    return not (q.until is not None and doc["time"] > q.until)
