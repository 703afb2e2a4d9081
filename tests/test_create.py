"""`motia-core create`: every template is served by a real core with real runners, and its own test passes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from motia_core import paths
from motia_core.create import TEMPLATES, create, resolve_arguments
from motia_core.errors import CreateError
from tests.conftest import ROOT, CoreProcess

TSC = ROOT / "runners/node/node_modules/typescript/bin/tsc"  # the repository's TypeScript

BIN_DIR = str(Path(sys.executable).parent)  # where `motia-core` is installed, for the templates' own tests


def _create(tmp_path: Path, template: str) -> Path:
    proc = subprocess.run(
        [sys.executable, "-m", "motia_core", "create", str(tmp_path / "app"), "--template", template],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    return tmp_path / "app"


@pytest.fixture(scope="module")
def created(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path, str], Path]:
    """`motia-core create` once per template for the module; each test gets its own copy (tests edit and serve
    it), byte for byte what create wrote, node_modules links included. Saves a CLI start (~1.5 s) per test."""
    made: dict[str, Path] = {}

    def copy(tmp_path: Path, template: str) -> Path:
        if template not in made:
            made[template] = _create(tmp_path_factory.mktemp(f"created-{template}"), template)
        shutil.copytree(made[template], tmp_path / "app", symlinks=True)
        return tmp_path / "app"

    return copy


def _request(method: str, url: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def greet_through(url: str, timeout: float = 30.0) -> dict[str, Any]:
    """POST /hello, then wait for the event chain to mark the greeting greeted; returns the greeting."""
    status, body = _request("POST", url + "/hello", {"name": "Ada"})
    assert status == 202, body
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, greeting = _request("GET", f"{url}/greetings/{body['traceId']}")
        if status == 200 and greeting.get("status") == "greeted":
            return dict(greeting)
        time.sleep(0.1)
    raise AssertionError(f"greeting never completed; last answer {status} {greeting}")


@pytest.mark.timeout(180)
@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_template_is_served_and_its_chain_runs(
    tmp_path: Path, template: str, created: Callable[[Path, str], Path]
) -> None:
    project = created(tmp_path, template)
    assert (project / ".gitignore").read_text().startswith(".motia/")
    assert "motia-core dev" in (project / "README.md").read_text()
    node_project = (project / "package.json").is_file()
    if node_project:  # as after `npm install`, which prunes the links create made: serve makes them again
        shutil.rmtree(project / "node_modules")
    core = CoreProcess(project)
    try:
        core.wait_ready(60)
        if node_project:
            assert (project / "node_modules/motia").resolve() == paths.sdk_node_dir().resolve()
            assert (project / "node_modules/zod/package.json").is_file()
        greeting = greet_through(core.url)
        assert greeting["message"] == "Hello, Ada!"
        assert greeting["hops"] == list(TEMPLATES[template].hops)
        status, _ = _request("POST", core.url + "/hello", {})  # the bodySchema is enforced
        assert status == 400
    finally:
        core.stop()


def _own_test_commands(template: str) -> list[list[str]]:
    commands: list[list[str]] = []
    if template in ("py", "multilang"):
        # -p no:asyncio: the project's pytest.ini does not configure the plugin this venv happens to carry
        commands.append([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:asyncio"])
    if template == "rb":
        commands.append(["ruby", "test/steps_test.rb"])
    if template in ("ts", "js", "multilang"):
        commands.append(["node", "--test", "test/"])
    return commands


@pytest.mark.timeout(240)
@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_template_own_test_passes(tmp_path: Path, template: str, created: Callable[[Path, str], Path]) -> None:
    project = created(tmp_path, template)
    env = {**os.environ, "PATH": BIN_DIR + os.pathsep + os.environ.get("PATH", "")}
    for command in _own_test_commands(template):
        assert shutil.which(command[0], path=env["PATH"]), f"{command[0]} is part of `make install`"
        proc = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=180)
        assert proc.returncode == 0, f"{command}:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"


def tsc(project: Path) -> subprocess.CompletedProcess[str]:
    """A bare `tsc` in the project, as an editor or CI runs it: nothing maps `motia` or `zod` but node_modules."""
    return subprocess.run(
        ["node", str(TSC), "-p", str(project), "--noEmit"], cwd=project, capture_output=True, text=True, timeout=150
    )


def tsc_accepts_the_project_and_rejects_a_wrong_topic(project: Path, *extra: str) -> None:
    """One tsc run (10-25 s on the shared machine) proves both sides: the project's files (and ``extra`` ones it
    holds) type-check clean, while a copy of its API step emitting to a misspelt topic fails, through
    types.d.ts, with exactly the expected error."""
    hello = (project / "steps/hello.step.ts").read_text()
    assert "emit({ topic: 'hello.sent'" in hello
    (project / "wrong-topic.ts").write_text(hello.replace("emit({ topic: 'hello.sent'", "emit({ topic: 'hello.snet'"))
    config = json.loads((project / "tsconfig.json").read_text())
    config["include"] += ["wrong-topic.ts", *extra]
    (project / "tsconfig.json").write_text(json.dumps(config))
    checked = tsc(project)
    errors = [line for line in checked.stdout.splitlines() if ": error TS" in line]
    assert checked.returncode != 0 and len(errors) == 1, checked.stdout + checked.stderr
    assert errors[0].startswith("wrong-topic.ts(")
    assert errors[0].endswith("error TS2322: Type '\"hello.snet\"' is not assignable to type '\"hello.sent\"'.")


# a test of the project's own, against motia/testing's declarations (the template has none in TypeScript)
KIT_CHECK = """import { createTester } from 'motia/testing'
import * as hello from './steps/hello.step'

export async function check(): Promise<number> {
  const t = createTester(hello)
  const res = await t.api({ body: { name: 'Ada' } })
  return res.status + t.emittedOn('hello.sent').length
}
"""


@pytest.mark.timeout(240)
@pytest.mark.parametrize("template", ["ts", "multilang"])
def test_typescript_templates_type_check_with_generated_types(
    tmp_path: Path, template: str, created: Callable[[Path, str], Path]
) -> None:
    project = created(tmp_path, template)
    gen = subprocess.run(
        [sys.executable, "-m", "motia_core", "generate-types", "--dir", str(project)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert gen.returncode == 0, gen.stderr
    (project / "kit-check.ts").write_text(KIT_CHECK)
    tsc_accepts_the_project_and_rejects_a_wrong_topic(project, "kit-check.ts")


def test_a_non_empty_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "keep.txt").write_text("mine")
    proc = subprocess.run(
        [sys.executable, "-m", "motia_core", "create", str(tmp_path / "app"), "--template", "py"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=30,
    )
    assert proc.returncode == 2
    assert "is not empty" in proc.stderr and str(tmp_path / "app") in proc.stderr
    assert sorted(p.name for p in (tmp_path / "app").iterdir()) == ["keep.txt"]


def test_an_empty_folder_is_used(tmp_path: Path) -> None:
    (tmp_path / "app" / ".git").mkdir(parents=True)  # a fresh `git init` does not count
    files = create(tmp_path / "app", "rb")
    assert tmp_path / "app" / "steps" / "hello_step.rb" in files


def test_an_unknown_template_names_the_choices(tmp_path: Path) -> None:
    with pytest.raises(CreateError, match=r"unknown template 'go': expected one of ts, js, py, rb, multilang"):
        create(tmp_path / "app", "go")
    assert not (tmp_path / "app").exists()


def test_without_a_terminal_missing_flags_are_errors() -> None:
    with pytest.raises(CreateError, match="--template is required"):
        resolve_arguments("app", None, interactive=False)
    with pytest.raises(CreateError, match=r"\(DIR\) is required"):
        resolve_arguments(None, "ts", interactive=False)


def test_on_a_terminal_missing_flags_are_asked(capsys: pytest.CaptureFixture[str]) -> None:
    answers = iter(["cobol", "multilang", "my-app"])
    asked: list[str] = []

    def ask(prompt: str) -> str:
        asked.append(prompt)
        return next(answers)

    assert resolve_arguments(None, None, interactive=True, ask=ask) == (Path("my-app"), "multilang")
    assert asked[0].startswith("Template?") and asked[-1].startswith("Project folder?")
    assert "unknown template 'cobol'" in capsys.readouterr().err
    assert resolve_arguments(None, None, interactive=True, ask=lambda _: "") == (Path("motia-app"), "ts")
