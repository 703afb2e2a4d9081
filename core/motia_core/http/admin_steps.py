"""GET /__motia (the core's version), /__motia/steps, /__motia/flows and /__motia/runners
(docs/observability.md#runners). Dependencies passed in: the project folder, the registry served now
(a callable: a reload swaps it, registry.LiveRegistry) and the runners' status."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from motia_core import __version__
from motia_core.http.common import admin_json_response as json_response
from motia_core.http.guard import AdminGuard
from motia_core.registry import Registry
from motia_core.steps import Step, StepType


def add_step_routes(
    app: web.Application,
    guard: AdminGuard,
    project_dir: Path,
    registry: Callable[[], Registry],
    runner_status: Callable[[], list[dict[str, Any]]],
) -> None:
    async def info(_: web.Request) -> web.Response:
        return json_response(200, {"version": __version__, "isDev": False, "project": str(project_dir)})

    async def steps(_: web.Request) -> web.Response:
        return json_response(200, {"steps": [step_json(s) for s in registry().steps]})

    async def flows(_: web.Request) -> web.Response:
        found = registry().flows()
        return json_response(200, {"flows": [flow_json(name, members) for name, members in found.items()]})

    async def runners(_: web.Request) -> web.Response:
        return json_response(200, {"runners": runner_status()})

    app.router.add_get("/__motia", guard.wrap(info))
    app.router.add_get("/__motia/steps", guard.wrap(steps))
    app.router.add_get("/__motia/flows", guard.wrap(flows))
    app.router.add_get("/__motia/runners", guard.wrap(runners))


def step_json(step: Step) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": step.id,
        "name": step.name,
        "type": step.type.value,
        "language": step.language,
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
