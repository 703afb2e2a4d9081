"""`motia-core generate-types`: types.d.ts (TypeScript) and a TypedDict module (Python) from the
schemas in the project's step and stream configs (docs/dev.md, "Types").

The configs come from the registry, loaded exactly as `motia-core steps` and `serve` load it (the
runners import every step file and send its config with zod / pydantic already turned into JSON
Schema), so the types describe what the core will actually serve. `write_types` is what the dev
loop calls after a reload: it rewrites a file only when its content changed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from motia_core.logs import Logger
from motia_core.registry import Registry
from motia_core.typegen.python import render_python
from motia_core.typegen.ts import render_ts

if TYPE_CHECKING:
    from motia_core.app import MotiaCore

__all__ = ["auth_context_schema", "load_registry", "render_python", "render_ts", "write_types"]


def load_registry(project_dir: Path, logger: Logger) -> tuple[Registry, dict[str, Any] | None]:
    """Start the project's runners, collect every config, stop them (what `motia-core steps` does).
    Returns the registry and the stream auth context schema (see `auth_context_schema`)."""
    from motia_core.app import CoreOptions, MotiaCore

    core = MotiaCore(project_dir, logger, CoreOptions())

    async def run() -> None:
        try:
            await core.load()
        finally:
            await core.stop()

    asyncio.run(run())
    return core.registry, auth_context_schema(core)


def auth_context_schema(core: MotiaCore) -> dict[str, Any] | None:
    """`contextSchema` of the stream auth hook: motia.config.ts `streamAuth`, else a stream auth file."""
    config = core.project_config.stream_auth if core.project_config is not None else None
    hook = config or core.registry.stream_auth
    return hook.context_schema if hook is not None else None


def write_types(
    registry: Registry, ts_path: Path | None, py_path: Path | None, auth_context: dict[str, Any] | None = None
) -> list[Path]:
    """Write the files asked for; returns those whose content changed (unchanged files keep their
    mtime, so a watcher or a build tool does not see a change that is not one)."""
    streams = list(registry.streams.values())
    changed = []
    for path, text in (
        (ts_path, render_ts(registry.steps, streams, auth_context) if ts_path else None),
        (py_path, render_python(registry.steps, streams) if py_path else None),
    ):
        if path is None or text is None:
            continue
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed
