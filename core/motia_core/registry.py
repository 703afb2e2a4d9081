"""The validated set of steps: routes, subscriptions, schedules, flows, and every problem found.

Built from the manifests the runners send. Invalid steps are reported and left out; the rest are
served.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from motia_core.errors import ConfigIssue
from motia_core.lenient import config_warnings
from motia_core.project import FileKind, StepFile
from motia_core.runners.transport import Manifest, ManifestEntry
from motia_core.schema import CompiledSchema, compile_schema
from motia_core.steps import ConfigValidationError, Step, StepType, locate_key, parse_step
from motia_core.streams.config import AuthHook, StreamDef, parse_auth, parse_stream


@dataclass
class Registry:
    steps: list[Step] = field(default_factory=list)
    issues: list[ConfigIssue] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    body_validators: dict[str, CompiledSchema] = field(default_factory=dict)
    input_validators: dict[str, CompiledSchema] = field(default_factory=dict)
    streams: dict[str, StreamDef] = field(default_factory=dict)
    stream_auth: AuthHook | None = None

    def by_type(self, step_type: StepType) -> list[Step]:
        return [s for s in self.steps if s.type is step_type]

    def subscribers(self) -> dict[str, list[Step]]:
        out: dict[str, list[Step]] = {}
        for step in self.by_type(StepType.EVENT):
            for topic in step.subscribes:
                out.setdefault(topic, []).append(step)
        return out

    def flows(self) -> dict[str, list[Step]]:
        out: dict[str, list[Step]] = {}
        for step in self.steps:
            for flow in step.flows:
                out.setdefault(flow, []).append(step)
        return out

    def add_manifest(self, files: list[StepFile], manifest: Manifest) -> None:
        by_id = {f.step_id: f for f in files}
        seen: set[str] = set()
        for failure in manifest.errors:
            file = by_id.get(failure.step_id)
            seen.add(failure.step_id)
            where = file.relative_path if file else failure.step_id
            detail = f"{failure.error_type}: {failure.message}" if failure.error_type else failure.message
            self.issues.append(ConfigIssue(where, "", f"cannot load the file: {detail}"))
        for entry in manifest.steps:
            file = by_id.get(entry.step_id)
            if file is None:
                self.warnings.append(f"runner reported an unknown step {entry.step_id!r}")
                continue
            seen.add(entry.step_id)
            try:
                if file.kind is FileKind.STREAM:
                    self._add_stream(file, entry)
                    continue
                if file.kind is FileKind.STREAM_AUTH:
                    self.stream_auth = parse_auth(file, entry.config_json, entry.has_handler)
                    continue
                step = parse_step(file, entry.config_json, entry.has_handler)
            except ConfigValidationError as exc:
                self.issues.extend(exc.issues)
                continue
            if not self._routable(step) or self._conflicts(step) or not self._compile(step):
                continue
            self.warnings.extend(config_warnings(step))  # configs Motia accepts or refuses quietly (lenient.py)
            self.steps.append(step)
        for file in files:
            if file.step_id not in seen:
                self.issues.append(ConfigIssue(file.relative_path, "", "the runner did not report this file"))

    def _add_stream(self, file: StepFile, entry: ManifestEntry) -> None:
        stream = parse_stream(file, entry.config_json, entry.has_handler)
        other = self.streams.get(stream.name)
        if other is not None:
            message = f"stream {stream.name!r} is already declared by {other.file.relative_path}"
            self.issues.append(ConfigIssue(file.relative_path, "config.name", message))
            return
        if stream.custom_storage:
            self.warnings.append(
                f"{file.relative_path}: config.baseConfig.storageType 'custom' is not supported; "
                f"stream {stream.name!r} is kept in the default store"
            )
        self.streams[stream.name] = stream

    def _routable(self, step: Step) -> bool:
        """Dry-run the route on a scratch router: whatever aiohttp refuses is this step's issue, not
        a crash of the whole core in build_app. steps.path_problem catches the known cases first,
        with better messages; this is the backstop."""
        if step.type is not StepType.API:
            return True
        from aiohttp import web  # late: the registry is otherwise free of HTTP

        from motia_core.http.api import aiohttp_path

        async def _never(request: web.Request) -> web.StreamResponse:  # pragma: no cover - never routed
            raise web.HTTPNotFound

        try:
            web.UrlDispatcher().add_route(step.method, aiohttp_path(step.path), _never)
        except (ValueError, RuntimeError, TypeError) as exc:
            message = f"{step.path!r} cannot be routed: {exc}"
            self.issues.append(ConfigIssue(step.file.relative_path, "config.path", message, _line(step, "path")))
            return False
        return True

    def _conflicts(self, step: Step) -> bool:
        """Two API steps on one method + path: the file that sorts first keeps it, whatever order the
        runners reported in (they load concurrently); the other is an issue."""
        for other in list(self.steps):
            if step.type is StepType.API and other.type is StepType.API:
                if (other.method, _route_key(other.path)) == (step.method, _route_key(step.path)):
                    keep, lose = sorted((other, step), key=lambda s: s.file.relative_path)
                    self.issues.append(
                        ConfigIssue(
                            lose.file.relative_path,
                            "config.path",
                            f"{lose.method} {lose.path} is already served by {keep.name} ({keep.file.relative_path})",
                            _line(lose, "path"),
                        )
                    )
                    if lose is step:
                        return True
                    self._drop(other)
                    continue
            if other.name == step.name:
                self.warnings.append(
                    f"{step.file.relative_path}: step name {step.name!r} is also used by {other.file.relative_path}"
                )
        return False

    def _drop(self, step: Step) -> None:
        self.steps.remove(step)
        self.body_validators.pop(step.id, None)
        self.input_validators.pop(step.id, None)

    def _compile(self, step: Step) -> bool:
        """Compile the step's schemas; False (and an issue) when its bodySchema cannot be enforced."""
        compiled, problem = compile_schema(step.body_schema)
        if problem:
            message = f"is not a valid JSON Schema: {problem}"
            self.issues.append(
                ConfigIssue(step.file.relative_path, "config.bodySchema", message, _line(step, "bodySchema"))
            )
            return False
        if compiled is not None:
            self.body_validators[step.id] = compiled
        compiled, problem = compile_schema(step.input_schema)
        if compiled is not None:
            self.input_validators[step.id] = compiled
        elif problem:
            # an event's input schema is only enforced in --strict; Motia never checked it: warn only
            self.warnings.append(
                f"{step.file.relative_path}: config.input is not a valid JSON Schema ({problem}); "
                "it will not be enforced"
            )
        return True

    def add_quarantined(self, quarantined: dict[str, str], files: list[StepFile]) -> None:
        """Files whose import ended their runner process (runners/supervisor.py): never served."""
        by_id = {f.step_id: f for f in files}
        for step_id, message in quarantined.items():
            file = by_id.get(step_id)
            self.issues.append(ConfigIssue(file.relative_path if file else step_id, "", message))


SwapListener = Callable[[Registry, Registry], None]


class LiveRegistry:
    """The one registry the HTTP router, the event consumers and cron read through.

    swap() replaces it whole and calls every listener in the same event-loop step, with no await in
    between: a request, a delivery or a cron tick sees either the old registry in all three places
    or the new one in all three, never a mix. Registries are never edited once swapped in."""

    def __init__(self, initial: Registry | None = None) -> None:
        self.current = initial if initial is not None else Registry()
        self.generation = 0  # swaps so far (GET /__motia/... and logs can tell reloads apart)
        self._listeners: list[SwapListener] = []

    def on_swap(self, listener: SwapListener) -> None:
        self._listeners.append(listener)

    def swap(self, new: Registry) -> Registry:
        """Make `new` current; return the old one. A listener that raises is a bug in the core: it is
        not swallowed, but the others still run first so the three readers stay consistent."""
        old, self.current = self.current, new
        self.generation += 1
        errors: list[Exception] = []
        for listener in list(self._listeners):
            try:
                listener(old, new)
            except Exception as exc:  # pragma: no cover - re-raised below
                errors.append(exc)
        if errors:
            raise errors[0]
        return old


@dataclass
class RuntimeLoad:
    """What one runner reported at its last load: enough to rebuild the registry without asking it
    again (a reload of another language, or this runner's restart after a crash)."""

    files: list[StepFile]
    manifest: Manifest
    quarantined: dict[str, str] = field(default_factory=dict)
    issues: list[ConfigIssue] = field(default_factory=list)  # e.g. motia.config's streamAuth failed to load


def build_registry(loads: dict[str, RuntimeLoad], issues: list[ConfigIssue], all_files: list[StepFile]) -> Registry:
    """A fresh registry from each runtime's last load, in a fixed order (runtime names, then file
    paths), so the same loads always give the same registry, conflicts included."""
    registry = Registry()
    registry.issues.extend(issues)
    for name in sorted(loads):
        load = loads[name]
        registry.issues.extend(load.issues)
        registry.add_manifest(load.files, load.manifest)
        registry.add_quarantined(load.quarantined, all_files)
    registry.steps.sort(key=lambda s: s.file.relative_path)
    return registry


def _line(step: Step, key: str) -> int | None:
    return locate_key(step.file.path, key)


def _route_key(path: str) -> str:
    return "/".join(":" if part.startswith(":") else part for part in path.rstrip("/").split("/"))
