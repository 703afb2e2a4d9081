"""The validated set of steps: routes, subscriptions, schedules, flows, and every problem found.

Built from the manifests the runners send. Invalid steps are reported and left out; the rest are
served.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from motia_core.errors import ConfigIssue
from motia_core.project import FileKind, StepFile
from motia_core.runners.transport import Manifest, ManifestEntry
from motia_core.schema import CompiledSchema, compile_schema
from motia_core.steps import ConfigValidationError, Step, StepType, parse_step
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
            if self._conflicts(step):
                continue
            self._compile(step)
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

    def _conflicts(self, step: Step) -> bool:
        for other in self.steps:
            if step.type is StepType.API and other.type is StepType.API:
                if (other.method, _route_key(other.path)) == (step.method, _route_key(step.path)):
                    self.issues.append(
                        ConfigIssue(
                            step.file.relative_path,
                            "config.path",
                            f"{step.method} {step.path} is already served by {other.name} ({other.file.relative_path})",
                        )
                    )
                    return True
            if other.name == step.name:
                self.warnings.append(
                    f"{step.file.relative_path}: step name {step.name!r} is also used by {other.file.relative_path}"
                )
        return False

    def _compile(self, step: Step) -> None:
        for schema, target, what in (
            (step.body_schema, self.body_validators, "bodySchema"),
            (step.input_schema, self.input_validators, "input"),
        ):
            compiled, problem = compile_schema(schema)
            if compiled is not None:
                target[step.id] = compiled
            elif problem:
                self.warnings.append(
                    f"{step.file.relative_path}: config.{what} is not a valid JSON Schema ({problem}); "
                    "it will not be enforced"
                )


def _route_key(path: str) -> str:
    return "/".join(":" if part.startswith(":") else part for part in path.rstrip("/").split("/"))
