"""Traces on Redis: every instance's spans in one place, so /__motia/traces on any instance shows
every trace, including a chain whose steps ran on several instances (docs/adapters.md#traces).

Key layout, P = the prefix, T = a trace id:

    {P:trace:T}:h     hash    span id -> the span's JSON (its latest version); and the trace's own
                              fields, which start with '#' (never a span id's first character):
                              #name, #start (ms), #root ("1": #name is the entry's), #dropped,
                              #dropped_failed, #d:<step> (spans dropped to keep the trace bounded)
    {P:trace:T}:o     zset    span id -> start (ms): the order of the trace's spans
    {P:traces}:ids    zset    trace id -> start (ms): the index, newest last

A trace's two keys share a hash tag (one Cluster slot) and change in one Lua script per flush, so a
span and its place in the order are never seen apart; the script costs a handful of commands
whatever the number of spans (one ZADD and one HSET for all of them). Bounds: the index is trimmed
to `capacity` traces (the oldest go, keys and all); a trace keeps its first SPAN_HEAD spans and its
newest MAX_SPANS - SPAN_HEAD, the others summarized as in memory; every write renews a `ttl` on the
trace's keys, so a trace nobody touches for that long disappears even if the index is never trimmed
(the index entry is removed when a listing meets it).

Writes come from a TraceRecorder, one pipeline per flush, on a lean connection of their own
(redis_wire.Wire: no redis-py call path, about a fifth of its CPU per round trip). Faults are
StorageUnavailable; they are not logged here: the recorder counts and logs dropped batches, and a
read answers 503 with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

import orjson

from motia_core.redis_conn import Faults
from motia_core.redis_wire import Wire
from motia_core.tracing import MAX_SPANS, SPAN_HEAD, Dropped, TraceDoc, trace_json
from motia_core.tracing_storage import TraceChange, TraceFilter, TracePage

if TYPE_CHECKING:
    import redis.asyncio

TRACE_TTL = 24 * 3600  # seconds a trace lives after its last write
CAPACITY = 2000  # traces the index holds
_PAGE_ROUNDS = 10  # index reads one listing makes at most while skipping traces that expired
SCAN_BUDGET = 1000  # traces one filtered listing reads at most before it answers a short page
_FILTER_CHUNK = 100  # traces a filtered listing reads per round trip
_WATCH_POLL = 1.0  # seconds one wait for a publication lasts (below the client's socket timeout)
_WATCH_RETRY = 1.0  # seconds between two attempts to subscribe again after Redis failed
_SPANS_PER_CALL = 500  # spans of one trace per script call (a bigger batch takes several)

# KEYS: hash, order. ARGV: ttl, head, max, name, start (ms), root (0/1), then per span: id, start
# (ms), JSON, known (0/1). The earliest start wins; the entry's name (root) wins over a guess from an
# instance that only saw a later span, and the earliest guess over later ones. At most
# _SPANS_PER_CALL spans per call, so every unpack() stays far below Lua's limit.
_RECORD = """
local h, order = KEYS[1], KEYS[2]
local head, max = tonumber(ARGV[2]), tonumber(ARGV[3])
local cur = redis.call('HMGET', h, '#start', '#root')
if not cur[1] or tonumber(ARGV[5]) < tonumber(cur[1]) then
  redis.call('HSET', h, '#start', ARGV[5])
  if cur[2] ~= '1' and ARGV[6] ~= '1' then redis.call('HSET', h, '#name', ARGV[4]) end
end
if ARGV[6] == '1' and cur[2] ~= '1' then redis.call('HSET', h, '#name', ARGV[4], '#root', '1') end
local scored, fields, known = {}, {}, {}
for i = 7, #ARGV, 4 do
  if ARGV[i + 3] == '1' then
    known[#known + 1] = i
  else
    scored[#scored + 1] = ARGV[i + 1]
    scored[#scored + 1] = ARGV[i]
    fields[#fields + 1] = ARGV[i]
    fields[#fields + 1] = ARGV[i + 2]
  end
end
if #known > 0 then
  -- an update of a span no longer held (dropped to keep the trace bounded) does not bring it back
  local ids = {}
  for n, i in ipairs(known) do ids[n] = ARGV[i] end
  local held = redis.call('ZMSCORE', order, unpack(ids))
  for n, i in ipairs(known) do
    if held[n] then
      fields[#fields + 1] = ARGV[i]
      fields[#fields + 1] = ARGV[i + 2]
    end
  end
end
local added = 0
if #scored > 0 then added = redis.call('ZADD', order, 'NX', unpack(scored)) end
if #fields > 0 then redis.call('HSET', h, unpack(fields)) end
local over = added > 0 and redis.call('ZCARD', order) - max or 0
if over > 0 then  -- keep the first `head` and the newest: drop the oldest past the head
  local victims = redis.call('ZRANGE', order, head, head + over - 1)
  local failed, steps = 0, {}
  for _, doc in ipairs(redis.call('HMGET', h, unpack(victims))) do
    if doc then
      local span = cjson.decode(doc)
      local step = tostring(span['step'])
      steps[step] = (steps[step] or 0) + 1
      if span['status'] == 'failed' then failed = failed + 1 end
    end
  end
  for step, count in pairs(steps) do redis.call('HINCRBY', h, '#d:' .. step, count) end
  redis.call('HINCRBY', h, '#dropped', over)
  if failed > 0 then redis.call('HINCRBY', h, '#dropped_failed', failed) end
  redis.call('HDEL', h, unpack(victims))
  redis.call('ZREMRANGEBYRANK', order, head, head + over - 1)
end
redis.call('EXPIRE', h, ARGV[1])
redis.call('EXPIRE', order, ARGV[1])
return 1
"""
# KEYS: index. ARGV: capacity, then start (ms), trace id pairs. Returns the ids trimmed off (oldest).
_INDEX = """
for i = 2, #ARGV, 2 do redis.call('ZADD', KEYS[1], 'LT', ARGV[i], ARGV[i + 1]) end
local over = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[1])
if over <= 0 then return {} end
local gone = redis.call('ZRANGE', KEYS[1], 0, over - 1)
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, over - 1)
return gone
"""
# KEYS: index. ARGV: count, before ('' for the newest), until (ms, '' for none). Trace ids and their
# start (ms) flattened, newest first: the `count` after `before` that started at or before `until`
# (an index entry's score is the exact start, so "at or before ms U" is "score below U + 1").
_PAGE = """
local from = 0
if ARGV[2] ~= '' then
  local rank = redis.call('ZREVRANK', KEYS[1], ARGV[2])
  if not rank then return {} end
  from = rank + 1
end
if ARGV[3] ~= '' then
  local newer = redis.call('ZCOUNT', KEYS[1], tonumber(ARGV[3]) + 1, '+inf')
  if newer > from then from = newer end
end
return redis.call('ZREVRANGE', KEYS[1], from, from + tonumber(ARGV[1]) - 1, 'WITHSCORES')
"""


class RedisTraceStorage:
    def __init__(
        self,
        client: redis.asyncio.Redis,
        prefix: str,
        url: str = "",
        capacity: int = CAPACITY,
        ttl: int = TRACE_TTL,
        scan_budget: int = SCAN_BUDGET,
    ) -> None:
        self.prefix = prefix
        self.scan_budget = scan_budget
        self.capacity = capacity
        self.ttl = ttl
        self._r = client
        self._wire = Wire(client)  # the flushes' own connection (one flush at a time)
        self._faults = Faults(url or "(client)", "traces", None)
        self._index = f"{{{prefix}:traces}}:ids"
        self.channel = f"{{{prefix}:traces}}:live"  # pub/sub: the trace ids each flush changed
        self.instance = os.urandom(8).hex()  # tells this core's own publications from the others'
        self._record = client.register_script(_RECORD)
        self._index_script = client.register_script(_INDEX)
        self._page = client.register_script(_PAGE)

    def _keys(self, trace_id: str) -> list[str]:
        tag = f"{{{self.prefix}:trace:{trace_id}}}"
        return [f"{tag}:h", f"{tag}:o"]

    async def record(self, changes: Sequence[TraceChange]) -> None:
        """One pipeline: a script per trace, then the index (whose trim may need a second one)."""
        if not changes:
            return
        from redis.exceptions import NoScriptError

        with self._faults.translate():
            try:
                gone = await self._write(changes)
            except NoScriptError:  # a restarted Redis lost its script cache; every write is idempotent
                for script in (self._record, self._index_script):
                    script.sha = await self._wire.call("SCRIPT", "LOAD", script.script)
                gone = await self._write(changes)
            if gone:
                await self._r.delete(*(k for t in gone for k in self._keys(cast(bytes, t).decode())))

    async def _write(self, changes: Sequence[TraceChange]) -> list[Any]:
        index_args: list[Any] = [self.capacity]
        commands: list[list[Any]] = []
        for c in changes:
            keys = self._keys(c.trace_id)
            meta: list[Any] = [self.ttl, SPAN_HEAD, MAX_SPANS, c.name, repr(c.start * 1000), int(c.root)]
            for first in range(0, max(1, len(c.spans)), _SPANS_PER_CALL):
                args = ["EVALSHA", self._record.sha, len(keys), *keys, *meta]
                for s in c.spans[first : first + _SPANS_PER_CALL]:
                    args += [s.span_id, repr(s.start * 1000), s.doc, int(s.known)]
                commands.append(args)
            index_args += [repr(c.start * 1000), c.trace_id]
        commands.append(["EVALSHA", self._index_script.sha, 1, self._index, *index_args])
        # the live sockets re-read these traces when other instances touched them (watch())
        commands.append(
            ["PUBLISH", self.channel, orjson.dumps({"i": self.instance, "t": [c.trace_id for c in changes]})]
        )
        replies = await self._wire.pipeline(commands)
        return cast(list[Any], replies[-2])

    async def list_traces(self, limit: int, before: str | None = None, where: TraceFilter | None = None) -> TracePage:
        """Walks the index newest first from `before`, reading the traces in chunks. Unfiltered, a
        chunk is the page (more rounds only to replace expired traces). Filtered, `since`/`until` bound
        the walk through the index's scores and the rest is tested on each trace read, at most
        `scan_budget` of them: when the budget runs out first, the page is short and `next` is the last
        trace examined, where the next request goes on."""
        where = None if where is None or where.empty else where
        found: list[TraceDoc] = []
        cursor = before or ""
        until = "" if where is None or where.until is None else str(where.until)
        since = None if where is None else where.since
        chunk = limit if where is None else max(limit, _FILTER_CHUNK)
        examined = 0
        with self._faults.translate():
            for _ in range(_PAGE_ROUNDS if where is None else self.scan_budget // chunk + 1):
                reply = await self._page(keys=[self._index], args=[chunk, cursor, until])
                scored = [(cast(bytes, reply[n]).decode(), float(reply[n + 1])) for n in range(0, len(reply), 2)]
                ended = len(scored) < chunk  # the index has nothing older
                if since is not None and any(score < since for _, score in scored):
                    scored = [(i, score) for i, score in scored if score >= since]
                    ended = True  # the rest started before `since`
                if where is not None and len(scored) > self.scan_budget - examined:
                    scored, ended = scored[: self.scan_budget - examined], False  # the budget ends first
                ids = [i for i, _ in scored]
                if not ids:
                    break
                docs = await self._read(ids)
                examined += len(ids)
                expired = [i for i, d in zip(ids, docs, strict=True) if d is None]
                if expired:  # its keys' TTL ran out: forget the index entry too
                    await self._r.zrem(self._index, *expired)
                for trace_id, doc in zip(ids, docs, strict=True):
                    if doc is not None and (where is None or where.matches(doc)):
                        found.append(doc)
                        if len(found) == limit:
                            return TracePage(found, trace_id)
                    cursor = trace_id if doc is not None else cursor  # expired ones left the index
                if ended:
                    break
                if where is not None and examined >= self.scan_budget:
                    return TracePage(found, cursor)  # short, with where to go on
        return TracePage(found, None)

    async def get_trace(self, trace_id: str) -> TraceDoc | None:
        with self._faults.translate():
            return (await self._read([trace_id]))[0]

    async def _read(self, trace_ids: list[str]) -> list[TraceDoc | None]:
        async with self._r.pipeline(transaction=False) as pipe:
            for trace_id in trace_ids:
                fields, order = self._keys(trace_id)
                pipe.hgetall(fields)
                pipe.zrange(order, 0, -1)
            replies = await pipe.execute()
        return [_doc(tid, replies[2 * n], replies[2 * n + 1]) for n, tid in enumerate(trace_ids)]

    async def get_traces(self, trace_ids: list[str]) -> list[TraceDoc | None]:
        """Several traces in one pipeline (the live socket's re-reads), None for those not held."""
        with self._faults.translate():
            return await self._read(trace_ids)

    async def watch(self, changed: Callable[[list[str], bool], None]) -> None:
        """Tell `changed` the ids of the traces each flush changed, and whether the flush was this
        instance's own, until cancelled (once the flush is in Redis: the PUBLISH follows its writes).
        Pub/sub: what is published while the subscription is down is lost (the listing still has it);
        a lost connection is retried every `_WATCH_RETRY` seconds."""
        from redis.exceptions import RedisError

        while True:
            pubsub = self._r.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                while True:
                    message = await pubsub.get_message(timeout=_WATCH_POLL)
                    if message is not None and message.get("type") == "message":
                        ids, own = _published(message["data"], self.instance)
                        if ids:
                            changed(ids, own)
            except (RedisError, OSError):
                await asyncio.sleep(_WATCH_RETRY)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()

    async def close(self) -> None:
        """The client is shared by every Redis piece of the core: Backends.close() closes it; the flushes'
        own connection closes here."""
        await self._wire.close()


def _published(data: bytes, instance: str) -> tuple[list[str], bool]:
    """A publication's trace ids and whether it is this instance's ([] for anything malformed: the
    channel is under our prefix, but a stray PUBLISH must not break the watch)."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        return [], False
    if not isinstance(doc, dict) or not isinstance(doc.get("t"), list):
        return [], False
    return [t for t in doc["t"] if isinstance(t, str)], doc.get("i") == instance


def _doc(trace_id: str, fields: dict[bytes, bytes], order: list[bytes]) -> TraceDoc | None:
    if b"#start" not in fields:  # expired, trimmed, or never recorded
        return None
    dropped = Dropped(int(fields.get(b"#dropped", 0)), int(fields.get(b"#dropped_failed", 0)))
    for key, count in fields.items():
        if key.startswith(b"#d:"):
            dropped.by_step[key[3:].decode()] = int(count)
    spans = [orjson.loads(fields[s]) for s in order if s in fields]
    start_ms = int(float(fields[b"#start"]))
    return trace_json(trace_id, fields.get(b"#name", b"").decode(), start_ms, spans, dropped)
