"""Plugin panels: JavaScript bundles that packages declare under the entry point group
``motia_core.workbench_panels`` (docs/workbench.md#plugin-panels).

An entry point names a path to its bundle, or a callable returning one; the core serves the file at
``<workbench path>/plugins/<name>.js`` and loads it after the Workbench's own script, where it calls
``window.motiaWorkbench.registerPanel({...})``. Resolving is done once at start: a plugin that fails to
load or names a missing file is logged and skipped, so one broken package never takes the Workbench down.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from motia_core.entry_scan import entry_points_of
from motia_core.logs import Logger

ENTRY_POINT_GROUP = "motia_core.workbench_panels"
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


@dataclass(frozen=True)
class PluginPanel:
    name: str  # the entry point's name: the file is served as plugins/<name>.js
    file: Path
    source: str  # "<distribution> (<module:attr>)": where the log points a reader


def _as_path(value: object) -> Path | None:
    if isinstance(value, str | os.PathLike):
        return Path(value)
    return None


def discover_plugins(logger: Logger) -> list[PluginPanel]:
    """The installed plugin panels, sorted by name; problems are logged as warnings with the package."""
    found: list[PluginPanel] = []
    seen: set[str] = set()
    for ep in sorted(entry_points_of(ENTRY_POINT_GROUP), key=lambda e: e.name):  # entry_scan: see backends.py
        dist = ep.dist.name if ep.dist is not None else "?"
        source = f"{dist} ({ep.value})"
        where = f"Workbench plugin {ep.name!r} from {source}"
        if not _NAME.fullmatch(ep.name):
            logger.warn(f"{where} skipped: its name must match [a-z0-9][a-z0-9_-]* (it becomes a file name)")
            continue
        if ep.name in seen:
            logger.warn(f"{where} skipped: another package already registered a plugin of that name")
            continue
        try:
            loaded: object = ep.load()
            if callable(loaded):  # a function computing the path (e.g. from importlib.resources)
                loaded = loaded()
        except Exception as exc:  # a third party's import: any error is its own, not the core's
            logger.warn(f"{where} skipped: loading it failed: {exc!r}")
            continue
        path = _as_path(loaded)
        if path is None:
            logger.warn(f"{where} skipped: expected a path to a .js file (str or Path), got {type(loaded).__name__}")
            continue
        if path.suffix != ".js" or not path.is_file():
            logger.warn(f"{where} skipped: {path} is not an existing .js file")
            continue
        seen.add(ep.name)
        found.append(PluginPanel(ep.name, path.resolve(), source))
    for plugin in found:
        logger.info(f"Workbench plugin {plugin.name!r} from {plugin.source}: {plugin.file}")
    return found
