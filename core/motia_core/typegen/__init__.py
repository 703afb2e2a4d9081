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

from motia_core.logs import Logger
from motia_core.registry import Registry
from motia_core.typegen.python import render_python
from motia_core.typegen.ts import render_ts

__all__ = ["load_registry", "render_python", "render_ts", "write_types"]


def load_registry(project_dir: Path, logger: Logger) -> Registry:
    """Start the project's runners, collect every config, stop them (what `motia-core steps` does)."""
    from motia_core.app import CoreOptions, MotiaCore

    core = MotiaCore(project_dir, logger, CoreOptions())

    async def run() -> None:
        try:
            await core.load()
        finally:
            await core.stop()

    asyncio.run(run())
    return core.registry


def write_types(registry: Registry, ts_path: Path | None, py_path: Path | None) -> list[Path]:
    """Write the files asked for; returns those whose content changed (unchanged files keep their
    mtime, so a watcher or a build tool does not see a change that is not one)."""
    streams = list(registry.streams.values())
    changed = []
    for path, text in (
        (ts_path, render_ts(registry.steps, streams) if ts_path else None),
        (py_path, render_python(registry.steps, streams) if py_path else None),
    ):
        if path is None or text is None:
            continue
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed
