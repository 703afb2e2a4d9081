"""The lines the core logs about what it serves: the config file read, the steps loaded, a reload.

Start-up and every registry swap end here (app.py), so that what a user reads in the terminal is
written in one place: counts by type, invalid steps, the compatibility notices, steps added and
removed.
"""

from __future__ import annotations

from motia_core.lenient import deviation_notices
from motia_core.logs import Logger
from motia_core.project_config import ProjectConfig
from motia_core.registry import Registry


def report_config(config: ProjectConfig | None, storage_lines: list[str], logger: Logger) -> None:
    """motia.config's evaluation time, its findings (keys not honoured) and where storage lives."""
    if config is None:
        return
    rel = config.file.relative_path
    logger.debug(f"read {rel} in {config.eval_ms:.0f} ms", file=rel)
    for finding in config.findings:
        logger.warn(finding, file=rel)
    for line in storage_lines:
        logger.info(line, file=rel)


def report_load(registry: Registry, seconds: float, logger: Logger) -> None:
    """The first registry: its issues and warnings, then "loaded N steps (...) in X ms"."""
    for issue in registry.issues:
        logger.error(f"invalid step: {issue}")
    for warning in registry.warnings:
        logger.warn(warning)
    for notice in deviation_notices(registry.steps):  # docs/compatibility.md: never a silent change
        logger.info(notice, compatibility=True)
    by_type: dict[str, int] = {}
    for s in registry.steps:
        by_type[s.type.value] = by_type.get(s.type.value, 0) + 1
    summary = ", ".join(f"{n} {t}" for t, n in sorted(by_type.items())) or "no steps"
    bad = f", {len(registry.issues)} invalid" if registry.issues else ""
    streams = f", {len(registry.streams)} streams" if registry.streams else ""
    logger.info(f"loaded {len(registry.steps)} steps ({summary}{bad}){streams} in {seconds * 1000:.0f} ms")


def report_swap(why: str, old: Registry, new: Registry, logger: Logger) -> None:
    """What a swap changed: steps added and removed, and the issues the old registry did not have."""
    before = {s.id: s for s in old.steps}
    after = {s.id: s for s in new.steps}
    added = sorted(after.keys() - before.keys())
    removed = sorted(before.keys() - after.keys())
    changed = f"{len(after)} steps" + (f", added {', '.join(added)}" if added else "")
    changed += f", removed {', '.join(removed)}" if removed else ""
    logger.info(f"{why}: now serving {changed}")
    known = {str(i) for i in old.issues}
    for issue in new.issues:
        if str(issue) not in known:
            logger.error(f"invalid step: {issue}")
