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
from pathlib import Path
from typing import Any

import pytest

from motia_core.create import TEMPLATES, create, resolve_arguments
from motia_core.errors import CreateError
from tests.conftest import ROOT, CoreProcess

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
def test_template_is_served_and_its_chain_runs(tmp_path: Path, template: str) -> None:
    project = _create(tmp_path, template)
    assert (project / ".gitignore").read_text().startswith(".motia/")
    assert "motia-core dev" in (project / "README.md").read_text()
    core = CoreProcess(project)
    try:
        core.wait_ready(60)
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
def test_template_own_test_passes(tmp_path: Path, template: str) -> None:
    project = _create(tmp_path, template)
    env = {**os.environ, "PATH": BIN_DIR + os.pathsep + os.environ.get("PATH", "")}
    for command in _own_test_commands(template):
        assert shutil.which(command[0], path=env["PATH"]), f"{command[0]} is part of `make install`"
        proc = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=180)
        assert proc.returncode == 0, f"{command}:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"


def _tsc(project: Path) -> subprocess.CompletedProcess[str]:
    """tsc --strict on the project's own tsconfig, with `motia` and `zod` mapped where the runner finds them."""
    options = {
        "baseUrl": ".",
        "typeRoots": [str(ROOT / "sdk-node/node_modules/@types")],
        "paths": {"motia": [str(ROOT / "sdk-node/src/index.ts")], "zod": [str(ROOT / "runners/node/node_modules/zod")]},
    }
    (project / "tsconfig.check.json").write_text(json.dumps({"extends": "./tsconfig.json", "compilerOptions": options}))
    tsc = ROOT / "sdk-node/node_modules/.bin/tsc"
    return subprocess.run(
        [str(tsc), "-p", "tsconfig.check.json"], cwd=project, capture_output=True, text=True, timeout=120
    )


@pytest.mark.timeout(240)
@pytest.mark.parametrize("template", ["ts", "multilang"])
def test_typescript_templates_type_check_with_generated_types(tmp_path: Path, template: str) -> None:
    project = _create(tmp_path, template)
    gen = subprocess.run(
        [sys.executable, "-m", "motia_core", "generate-types", "--dir", str(project)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert gen.returncode == 0, gen.stderr
    checked = _tsc(project)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # the check can fail: a misspelt topic in the emit is a type error
    hello = project / "steps/hello.step.ts"
    hello.write_text(hello.read_text().replace("emit({ topic: 'hello.sent'", "emit({ topic: 'hello.snet'"))
    assert "hello.snet" in _tsc(project).stdout


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
