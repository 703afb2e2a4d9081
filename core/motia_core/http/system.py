"""Built-in routes: POST /emit (Motia's), and the /__motia/* introspection API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

from motia_core import __version__
from motia_core.errors import CallFailed
from motia_core.http.common import json_response
from motia_core.steps import Step, StepType
from motia_core.tracing import new_trace_id

if TYPE_CHECKING:
    from motia_core.app import MotiaCore


def add_system_routes(app: web.Application, core: MotiaCore) -> None:
    async def emit(request: web.Request) -> web.Response:
        try:
            doc = orjson.loads(await request.read())
        except orjson.JSONDecodeError as exc:
            return json_response(400, {"error": "Invalid request body", "message": f"malformed JSON: {exc}"})
        if not isinstance(doc, dict) or not isinstance(doc.get("topic"), str) or not doc["topic"]:
            return json_response(400, {"error": "Invalid request body", "message": "expected {topic: string, data}"})
        trace_id = new_trace_id()
        core.traces.begin(trace_id, "emit")
        data = doc.get("data")
        try:
            await core.bus_or_fail().emit(
                doc["topic"], orjson.dumps(data), trace_id, str(doc.get("messageGroupId") or "")
            )
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

    async def traces(request: web.Request) -> web.Response:
        limit = int(request.query.get("limit", "100"))
        return json_response(200, {"traces": [t.as_json() for t in core.traces.recent(limit)]})

    async def trace(request: web.Request) -> web.Response:
        found = core.traces.get(request.match_info["trace_id"])
        if found is None:
            return json_response(404, {"error": "Not found", "message": "no such trace (or it was evicted)"})
        return json_response(200, found.as_json())

    async def runners(_: web.Request) -> web.Response:
        return json_response(200, {"runners": core.runner_status()})

    async def state(request: web.Request) -> web.Response:
        group = request.query.get("groupId")
        if not group:
            return json_response(200, {"groups": await core.state.groups()})
        items = await core.state.items(group)
        return json_response(200, {"items": [{"groupId": group, "key": k, "value": orjson.loads(v)} for k, v in items]})

    async def dead_letters(request: web.Request) -> web.Response:
        letters = await core.queue.dead_letters(request.query.get("subscription"))
        return json_response(200, {"deadLetters": [d.as_json(with_data=False) for d in letters]})

    async def dead_letter(request: web.Request) -> web.Response:
        letter = await core.queue.dead_letter(request.match_info["id"])
        if letter is None:
            return json_response(404, {"error": "Not found", "message": "no such dead letter"})
        return json_response(200, letter.as_json())

    async def replay(request: web.Request) -> web.Response:
        if not await core.queue.replay(request.match_info["id"]):
            return json_response(404, {"error": "Not found", "message": "no such dead letter"})
        return json_response(200, {"replayed": request.match_info["id"]})

    async def purge_one(request: web.Request) -> web.Response:
        return json_response(200, {"purged": await core.queue.purge(request.match_info["id"])})

    async def purge_all(_: web.Request) -> web.Response:
        return json_response(200, {"purged": await core.queue.purge()})

    app.router.add_get("/__motia/dlq", dead_letters)
    app.router.add_get("/__motia/dlq/{id}", dead_letter)
    app.router.add_post("/__motia/dlq/{id}/replay", replay)
    app.router.add_delete("/__motia/dlq/{id}", purge_one)
    app.router.add_post("/__motia/dlq/purge", purge_all)
    app.router.add_post("/emit", emit)
    app.router.add_get("/__motia", info)
    app.router.add_get("/__motia/steps", steps)
    app.router.add_get("/__motia/flows", flows)
    app.router.add_get("/__motia/traces", traces)
    app.router.add_get("/__motia/traces/{trace_id}", trace)
    app.router.add_get("/__motia/runners", runners)
    app.router.add_get("/__motia/state", state)


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
