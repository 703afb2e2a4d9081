"""Generated step projects for the scale curves (suite_scale.py): N steps in TypeScript, JavaScript and
Python, and N API routes behind one measured endpoint. Written into the run's work folder, never
committed: the point is to vary N, not the step code."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

PING_TS = (
    "export const config = { type: 'api', name: 'ScalePing', method: 'GET', path: '/ping', emits: [], "
    "flows: ['scale'] }\n\nexport const handler = async () => ({ status: 200, body: { ok: true } })\n"
)


def _fresh(dest: Path) -> Path:
    if dest.exists():
        shutil.rmtree(dest)
    (dest / "steps").mkdir(parents=True)
    (dest / "package.json").write_text(
        json.dumps({"name": f"motia-bench-{dest.name}", "private": True, "type": "module"})
    )
    return dest


def _ts_api(name: str, path: str, emits: str) -> str:
    return (
        f"export const config = {{ type: 'api', name: '{name}', method: 'GET', path: '{path}', "
        f"emits: ['{emits}'], flows: ['scale'] }}\n\n"
        "export const handler = async () => ({ status: 200, body: { ok: true } })\n"
    )


def _js_event(name: str, topic: str) -> str:
    return (
        f"export const config = {{ type: 'event', name: '{name}', subscribes: ['{topic}'], emits: [], "
        "flows: ['scale'] }\n\nexport const handler = async (input, { logger }) => { logger.debug('got', input) }\n"
    )


def _py_step(name: str, i: int) -> str:
    if i % 2:  # alternate API and event steps, so both kinds of Python step are loaded
        return (
            f'config = {{"type": "event", "name": "{name}", "subscribes": ["scale.py"], "emits": [], '
            '"flows": ["scale"]}\n\n\nasync def handler(input, context):\n    context.logger.debug("got")\n'
        )
    return (
        f'config = {{"type": "api", "name": "{name}", "method": "GET", "path": "/py/{i}", '
        '"emits": ["scale.py"], "flows": ["scale"]}\n\n\n'
        'async def handler(req, context):\n    return {"status": 200, "body": {"ok": True}}\n'
    )


def steps_project(dest: Path, n: int) -> Path:
    """`n` steps, a third each TypeScript (API), JavaScript (event) and Python (API and event), plus
    `GET /ping` (TypeScript, counted in `n`) for the cold-start clock. Every event step's topic is
    emitted by some API step, so the flow graph is whole."""
    _fresh(dest)
    steps = dest / "steps"
    (steps / "ping.step.ts").write_text(PING_TS)
    for i in range(n - 1):
        lang = i % 3
        if lang == 0:
            (steps / f"api_{i}.step.ts").write_text(_ts_api(f"ScaleTs{i}", f"/ts/{i}", f"scale.js.{i + 1}"))
        elif lang == 1:
            (steps / f"event_{i}.step.js").write_text(_js_event(f"ScaleJs{i}", f"scale.js.{i}"))
        else:
            (steps / f"step_{i}_step.py").write_text(_py_step(f"ScalePy{i}", i))
    return dest


def routes_project(dest: Path, n: int) -> Path:
    """`n` TypeScript API routes: half static (`/s/<i>`), half with a path parameter under one shared
    prefix (`/items/:id/v<i>`, the worst case for a router that scans its parameterized routes).
    The measured endpoints are the last of each kind (`/s/<last>`, `/items/x/v<last>`)."""
    _fresh(dest)
    steps = dest / "steps"
    half = n // 2
    for i in range(half):
        (steps / f"static_{i}.step.ts").write_text(_route(f"Static{i}", f"/s/{i}"))
        (steps / f"param_{i}.step.ts").write_text(_route(f"Param{i}", f"/items/:id/v{i}"))
    return dest


def route_paths(n: int) -> dict[str, str]:
    last = n // 2 - 1
    return {"static": f"/s/{last}", "param": f"/items/x/v{last}"}


def _route(name: str, path: str) -> str:
    return (
        f"export const config = {{ type: 'api', name: '{name}', method: 'GET', path: '{path}', emits: [], "
        "flows: ['routes'] }\n\nexport const handler = async () => ({ status: 200, body: { ok: true } })\n"
    )
