"""Dead letters (docs/delivery.md#dead-letters):

    GET    /__motia/dlq?subscription=     -> {"deadLetters": [...]} (without their data)
    GET    /__motia/dlq/{id}              -> one, with its data and failure chain
    POST   /__motia/dlq/{id}/replay       -> {"replayed": id}
    DELETE /__motia/dlq/{id}              -> {"purged": n}
    POST   /__motia/dlq/purge             -> {"purged": n}

Times (enqueuedAt, diedAt, each failure's time) are Unix milliseconds, like every admin answer
(dlq.letter_json). The one dependency is the EventQueue, passed in; every instance of a shared queue
sees the same."""

from __future__ import annotations

from aiohttp import web

from motia_core.dlq import letter_json
from motia_core.http.common import Handler
from motia_core.http.common import admin_json_response as json_response
from motia_core.http.guard import AdminGuard
from motia_core.http.system import id_parameter
from motia_core.queue.base import EventQueue


def add_dlq_routes(app: web.Application, guard: AdminGuard, queue: EventQueue) -> None:
    async def dead_letters(request: web.Request) -> web.Response:
        subscription = id_parameter("subscription", request.query.get("subscription"))
        if isinstance(subscription, web.Response):
            return subscription
        letters = await queue.dead_letters(subscription)
        return json_response(200, {"deadLetters": [letter_json(d, with_data=False) for d in letters]})

    async def dead_letter(request: web.Request) -> web.Response:
        letter_id = id_parameter("dead letter id", request.match_info["id"])
        if isinstance(letter_id, web.Response):
            return letter_id
        letter = await queue.dead_letter(letter_id or "")
        if letter is None:
            return json_response(404, {"error": "Not found", "message": "no such dead letter"})
        return json_response(200, letter_json(letter))

    async def replay(request: web.Request) -> web.Response:
        letter_id = id_parameter("dead letter id", request.match_info["id"])
        if isinstance(letter_id, web.Response):
            return letter_id
        if not await queue.replay(letter_id or ""):
            return json_response(404, {"error": "Not found", "message": "no such dead letter"})
        return json_response(200, {"replayed": request.match_info["id"]})

    async def purge_one(request: web.Request) -> web.Response:
        letter_id = id_parameter("dead letter id", request.match_info["id"])
        if isinstance(letter_id, web.Response):
            return letter_id
        return json_response(200, {"purged": await queue.purge(letter_id or "")})

    async def purge_all(_: web.Request) -> web.Response:
        return json_response(200, {"purged": await queue.purge()})

    routes: list[tuple[str, str, Handler]] = [
        ("GET", "/__motia/dlq", dead_letters),
        ("GET", "/__motia/dlq/{id}", dead_letter),
        ("POST", "/__motia/dlq/{id}/replay", replay),
        ("DELETE", "/__motia/dlq/{id}", purge_one),
        ("POST", "/__motia/dlq/purge", purge_all),
    ]
    for method, path, handler in routes:
        if method == "GET":
            app.router.add_get(path, guard.wrap(handler))  # and HEAD
        else:
            app.router.add_route(method, path, guard.wrap(handler))
