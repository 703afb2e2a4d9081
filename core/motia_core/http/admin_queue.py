"""GET /__motia/queue: depth, in flight and scheduled per subscription, and the dead letters' count
(docs/observability.md#queue). Dependencies passed in: the queue and the subscriptions' (topic, step)."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from motia_core.errors import StorageUnavailable
from motia_core.http.common import admin_json_response as json_response
from motia_core.http.guard import AdminGuard
from motia_core.queue.base import EventQueue

# subscription key -> (topic, step name): the EventBus's subscriptions, read when asked (none before start)
Subscriptions = Callable[[], dict[str, tuple[str, str]]]


def add_queue_routes(app: web.Application, guard: AdminGuard, queue: EventQueue, subscriptions: Subscriptions) -> None:
    async def stats(_: web.Request) -> web.Response:
        try:
            found = await queue.stats()
        except StorageUnavailable as exc:
            return json_response(503, {"error": "Service unavailable", "message": str(exc)})
        subs = subscriptions()
        rows = []
        for key, s in sorted(found.subscriptions.items()):
            topic, step = subs.get(key, (key.partition("::")[0], key.partition("::")[2]))
            rows.append(
                {"topic": topic, "step": step, "depth": s.depth, "inFlight": s.in_flight, "scheduled": s.scheduled}
            )
        return json_response(200, {"subscriptions": rows, "deadLetters": found.dead_letters})

    app.router.add_get("/__motia/queue", guard.wrap(stats))
