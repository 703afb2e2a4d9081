"""Stream files: discovery, config validation (errors name the file and the field), the registry."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from motia_core.project import FileKind, RunnerName, StepFile, discover
from motia_core.registry import Registry
from motia_core.runners.transport import Manifest, ManifestEntry
from motia_core.steps import ConfigValidationError
from motia_core.streams.config import parse_auth, parse_stream


def _file(tmp_path: Path, rel: str, text: str = "", kind: FileKind = FileKind.STREAM) -> StepFile:
    path = tmp_path / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return StepFile(path, rel, "typescript", RunnerName("node"), kind)


def test_discovery_finds_stream_and_auth_files(tmp_path: Path) -> None:
    names = [
        "steps/todo.stream.ts",
        "steps/a/b.stream.js",
        "src/c_stream.py",
        "src/d.stream.rb",
        "src/e_stream.ts",
        "steps/old.stream.py",
        "steps/stream-auth.ts",
        "src/stream_auth.py",
        "steps/x.step.ts",
        "steps/streams.ts",
    ]
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    found = discover(tmp_path)
    kinds = {f.relative_path: f.kind for f in found.files}
    assert kinds == {
        "steps/todo.stream.ts": FileKind.STREAM,
        "steps/a/b.stream.js": FileKind.STREAM,
        "steps/stream-auth.ts": FileKind.STREAM_AUTH,
        "steps/x.step.ts": FileKind.STEP,
        "src/c_stream.py": FileKind.STREAM,
        "src/d.stream.rb": FileKind.STREAM,
        "src/e_stream.ts": FileKind.STREAM,
    }
    assert found.runtimes() == {RunnerName("node"), RunnerName("python"), RunnerName("ruby")}
    assert any("old.stream.py" in w and "'*_stream.py'" in w for w in found.warnings)
    assert any("src/stream_auth.py: ignored" in w and "steps/stream-auth.ts" in w for w in found.warnings)


def test_a_valid_stream(tmp_path: Path) -> None:
    file = _file(tmp_path, "steps/todo.stream.ts")
    config = {
        "name": "todo",
        "schema": {"type": "object"},
        "baseConfig": {"storageType": "default"},
        "canAccess": {"$function": "canAccess"},
    }
    stream = parse_stream(file, orjson.dumps(config), False)
    assert (stream.name, stream.schema, stream.can_access, stream.custom_storage) == (
        "todo",
        {"type": "object"},
        True,
        False,
    )
    assert stream.id == "steps/todo.stream.ts" and not stream.hidden


@pytest.mark.parametrize(
    ("config", "field", "message"),
    [
        ({"schema": {}, "baseConfig": {"storageType": "default"}}, "config.name", "required key is missing"),
        ({"name": "", "schema": {}, "baseConfig": {"storageType": "default"}}, "config.name", "at least 1 character"),
        ({"name": "t", "baseConfig": {"storageType": "default"}}, "config.schema", "required key is missing"),
        ({"name": "t", "schema": {}}, "config.baseConfig", "required key is missing"),
        (
            {"name": "t", "schema": {}, "baseConfig": {"storageType": "redis"}},
            "config.baseConfig.storageType",
            "'redis'",
        ),
        (
            {"name": "t", "schema": {}, "baseConfig": {"storageType": "default"}, "canAccess": True},
            "config.canAccess",
            "",
        ),
        (
            {"name": "t", "schema": {}, "baseConfig": {"storageType": "default"}, "type": "api"},
            "config.type",
            "a stream config",
        ),
        ({"name": 3, "schema": {}, "baseConfig": {"storageType": "default"}}, "config.name", "expected a string"),
    ],
)
def test_bad_stream_configs_name_the_file_and_field(
    tmp_path: Path, config: dict[str, object], field: str, message: str
) -> None:
    source = "export const config = {\n  name: 't',\n  schema: {},\n  baseConfig: { storageType: 'default' },\n}\n"
    file = _file(tmp_path, "steps/t.stream.ts", source)
    with pytest.raises(ConfigValidationError) as caught:
        parse_stream(file, orjson.dumps(config), False)
    issues = [i for i in caught.value.issues if i.field == field]
    assert issues, caught.value.issues
    assert issues[0].file == "steps/t.stream.ts" and message in issues[0].message
    assert str(issues[0]).startswith("steps/t.stream.ts")


def test_config_must_be_an_object(tmp_path: Path) -> None:
    with pytest.raises(ConfigValidationError, match="config: expected an object, got array"):
        parse_stream(_file(tmp_path, "steps/t.stream.ts"), b"[]", False)


def test_auth_file_needs_a_handler(tmp_path: Path) -> None:
    file = _file(tmp_path, "steps/stream-auth.ts", kind=FileKind.STREAM_AUTH)
    assert parse_auth(file, b'{"name": "auth"}', True).id == "steps/stream-auth.ts"
    with pytest.raises(ConfigValidationError, match="steps/stream-auth.ts: handler: the stream auth file must export"):
        parse_auth(file, b"{}", False)
    with pytest.raises(ConfigValidationError, match="config.path: unknown key"):
        parse_auth(file, b'{"path": "/"}', True)


def test_registry_rejects_duplicate_names_and_warns_on_custom_storage(tmp_path: Path) -> None:
    files = [
        _file(tmp_path, "steps/a.stream.ts"),
        _file(tmp_path, "steps/b.stream.ts"),
        _file(tmp_path, "steps/c.stream.ts"),
    ]
    base = {"schema": {}, "baseConfig": {"storageType": "default"}}
    custom = {"name": "other", "schema": {}, "baseConfig": {"storageType": "custom", "factory": {"$function": "f"}}}
    manifest = Manifest(
        steps=[
            ManifestEntry("steps/a.stream.ts", orjson.dumps({"name": "todo", **base}), False),
            ManifestEntry("steps/b.stream.ts", orjson.dumps({"name": "todo", **base}), False),
            ManifestEntry("steps/c.stream.ts", orjson.dumps(custom), False),
        ]
    )
    registry = Registry()
    registry.add_manifest(files, manifest)
    assert (
        set(registry.streams) == {"todo", "other"}
        and registry.streams["todo"].file.relative_path == "steps/a.stream.ts"
    )
    [issue] = registry.issues
    assert str(issue) == "steps/b.stream.ts: config.name: stream 'todo' is already declared by steps/a.stream.ts"
    assert any("steps/c.stream.ts" in w and "'custom' is not supported" in w for w in registry.warnings)
    assert registry.steps == []


def test_runners_load_stream_files_and_report_bad_ones(tmp_path: Path) -> None:
    """Through the real runners: stream files (config, no handler) load in TS and Python; bad ones are
    reported with file and field like bad steps."""
    steps = tmp_path / "steps"
    steps.mkdir()
    (steps / "good.stream.ts").write_text(
        "import { z } from 'zod'\n"
        "export const config = {\n"
        "  name: 'good', schema: z.object({ a: z.string() }), baseConfig: { storageType: 'default' },\n"
        "}\n"
    )
    (steps / "bad.stream.ts").write_text(
        "export const config = {\n  name: 'bad',\n  schema: {},\n  baseConfig: { storageType: 'memory' },\n}\n"
    )
    (steps / "nameless_stream.py").write_text(
        'config = {\n    "schema": {},\n    "baseConfig": {"storageType": "default"},\n    "extra": 1,\n}\n'
    )
    (steps / "ok_stream.py").write_text(
        'async def can_access(sub, ctx):\n    return True\n\n\nconfig = {"name": "ok", "schema": {}, '
        '"baseConfig": {"storageType": "default"}, "canAccess": can_access}\n'
    )
    result = subprocess.run(
        [sys.executable, "-m", "motia_core", "steps", "--dir", str(tmp_path), "--json"],
        capture_output=True,
        text=True,
        timeout=50,
    )
    doc = json.loads(result.stdout)
    issues = {(i["file"], i["field"]): i for i in doc["issues"]}
    assert set(issues) == {
        ("steps/bad.stream.ts", "config.baseConfig.storageType"),
        ("steps/nameless_stream.py", "config.name"),
        ("steps/nameless_stream.py", "config.extra"),
    }, doc
    assert issues[("steps/bad.stream.ts", "config.baseConfig.storageType")]["line"] == 4
    assert (
        issues[("steps/nameless_stream.py", "config.extra")]["message"] == "unknown key (not part of a stream config)"
    )
