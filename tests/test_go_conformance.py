"""The Go runner passes every case of the conformance kit (issue 14): through the runner registry
(only `--lang go`: the go runner package's declaration gives the command, the build, the fixtures and
the broken file), and with the command and fixtures given by hand, as for a runner registered nowhere."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from motia_core.conformance import CASES
from motia_core.runner_registry import installed_runners

ROOT = Path(__file__).resolve().parent.parent
GO_FIXTURES = ROOT / "runners" / "go" / "conformance"
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed$", re.MULTILINE)

pytestmark = [
    pytest.mark.skipif(shutil.which("go") is None, reason="needs Go (apt golang-go, installed by `make install`)"),
    pytest.mark.timeout(300),  # a cold Go build cache compiles grpc-go first
]


def kit(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "motia_core", "conformance", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=280, cwd=ROOT, check=False)


def assert_all_passed(result: subprocess.CompletedProcess[str]) -> None:
    report = result.stdout + result.stderr
    assert SUMMARY.findall(result.stdout)[-1:] == [(str(len(CASES)), "0")], report
    assert result.returncode == 0, report


def test_the_go_runner_is_registered_through_its_entry_point_like_a_third_party_package() -> None:
    found = installed_runners().for_file("hello_step.go")
    assert found is not None
    language, runner = found
    assert (language.name, runner.name) == ("go", "go")
    assert runner.conformance["go"].fixtures_dir == GO_FIXTURES
    assert runner.prepare is not None


def test_the_go_runner_conforms_through_the_registry() -> None:
    result = kit("--lang", "go")
    assert_all_passed(result)
    assert "runner 'go', go, fixtures" in result.stdout, result.stdout
    lines = {
        line.split()[0]: line for line in result.stdout.splitlines() if line.split()[:1] and line.split()[0] in CASES
    }
    # the broken file fails the build, reported with the project's path and line
    assert "build failed (1) with steps/broken_step.go:7:" in lines["load_error"], result.stdout


def test_the_go_runner_conforms_with_command_fixtures_and_broken_file_given_by_hand(tmp_path: Path) -> None:
    broken = tmp_path / "broken_step.go"
    broken.write_text("package steps\n\nfunc init() { undefinedThing() }\n", encoding="utf-8")
    runner = f"{shlex.quote(sys.executable)} -m motia_runner_go run"  # the project comes from MOTIA_PROJECT_DIR
    result = kit("--lang", "go", "--runner", runner, "--fixtures", str(GO_FIXTURES), "--broken", str(broken))
    assert_all_passed(result)
    assert "steps/broken_step.go:3:15: undefined: undefinedThing" in result.stdout, result.stdout
