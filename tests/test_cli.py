"""The command line: help everywhere, emit against a running core, output capture, venv choice."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CoreProcess


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "motia_core", *args], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("args", [[], ["serve"], ["steps"], ["emit"]])
def test_help_everywhere(args: list[str]) -> None:
    result = _cli(*args, "--help")
    assert result.returncode == 0
    assert "usage: motia-core" in result.stdout


def test_bad_flags_are_reported() -> None:
    result = _cli("serve", "--log-format", "xml")
    assert result.returncode == 2
    assert "invalid choice: 'xml'" in result.stderr
    result = _cli("emit", "--topic", "t", "--data", "{not json")
    assert result.returncode == 2
    assert "--data is not valid JSON" in result.stderr


def test_emit_command_reaches_a_running_core(mixed_core: CoreProcess) -> None:
    result = _cli("emit", "--topic", "cli.topic", "--data", '{"a": 1}', "--url", mixed_core.url)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"success": True, "emitted": {"topic": "cli.topic", "data": {"a": 1}}}
    unreachable = _cli("emit", "--topic", "t", "--url", "http://127.0.0.1:9")
    assert unreachable.returncode == 1
    assert "cannot reach" in unreachable.stderr


def test_runner_output_lands_in_the_core_log_tagged(mixed_core: CoreProcess) -> None:
    line = mixed_core.wait_for_log(lambda d: d.get("msg") == "hello_step imported")
    assert line["source"] == "runner:python"


def test_steps_lists_a_mixed_project(tmp_path: Path) -> None:
    from tests.conftest import copy_fixture

    project = copy_fixture("mixed", tmp_path)
    result = _cli("steps", "--dir", str(project), "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "POST /messages" in result.stdout
    assert "subscribes message.sent" in result.stdout
    assert "0 invalid" in result.stdout


def test_python_steps_run_on_the_projects_virtualenv(start_core: Callable[..., CoreProcess], tmp_path: Path) -> None:
    import urllib.request

    from tests.conftest import copy_fixture

    project = copy_fixture("venv", tmp_path)
    venv = project / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    purelib = sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)})
    Path(purelib).mkdir(parents=True, exist_ok=True)
    (Path(purelib) / "only_in_project_venv.py").write_text("MARKER = 'from the project venv'\n")
    core = start_core("venv")
    with urllib.request.urlopen(f"{core.url}/which", timeout=10) as resp:
        doc = json.loads(resp.read())
    assert doc["marker"] == "from the project venv"
    assert doc["executable"].startswith(str(venv))


def test_busy_port_and_missing_project_are_clear_errors(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        (tmp_path / "steps").mkdir()
        result = _cli("serve", "--dir", str(tmp_path), "--host", "127.0.0.1", "--port", str(port))
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
    missing = _cli("steps", "--dir", str(tmp_path / "nope"))
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    none = _cli("steps", "--dir", str(empty))
    assert none.returncode == 0
    assert "no steps/ or src/ folder" in none.stderr


def test_steps_lists_streams(tmp_path: Path) -> None:
    from tests.conftest import copy_fixture

    project = copy_fixture("streams", tmp_path)
    result = _cli("steps", "--dir", str(project), "--json")
    assert result.returncode == 0, result.stderr
    names = {s["name"] for s in json.loads(result.stdout)["streams"]}
    assert "todo" in names
    plain = _cli("steps", "--dir", str(project))
    assert "ctx.streams.todo" in plain.stdout
