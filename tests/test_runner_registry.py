"""The runner registry (issue 14): languages declared by entry points and by the project's motia.config,
conflicts, prepare failures as load errors, and a project-declared runner serving real requests."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from importlib.metadata import EntryPoint, distributions
from pathlib import Path
from typing import Any

import pytest

from motia_core import project_config, project_runners
from motia_core.errors import ProjectError
from motia_core.logs import Logger
from motia_core.plugins import LanguageDeclaration, RunnerContext, RunnerDeclaration
from motia_core.project import FileKind, RunnerName, StepFile, discover
from motia_core.runner_registry import (
    InstalledRunner,
    RunnerRegistryError,
    RunnerSet,
    entry_point_runners,
    installed_runners,
    load_entry_point,
)
from motia_core.runners.launch import RunnerLauncher
from motia_core.runners.prepare import build_failure
from tests.conftest import CoreProcess, copy_fixture


def get(url: str, timeout: float = 30.0) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "motia_core", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
    )


def declaration(name: str, *languages: LanguageDeclaration) -> RunnerDeclaration:
    return RunnerDeclaration(name, languages, command=lambda ctx: ["true"])


# -- the built-in runners go through the registry like any other ----------------------------------


def test_the_built_in_runners_are_entry_points_and_classify_files_as_before() -> None:
    runners = installed_runners()  # no project: the installed entry points only
    for name in ("node", "python", "ruby"):
        assert f"entry point {name} = motia_core.builtin_runners:{name} (motia-core " in runners.source_of(name)
    cases = {
        "a.step.ts": (FileKind.STEP, "typescript", "node"),
        "a_step.js": (FileKind.STEP, "javascript", "node"),
        "a_step.py": (FileKind.STEP, "python", "python"),
        "a.step.rb": (FileKind.STEP, "ruby", "ruby"),
        "a_stream.py": (FileKind.STREAM, "python", "python"),
        "a.stream.ts": (FileKind.STREAM, "typescript", "node"),
        "stream-auth.rb": (FileKind.STREAM_AUTH, "ruby", "ruby"),
        "stream_auth.py": (FileKind.STREAM_AUTH, "python", "python"),
    }
    for name, (kind, language, runner) in cases.items():
        match = runners.classify(name)
        assert match is not None, name
        assert (match.kind, match.language.name, match.runner.name) == (kind, language, runner), name
    for name in ("a.step.py", "stream-auth.py", "a.STEP.TS", "helper.ts", "a_step.pyc"):
        assert runners.classify(name) is None, name
    assert runners.for_source("util.mts") == {"node"} and runners.for_source("db.py") == {"python"}
    assert runners.for_source("notes.yaml") == set()


def _fake_distribution(root: Path, entry_points: str) -> None:
    """A third-party runner package as pip would leave it: a module and a dist-info with entry points."""
    (root / "reg_fake_runner.py").write_text(
        "from motia_core.plugins import LanguageDeclaration, RunnerDeclaration\n"
        "LANG = LanguageDeclaration('fake', ('*_step.fake',))\n"
        "fake = RunnerDeclaration('fake', (LANG,), command=lambda ctx: ['fake-runner'])\n"
        "def several():\n"
        "    return [RunnerDeclaration('fake2', (LanguageDeclaration('fake2', ('*_step.fk2',)),), lambda c: ['x'])]\n"
        "not_a_declaration = 42\n"
    )
    info = root / "reg_fake_runner-1.2.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: reg-fake-runner\nVersion: 1.2\n")
    (info / "entry_points.txt").write_text("[motia_core.runners]\n" + entry_points)


def _entry_points(root: Path) -> list[EntryPoint]:
    (dist,) = list(distributions(path=[str(root)]))
    return [ep for ep in dist.entry_points if ep.group == "motia_core.runners"]


def test_entry_points_of_a_third_party_distribution_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_distribution(tmp_path, "fake = reg_fake_runner:fake\nmore = reg_fake_runner:several\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    installed = entry_point_runners(_entry_points(tmp_path))
    by_name = {r.declaration.name: r for r in installed}
    assert sorted(by_name) == ["fake", "fake2"]
    assert by_name["fake"].source == "entry point fake = reg_fake_runner:fake (reg-fake-runner 1.2)"
    runners = RunnerSet(installed)
    assert runners.for_file("x_step.fake") == (by_name["fake"].declaration.languages[0], by_name["fake"].declaration)
    assert runners.classify("x_step.fk2") is not None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("missing_module_xyz:fake", "does not load: ModuleNotFoundError"),
        ("reg_fake_runner:not_a_declaration", "expected a motia_core.plugins.RunnerDeclaration"),
    ],
)
def test_a_bad_entry_point_names_its_distribution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str, expected: str
) -> None:
    _fake_distribution(tmp_path, f"broken = {value}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    (ep,) = _entry_points(tmp_path)
    with pytest.raises(RunnerRegistryError) as caught:
        load_entry_point(ep)
    message = str(caught.value)
    assert f"entry point broken = {value} (reg-fake-runner 1.2)" in message and expected in message


# -- conflicts -------------------------------------------------------------------------------------


def test_two_declarations_claiming_one_pattern_is_an_error_naming_both() -> None:
    a = declaration("alpha", LanguageDeclaration("alpha", ("*_step.x",)))
    b = declaration("beta", LanguageDeclaration("beta", ("*.step.y", "*_step.x")))
    with pytest.raises(RunnerRegistryError) as caught:
        RunnerSet([InstalledRunner(a, "entry point a"), InstalledRunner(b, "motia.config.js", project=True)])
    message = str(caught.value)
    assert "two runner declarations claim the pattern '*_step.x'" in message
    assert "runner 'alpha' language 'alpha' (entry point a)" in message
    assert "runner 'beta' language 'beta' (motia.config.js)" in message


def test_a_file_matching_two_languages_stops_discovery_naming_both(tmp_path: Path) -> None:
    wide = declaration("wide", LanguageDeclaration("wide", ("*.x",)))
    narrow = declaration("narrow", LanguageDeclaration("narrow", ("*_step.x",)))
    runners = RunnerSet([InstalledRunner(wide, "entry point w"), InstalledRunner(narrow, "entry point n")])
    (tmp_path / "steps").mkdir()
    (tmp_path / "steps" / "ok.x").write_text("")
    assert [f.runtime for f in discover(tmp_path, runners).files] == ["wide"]
    (tmp_path / "steps" / "a_step.x").write_text("")
    with pytest.raises(RunnerRegistryError) as caught:
        discover(tmp_path, runners)
    message = str(caught.value)
    assert "a_step.x matches two runner declarations" in message
    assert "runner 'wide' language 'wide' (entry point w) ('*.x')" in message
    assert "runner 'narrow' language 'narrow' (entry point n) ('*_step.x')" in message


@pytest.mark.timeout(120)
def test_a_project_runner_claiming_an_installed_pattern_stops_steps_and_serve(tmp_path: Path) -> None:
    project = copy_fixture("reg_project", tmp_path)
    config = project / "motia.config.js"
    config.write_text(config.read_text().replace("'*_step.pyx'", "'*_step.py'"))
    done = cli("steps", "--dir", str(project))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "two runner declarations claim the pattern '*_step.py'" in done.stderr
    assert "runner 'python' language 'python' (entry point python = motia_core.builtin_runners:python" in done.stderr
    assert "runner 'pyx' language 'pyx' (motia.config.js)" in done.stderr
    serve = CoreProcess(project)
    try:
        serve.proc.wait(60)
    finally:
        assert serve.stop() == 2  # stop() also reads the last of its output
    assert "two runner declarations claim the pattern '*_step.py'" in serve.output()


# -- the `runners` key of motia.config -------------------------------------------------------------


def _config_file(tmp_path: Path) -> StepFile:
    return StepFile(tmp_path / "motia.config.js", "motia.config.js", "javascript", RunnerName("node"))


GO = [{"name": "go", "stepPatterns": ["*_step.go"]}]


@pytest.mark.parametrize(
    ("runners", "where", "what"),
    [
        ([], "runners", "expected an object"),
        (
            {"go": {"languages": GO, "command": [1]}},
            "runners.go.command[0]",
            "expected a non-empty string, got a number",
        ),
        ({"go": {"languages": GO}}, "runners.go.command", "missing"),
        ({"go": {"languages": [], "command": ["x"]}}, "runners.go.languages", "expected a non-empty array"),
        ({"go": {"languages": [{"name": "go"}], "command": ["x"]}}, "runners.go.languages[0].stepPatterns", "missing"),
        (
            {"go": {"languages": [{"name": "go", "stepPatterns": ["steps/*.go"]}], "command": ["x"]}},
            "runners.go.languages[0].stepPatterns[0]",
            "not a path",
        ),
        ({"go": {"languages": GO, "command": ["x"], "env": {"A": 1}}}, "runners.go.env.A", "expected a string"),
        ({"go": {"languages": GO, "command": ["x"], "build": []}}, "runners.go.build", "unknown key"),
        ({"Go!": {"languages": GO, "command": ["x"]}}, "runners.Go!", "lower-case"),
    ],
)
def test_a_malformed_runners_key_names_the_field(tmp_path: Path, runners: object, where: str, what: str) -> None:
    with pytest.raises(project_config.ProjectConfigError) as caught:
        project_config.interpret(_config_file(tmp_path), {"runners": runners})
    assert caught.value.field == where and what in str(caught.value)
    assert str(caught.value).startswith(f"motia.config.js: {where}: ")


def test_project_declarations_expand_placeholders_and_replace_an_installed_runner(tmp_path: Path) -> None:
    raw = {
        "runners": {
            "python": {
                "languages": [{"name": "python", "stepPatterns": ["*_step.py", "*_task.py"]}],
                "command": ["{python}", "-m", "motia_runner"],
                "prepare": ["make", "-C", "{project}"],
                "env": {"HOME_OF_STEPS": "{project}/steps"},
            }
        }
    }
    config = project_config.interpret(_config_file(tmp_path), raw)
    assert config.findings == []  # `runners` is a setting motia-core knows now
    runners = installed_runners(tmp_path, config)
    assert runners.source_of("python") == "motia.config.js"
    assert any("runner 'python' replaces the installed one (entry point python" in n for n in runners.notes)
    decl = runners.runner("python")
    assert decl is not None and decl.prepare is not None and decl.env is not None
    ctx = RunnerContext(tmp_path, (), "/venv/bin/python", strict=False)
    assert list(decl.command(ctx)) == ["/venv/bin/python", "-m", "motia_runner"]
    assert list(decl.prepare(ctx)) == ["make", "-C", str(tmp_path)]
    assert dict(decl.env(ctx)) == {"HOME_OF_STEPS": f"{tmp_path}/steps"}
    match = runners.classify("nightly_task.py")
    assert match is not None and match.runner is decl
    assert project_runners.parse(None) == []


# -- prepare failures ------------------------------------------------------------------------------


def test_build_failure_output_becomes_load_errors_with_lines(tmp_path: Path) -> None:
    files = [
        StepFile(tmp_path / "steps/a_step.go", "steps/a_step.go", "go", RunnerName("go")),
        StepFile(tmp_path / "steps/b_step.go", "steps/b_step.go", "go", RunnerName("go")),
        StepFile(tmp_path / "steps/c_step.go", "steps/c_step.go", "go", RunnerName("go")),
    ]
    output = (
        "# command-line-arguments\n"
        "./steps/a_step.go:3:7: undefined: foo\n"
        f"{tmp_path}/steps/b_step.go:12: missing return\n"
        "/usr/lib/go/src/fmt/print.go:1: not ours\n"
    )
    issues = {i.file: i for i in build_failure("go", output, 2, tmp_path, files)}
    assert (issues["steps/a_step.go"].line, issues["steps/a_step.go"].message) == (3, "undefined: foo")
    assert (issues["steps/b_step.go"].line, issues["steps/b_step.go"].message) == (12, "missing return")
    assert issues["steps/c_step.go"].message == (
        "not loaded: the go runner's build failed (see steps/a_step.go:3: undefined: foo)"
    )
    nothing = build_failure("go", "", 7, tmp_path, files[:1])
    assert nothing[0].message == "not loaded: the go runner's build failed (see exit code 7)"


def _break(project: Path) -> None:
    hello = project / "steps" / "hello_step.pyx"
    lines = hello.read_text().splitlines()
    lines.insert(2, "# BROKEN on purpose")  # line 3
    hello.write_text("\n".join(lines) + "\n")
    (project / "steps" / "second_step.pyx").write_text(
        'config = {"type": "event", "name": "PyxSecond", "subscribes": ["x"], "emits": []}\n\n\n'
        "async def handler(data, context):\n    pass\n"
    )


@pytest.mark.timeout(120)
def test_a_failed_prepare_is_a_load_error_with_its_line_in_steps(tmp_path: Path) -> None:
    project = copy_fixture("reg_project", tmp_path)
    _break(project)
    done = cli("steps", "--json", "--dir", str(project))
    doc = json.loads(done.stdout)
    issues = {i["file"]: i for i in doc["issues"]}
    assert issues["steps/hello_step.pyx"]["line"] == 3
    assert issues["steps/hello_step.pyx"]["message"] == "boom: # BROKEN on purpose"
    assert issues["steps/second_step.pyx"]["message"] == (
        "not loaded: the pyx runner's build failed (see steps/hello_step.pyx:3: boom: # BROKEN on purpose)"
    )
    assert [s["name"] for s in doc["steps"]] == ["PyHello"]  # the python runner is not held back
    text = cli("steps", "--dir", str(project)).stdout
    assert "INVALID steps/hello_step.pyx:3: boom: # BROKEN on purpose" in text


@pytest.mark.timeout(120)
def test_serve_keeps_the_other_runners_serving_when_a_prepare_fails(
    start_core: Callable[..., CoreProcess], tmp_path: Path
) -> None:
    _break(copy_fixture("reg_project", tmp_path))
    core = start_core("reg_project")
    assert get(core.url + "/py/hello") == (200, {"from": "python"})
    assert get(core.url + "/pyx/hello")[0] == 404
    assert "pyx" not in core.runner_pids()  # never started: its build failed
    assert core.find_logs(lambda d: "invalid step: steps/hello_step.pyx:3: boom" in d.get("msg", ""))


# -- a project-declared runner, end to end ---------------------------------------------------------


@pytest.mark.timeout(120)
def test_a_project_declared_runner_is_prepared_started_and_serves(start_core: Callable[..., CoreProcess]) -> None:
    core = start_core("reg_project")
    status, body = get(core.url + "/pyx/hello")
    assert status == 200 and body == {"from": "pyx", "home": str(core.project)}  # env with {project}
    assert get(core.url + "/py/hello") == (200, {"from": "python"})  # the installed python runner, beside it
    assert (core.project / "prepared.log").read_text() == "prepared\n"  # prepare ran once, before the start
    pids = core.runner_pids()
    assert set(pids) == {"pyx", "python"} and pids["pyx"] != pids["python"]  # no streamAuth: no Node runner
    _, runners = get(core.url + "/__motia/runners")
    assert {r["runtime"]: r["languages"] for r in runners["runners"]} == {"pyx": ["pyx"], "python": ["python"]}
    status, steps = get(core.url + "/__motia/steps")
    languages = {s["name"]: s["language"] for s in steps["steps"]}
    assert languages == {"PyxHello": "pyx", "PyHello": "python"}
    # the Python runner says "python": the registry says which runner that is and warns about the name
    assert core.find_logs(lambda d: "says its language is 'python'" in d.get("msg", ""))


@pytest.mark.timeout(180)
def test_dev_runs_prepare_before_a_reload_and_a_failed_one_keeps_the_old_runner(tmp_path: Path) -> None:
    project = copy_fixture("reg_project", tmp_path)
    core = CoreProcess(project, command="dev")
    try:
        core.wait_ready(60)
        assert get(core.url + "/pyx/hello")[0] == 200
        hello = project / "steps" / "hello_step.pyx"
        source = hello.read_text()
        hello.write_text(source + "# BROKEN now\n")
        said = "steps/hello_step.pyx:8: boom: # BROKEN now; the pyx runner's build failed, the old one keeps serving"
        line = core.wait_for_log(lambda d: d.get("msg") == said, 60)
        assert (line["level"], line["file"], line["line"]) == ("error", "steps/hello_step.pyx", 8)
        assert get(core.url + "/pyx/hello")[0] == 200  # the old runner still answers
        hello.write_text(source.replace('"from": "pyx"', '"from": "pyx v2"'))
        deadline = time.monotonic() + 60
        while get(core.url + "/pyx/hello")[1].get("from") != "pyx v2":
            assert time.monotonic() < deadline, core.output()
            time.sleep(0.1)
        assert (project / "prepared.log").read_text().count("prepared") == 3  # start, failed, good
    finally:
        core.stop()


def test_the_runners_command_lists_installed_and_project_runners(tmp_path: Path) -> None:
    project = copy_fixture("reg_project", tmp_path)
    done = cli("runners", "--json", "--dir", str(project))
    assert done.returncode == 0, done.stderr
    by_name = {r["name"]: r for r in json.loads(done.stdout)}
    assert by_name["pyx"]["source"] == "motia.config.js" and by_name["pyx"]["project"] is True
    assert by_name["pyx"]["languages"][0]["stepPatterns"] == ["*_step.pyx"] and by_name["pyx"]["prepare"]
    assert by_name["node"]["source"].startswith("entry point node = motia_core.builtin_runners:node (motia-core ")
    assert [lang["name"] for lang in by_name["node"]["languages"]] == ["typescript", "javascript"]
    assert sorted(by_name["node"]["conformance"]) == ["javascript", "typescript"]
    text = cli("runners", "--dir", str(project)).stdout
    assert "pyx: Python steps in .pyx files (a test runner)" in text and "source: motia.config.js" in text


def test_a_declaration_that_cannot_start_is_a_load_error_not_a_crash(tmp_path: Path) -> None:
    def no_tool(_ctx: RunnerContext) -> list[str]:
        raise ProjectError("tool-x is not installed (x steps need tool-x 2+)")

    decl = RunnerDeclaration("x", (LanguageDeclaration("x", ("*_step.x",)),), no_tool)
    launcher = RunnerLauncher(tmp_path, RunnerSet([InstalledRunner(decl, "t")]), Logger(), strict=False, slots=4)
    files = [StepFile(tmp_path / "steps/a_step.x", "steps/a_step.x", "x", RunnerName("x"))]
    result = asyncio.run(launcher.ready_spec(RunnerName("x"), files))
    assert isinstance(result, list)
    assert [str(i) for i in result] == ["steps/a_step.x: tool-x is not installed (x steps need tool-x 2+)"]
