"""Built-in routes: POST /emit (Motia's), and the /__motia/* introspection API.

All of them are admin routes: each goes behind the AdminGuard (docs/security.md), answers JSON
without CORS headers, and validates its parameters (400, never a text 500)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

from motia_core import __version__
from motia_core.errors import CallFailed, StorageUnavailable
from motia_core.http.body import read_body
from motia_core.http.common import Handler
from motia_core.http.common import admin_json_response as json_response
from motia_core.http.guard import AdminGuard
from motia_core.steps import Step, StepType
from motia_core.tracing import new_trace_id

if TYPE_CHECKING:
    from motia_core.app import MotiaCore


MAX_LIMIT = 1000  # most traces one listing returns
MAX_ID_CHARS = 1024  # longest id a query or path parameter may carry


def bad_parameter(name: str, value: str, expected: str) -> web.Response:
    shown = value if len(value) <= 64 else value[:64] + f"... ({len(value)} characters)"
    return json_response(400, {"error": "Invalid parameter", "message": f"{name}: expected {expected}, got {shown!r}"})


def query_limit(request: web.Request, default: int = 100) -> int | web.Response:
    raw = request.query.get("limit")
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 4 and 1 <= int(raw) <= MAX_LIMIT):
        return bad_parameter("limit", raw, f"an integer from 1 to {MAX_LIMIT}")
    return int(raw)


def id_parameter(name: str, value: str | None) -> str | None | web.Response:
    """An id from the query or the path: at most MAX_ID_CHARS characters (None: absent or empty)."""
    if not value:
        return None
    if len(value) > MAX_ID_CHARS or "\x00" in value:
        return bad_parameter(name, value, f"an id of at most {MAX_ID_CHARS} characters, without NUL")
    return value


def add_system_routes(app: web.Application, core: MotiaCore, guard: AdminGuard) -> None:
    async def emit(request: web.Request) -> web.Response:
        raw = await read_body(request, core.options.max_body, json_response)  # 413 over --max-body
        if isinstance(raw, web.Response):
            return raw
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return json_response(400, {"error": "Invalid request body", "message": f"malformed JSON: {exc}"})
        if not isinstance(doc, dict) or not isinstance(doc.get("topic"), str) or not doc["topic"]:
            return json_response(400, {"error": "Invalid request body", "message": "expected {topic: string, data}"})
        trace_id = new_trace_id()
        core.traces.begin(trace_id, "emit")
        data = doc.get("data")
        try:
            # shielded: a client that hangs up mid-request (handlers are cancelled then) must not cut
            # the fan-out between two subscribers' copies
            group = str(doc.get("messageGroupId") or "")
            await asyncio.shield(core.bus_or_fail().emit(doc["topic"], orjson.dumps(data), trace_id, group))
        except StorageUnavailable as exc:  # queue.db lost or failing: refused, not accepted into a gone file
            return json_response(503, {"error": "Service unavailable", "message": str(exc)}, trace_id)
        except CallFailed as exc:
            return json_response(400, {"error": "Event rejected", "message": str(exc)}, trace_id)
        return json_response(200, {"success": True, "emitted": {"topic": doc["topic"], "data": data}}, trace_id)

    async def info(_: web.Request) -> web.Response:
        return json_response(200, {"version": __version__, "isDev": False, "project": str(core.project_dir)})

    async def steps(_: web.Request) -> web.Response:
        return json_response(200, {"steps": [step_json(s) for s in core.registry.steps]})

    async def flows(_: web.Request) -> web.Response:
        return json_response(
            200, {"flows": [flow_json(name, members) for name, members in core.registry.flows().items()]}
        )

    # traces: read through core.trace_storage (tracing.TraceStorage), which every instance shares
    # with a shared backend; paged newest first, `before` = the `next` of the previous page
    async def traces(request: web.Request) -> web.Response:
        limit = query_limit(request)
        if isinstance(limit, web.Response):
            return limit
        before = id_parameter("before", request.query.get("before"))
        if isinstance(before, web.Response):
            return before
        try:
            found = await core.trace_storage.list_traces(limit, before)
        except StorageUnavailable as exc:
            return json_response(503, {"error": "Service unavailable", "message": str(exc)})
        last = found[-1]["id"] if len(found) == limit else None
        return json_response(200, {"traces": found, "next": last})

    async def trace(request: web.Request) -> web.Response:
        trace_id = id_parameter("trace id", request.match_info["trace_id"])
        if isinstance(trace_id, web.Response):
            return trace_id
        try:
            doc = await core.trace_storage.get_trace(trace_id or "")
        except StorageUnavailable as exc:
            return json_response(503, {"error": "Service unavailable", "message": str(exc)})
        if doc is None:
            return json_response(404, {"error": "Not found", "message": "no such trace (or it was evicted)"})
        return json_response(200, doc)

    async def runners(_: web.Request) -> web.Response:
        return json_response(200, {"runners": core.runner_status()})

    async def state(request: web.Request) -> web.Response:
        group = id_parameter("groupId", request.query.get("groupId"))
        if isinstance(group, web.Response):
            return group
        if group is None:
            return json_response(200, {"groups": await core.state.groups()})
        items = await core.state.items(group)
        return json_response(200, {"items": [{"groupId": group, "key": k, "value": orjson.loads(v)} for k, v in items]})

    async def dead_letters(request: web.Request) -> web.Response:
        subscription = id_parameter("subscription", request.query.get("subscription"))
        if isinstance(subscription, web.Response):
            return subscription
        letters = await core.queue.dead_letters(subscription)
        return json_response(200, {"deadLetters": [d.as_json(with_data=False) for d in letters]})

    async def dead_letter(request: web.Request) -> web.Response:
        letter_id = id_parameter("dead letter id", request.match_info["id"])
        if isinstance(letter_id, web.Response):
            return letter_id
        letter = await core.queue.dead_letter(letter_id or "")
        if letter is None:
            return json_response(404, {"error": "Not found", "message": "no such dead letter"})
        return json_response(200, letter.as_json())

    async def replay(request: web.Request) -> web.Response:
        letter_id = id_parameter("dead letter id", request.match_info["id"])
        if isinstance(letter_id, web.Response):
            return letter_id
        if not await core.queue.replay(letter_id or ""):
            return json_response(404, {"error": "Not found", "message": "no such dead letter"})
        return json_response(200, {"replayed": request.match_info["id"]})

    async def purge_one(request: web.Request) -> web.Response:
        letter_id = id_parameter("dead letter id", request.match_info["id"])
        if isinstance(letter_id, web.Response):
            return letter_id
        return json_response(200, {"purged": await core.queue.purge(letter_id or "")})

    async def purge_all(_: web.Request) -> web.Response:
        return json_response(200, {"purged": await core.queue.purge()})

    routes: list[tuple[str, str, Handler]] = [
        ("GET", "/__motia/dlq", dead_letters),
        ("GET", "/__motia/dlq/{id}", dead_letter),
        ("POST", "/__motia/dlq/{id}/replay", replay),
        ("DELETE", "/__motia/dlq/{id}", purge_one),
        ("POST", "/__motia/dlq/purge", purge_all),
        ("POST", "/emit", emit),
        ("GET", "/__motia", info),
        ("GET", "/__motia/steps", steps),
        ("GET", "/__motia/flows", flows),
        ("GET", "/__motia/traces", traces),
        ("GET", "/__motia/traces/{trace_id}", trace),
        ("GET", "/__motia/runners", runners),
        ("GET", "/__motia/state", state),
    ]
    for method, path, handler in routes:
        if method == "GET":
            app.router.add_get(path, guard.wrap(handler))  # and HEAD, as before
        else:
            app.router.add_route(method, path, guard.wrap(handler))


def step_json(step: Step) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": step.id,
        "name": step.name,
        "type": step.type.value,
        "language": step.language.value,
        "filePath": step.file.relative_path,
        "flows": list(step.flows),
        "emits": list(step.emits),
    }
    if step.config.get("description"):
        doc["description"] = step.config["description"]
    if step.type is StepType.API:
        doc.update(method=step.method, path=step.path, bodySchema=step.body_schema)
    elif step.type is StepType.EVENT:
        doc.update(subscribes=list(step.subscribes), input=step.input_schema)
    elif step.type is StepType.CRON:
        doc.update(cron=step.cron)
    virtual_emits = step.config.get("virtualEmits") or []
    virtual_subscribes = step.config.get("virtualSubscribes") or []
    if virtual_emits:
        doc["virtualEmits"] = [e if isinstance(e, str) else e.get("topic") for e in virtual_emits]
    if virtual_subscribes:
        doc["virtualSubscribes"] = virtual_subscribes
    return doc


def flow_json(name: str, members: list[Step]) -> dict[str, Any]:
    """Edges are derived as Motia does: emitter -> every step of the flow subscribing to the topic."""
    edges = []
    for src in members:
        emitted = [(t, "event") for t in src.emits]
        emitted += [
            (e if isinstance(e, str) else e.get("topic", ""), "virtual") for e in src.config.get("virtualEmits") or []
        ]
        for topic, variant in emitted:
            for dst in members:
                listens = set(dst.subscribes) | set(dst.config.get("virtualSubscribes") or [])
                if topic in listens:
                    edges.append(
                        {
                            "id": f"{src.id}-{dst.id}",
                            "source": src.id,
                            "target": dst.id,
                            "data": {"variant": variant, "topic": topic},
                        }
                    )
    return {"id": name, "name": name, "steps": [step_json(s) for s in members], "edges": edges}
