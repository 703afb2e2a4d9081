"""The conformance kit for any language: the spec as data, `conformance init`, targets outside the
repository, readable failures, and runners with a build (prepare) step."""

from __future__ import annotations

import asyncio
import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from motia_core.conformance import CASES
from motia_core.conformance._kit import Kit
from motia_core.conformance._spec import SPEC_FILE, evaluate, spec
from motia_core.conformance._target import resolve
from motia_core.plugins import ConformanceFixture, LanguageDeclaration, RunnerContext, RunnerDeclaration
from motia_core.runner_registry import InstalledRunner, RunnerSet, installed_runners

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "core" / "motia_core" / "conformance" / "fixtures"
BOOTSTRAP = ROOT / "runners" / "python" / "motia_runner" / "bootstrap.py"
PY_RUNNER = f"{shlex.quote(sys.executable)} {shlex.quote(str(BOOTSTRAP))}"
REGISTERED = sorted(lang for decl in installed_runners().all() for lang in decl.conformance)


def kit(*args: str, timeout: float = 150) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "motia_core", "conformance", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def case_lines(stdout: str) -> dict[str, str]:
    lines = {}
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in CASES and parts[1] in ("PASS", "FAIL", "SKIP"):
            lines[parts[0]] = line
    return lines


@pytest.mark.timeout(90)
@pytest.mark.parametrize("language", REGISTERED)
def test_each_registered_fixture_folder_declares_what_the_spec_says(language: str) -> None:
    found = installed_runners().language(language)
    assert found is not None
    if found[1].name == "node" and shutil.which("node") is None:
        pytest.skip("node is not installed")
    if found[1].name == "ruby" and shutil.which("ruby") is None:
        pytest.skip("ruby is not installed")
    result = kit("--lang", language, "--case", "manifest", timeout=80)
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    assert "configs as the spec declares them" in case_lines(result.stdout)["manifest"], report
    assert f"{len(spec().steps)} steps" in case_lines(result.stdout)["manifest"], report


def test_the_spec_describes_eight_steps_and_its_templates_evaluate() -> None:
    assert [s.name for s in spec().steps] == [
        "ConformanceEcho",
        "ConformanceCalls",
        "ConformanceTick",
        "ConformanceBoom",
        "ConformanceBig",
        "ConformanceSlow",
        "ConformanceNoop",
        "ConformanceLenient",
    ]
    calls = spec().step("calls").calls
    scope = {"input": {"key": "k", "n": 3}, "replies": {"got": {"n": 3}, "all": [1, 2]}}
    assert evaluate(calls[2]["args"], scope) == {"group": "conf", "key": "k-2", "value": 3}
    assert evaluate(calls[6]["args"]["data"], scope) == {"n": 3, "got": {"n": 3}, "count": 2}
    assert evaluate(calls[7]["args"], scope) == {"group": "confk"}
    big = evaluate(spec().step("big").handler["returns"], {"request": {"body": {"size": 4}}})
    assert big == {"status": 200, "body": {"data": "xxxx"}}


def test_init_writes_the_spec_the_checklist_and_a_readme(tmp_path: Path) -> None:
    target = tmp_path / "go-fixtures"
    result = kit("init", "--lang", "go", "--step-pattern", "*_step.go", str(target))
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads((target / "fixtures.json").read_text()) == json.loads(SPEC_FILE.read_text())
    assert "ConformanceLenient" in (target / "FIXTURES.md").read_text()
    checklist = (target / "CHECKLIST.md").read_text()
    assert "- [ ] the conformance kit passes" in checklist
    readme = (target / "README.md").read_text()
    for step in spec().steps:
        assert f"`steps/{step.file}_step.go` | {step.name} |" in readme
    assert (target / "steps").is_dir()
    assert "motia-core conformance --lang go --runner" in result.stdout
    assert f"--fixtures {target} --broken {target}/broken/broken_step.go" in result.stdout
    again = kit("init", "--lang", "go", str(target))
    assert again.returncode == 2 and "already has fixtures.json" in again.stderr and "--force" in again.stderr
    assert kit("init", "--lang", "go", "--force", str(target)).returncode == 0
    bad = kit("init", "--lang", "Go Lang", str(tmp_path / "x"))
    assert bad.returncode == 2 and "expected a lower-case name" in bad.stderr


@pytest.mark.timeout(120)
def test_a_folder_init_wrote_and_filled_in_runs_with_the_commands_it_printed(tmp_path: Path) -> None:
    target = tmp_path / "fixtures"
    printed = kit("init", "--lang", "python", str(target)).stdout
    for step in (FIXTURES / "python" / "steps").glob("*_step.py"):
        shutil.copy(step, target / "steps" / step.name)
    (target / "broken").mkdir()
    (target / "broken" / "broken_step.py").write_text("def handler(:\n", encoding="utf-8")
    # the command init printed, with the runner filled in
    line = next(line for line in printed.splitlines() if "--fixtures" in line).strip()
    assert line == f"--fixtures {target} --broken {target}/broken/broken_step.py --step-pattern '*_step.py'"
    args = ["--lang", "python", "--runner", PY_RUNNER, *shlex.split(line)]
    cases = ["handshake", "manifest", "load_error", "event_invocation"]
    result = kit(*args, *(arg for case in cases for arg in ("--case", case)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.rstrip().endswith("4 passed, 0 failed"), result.stdout
    assert "SyntaxError" in case_lines(result.stdout)["load_error"], result.stdout


def test_init_uses_a_registered_languages_pattern(tmp_path: Path) -> None:
    result = kit("init", "--lang", "python", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert (
        "`steps/echo_step.py` | ConformanceEcho | api | `POST /conformance/echo/:id` |"
        in (tmp_path / "README.md").read_text()
    )


def test_the_kit_on_a_folder_init_just_wrote_says_which_files_are_missing(tmp_path: Path) -> None:
    assert kit("init", "--lang", "go", str(tmp_path)).returncode == 0
    result = kit("--lang", "go", "--runner", PY_RUNNER, "--fixtures", str(tmp_path))
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"no go step files in {tmp_path}/steps or /src (step patterns: *_step.go)" in result.stderr


def test_fixtures_written_for_another_spec_version_are_pointed_out(tmp_path: Path) -> None:
    assert kit("init", "--lang", "go", str(tmp_path)).returncode == 0
    written = json.loads((tmp_path / "fixtures.json").read_text())
    written["version"] = spec().version - 1
    (tmp_path / "fixtures.json").write_text(json.dumps(written))
    result = kit("--runner", PY_RUNNER, "--fixtures", str(tmp_path), "--case", "handshake")
    assert f"fixtures.json is spec version {spec().version - 1}, the kit checks version {spec().version}" in (
        result.stderr
    )


def test_an_unknown_language_without_a_runner_is_a_usage_error() -> None:
    result = kit("--lang", "cobol")
    assert result.returncode == 2
    assert "no installed runner declares the language or runner 'cobol'" in result.stderr
    assert "pass --runner and --fixtures" in result.stderr
    assert "python" in result.stderr  # the installed ones are listed
    several = kit("--lang", "node")
    assert several.returncode == 2
    assert "the node runner loads several languages (typescript, javascript)" in several.stderr
    neither = kit()
    assert neither.returncode == 2 and "pass --lang NAME" in neither.stderr


@pytest.mark.timeout(120)
def test_a_fixture_copy_with_a_step_missing_fails_naming_case_and_expectation(tmp_path: Path) -> None:
    fixtures = tmp_path / "fixtures"
    shutil.copytree(FIXTURES / "python", fixtures, ignore=shutil.ignore_patterns("__pycache__"))
    (fixtures / "steps" / "boom_step.py").unlink()
    calls = fixtures / "steps" / "calls_step.py"
    calls.write_text(calls.read_text().replace('    context.logger.info("calls done", {"n": n})\n', ""))
    cases = ["manifest", "event_invocation", "handler_failure", "api_invocation"]
    selected = [arg for case in cases for arg in ("--case", case)]
    result = kit("--runner", PY_RUNNER, "--fixtures", str(fixtures), "--lang", "python", *selected)
    report = result.stdout + result.stderr
    assert result.returncode == 1, report
    assert result.stdout.rstrip().endswith("1 passed, 3 failed"), report
    lines = case_lines(result.stdout)
    assert "FAIL" in lines["manifest"] and "missing step(s): ConformanceBoom" in lines["manifest"], report
    assert "FAIL" in lines["event_invocation"], report
    assert (
        "ConformanceCalls (ev1): calls were state_set, state_get, state_set, state_get_group, state_delete, "
        "emit, state_clear; expected state_set, state_get, state_set, state_get_group, state_delete, log, "
        "emit, state_clear" in lines["event_invocation"]
    ), report
    assert "step ConformanceBoom did not load in this runner" in lines["handler_failure"], report
    assert "PASS" in lines["api_invocation"], report


def test_without_a_broken_file_load_error_is_skipped_with_the_reason(tmp_path: Path) -> None:
    result = kit("--runner", PY_RUNNER, "--fixtures", str(FIXTURES / "python"), "--case", "load_error", "--json")
    report = json.loads(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert report["summary"] == "0 passed, 0 failed, 1 skipped"
    assert report["cases"][0]["skipped"] is True
    assert "pass --broken FILE" in report["cases"][0]["detail"]


# A build step for the Python fixtures, as a compiled language's runner has one: it "compiles" every
# step file and fails with `path:line: message` lines, the form the core turns into load errors.
PREPARE = """
import pathlib, py_compile, sys
failed = False
for path in sorted(pathlib.Path("steps").glob("*_step.py")):
    try:
        py_compile.compile(str(path), doraise=True)
    except py_compile.PyCompileError as exc:
        line = getattr(exc.exc_value, "lineno", 1)
        print(f"{path.as_posix()}:{line}: {exc.exc_type_name}", flush=True)
        failed = True
(pathlib.Path(".motia-built")).write_text("ok")
sys.exit(1 if failed else 0)
"""


def _declaration(tmp_path: Path) -> RunnerDeclaration:
    script = tmp_path / "prepare.py"
    script.write_text(PREPARE, encoding="utf-8")
    from motia_core.builtin_runners import python as builtin_python

    def command(ctx: RunnerContext) -> list[str]:
        # the runner may only start once the build ran: what a compiled language needs
        assert (ctx.project_dir / ".motia-built").is_file(), "prepare did not run before the runner"
        return [sys.executable, str(BOOTSTRAP)]

    return RunnerDeclaration(
        name="python",
        languages=(LanguageDeclaration("python", ("*_step.py",)),),
        command=command,
        prepare=lambda ctx: [sys.executable, str(script)],
        env=builtin_python.env,
        conformance={
            "python": ConformanceFixture(FIXTURES / "python", "steps/broken_step.py", "def handler(:\n    pass\n")
        },
    )


@pytest.mark.timeout(120)
def test_a_runner_with_a_prepare_step_is_built_first_and_a_broken_file_fails_its_build(tmp_path: Path) -> None:
    runners = RunnerSet([InstalledRunner(_declaration(tmp_path), "test")])
    target = resolve("python", None, None, None, runners=runners)
    names = ["handshake", "load_error", "api_invocation"]
    results = asyncio.run(Kit(target, 30.0).run([(name, CASES[name]) for name in names]))
    by_name = {r.name: r for r in results}
    assert all(r.passed for r in results), [(r.name, r.detail) for r in results]
    assert "build failed (1) with steps/broken_step.py:1: SyntaxError" in by_name["load_error"].detail


def test_a_failing_prepare_step_stops_the_kit_with_its_output(tmp_path: Path) -> None:
    fixtures = tmp_path / "fixtures"
    shutil.copytree(FIXTURES / "python", fixtures, ignore=shutil.ignore_patterns("__pycache__"))
    (fixtures / "steps" / "echo_step.py").write_text("config = {\n", encoding="utf-8")
    runners = RunnerSet([InstalledRunner(_declaration(tmp_path), "test")])
    target = resolve("python", None, fixtures, None, runners=runners)
    from motia_core.conformance._kit import KitSetupError

    with pytest.raises(KitSetupError, match=r"prepare command failed \(1\): steps/echo_step.py:1: SyntaxError"):
        asyncio.run(Kit(target, 10.0).run([("handshake", CASES["handshake"])]))


def test_the_checklist_in_the_docs_is_the_kits_checklist() -> None:
    doc = (ROOT / "docs" / "writing-a-runner.md").read_text()
    items = [line for line in (SPEC_FILE.parent / "CHECKLIST.md").read_text().splitlines() if line.startswith("- [ ]")]
    assert len(items) >= 10
    missing = [item for item in items if item not in doc]
    assert not missing, missing


def test_the_prose_spec_names_every_step_of_the_data_spec() -> None:
    text = (SPEC_FILE.parent / "FIXTURES.md").read_text()
    for step in spec().steps:
        assert f"**{step.name}**" in text, step.name
