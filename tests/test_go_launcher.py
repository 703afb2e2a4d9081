"""The go runner's launcher (runners/go/python/motia_runner_go): one binary per project, rebuilt only
when a Go source changed, with compiler errors mapped back to the project's files and lines."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from motia_runner_go.build import GoBuildError, build, go_binary, go_env, map_errors
from motia_runner_go.sources import collect, main_source

from tests.conftest import copy_fixture

pytestmark = [
    pytest.mark.skipif(shutil.which("go") is None, reason="needs Go (apt golang-go, installed by `make install`)"),
    pytest.mark.timeout(300),  # a cold Go build cache compiles grpc-go first
]


def test_sources_are_every_go_file_but_tests_hidden_and_vendored_ones(tmp_path: Path) -> None:
    project = copy_fixture("go_hello", tmp_path)
    for extra in ("steps/hello_step_test.go", ".hidden/x_step.go", "node_modules/m/y_step.go", "steps/testdata/z.go"):
        (project / extra).parent.mkdir(parents=True, exist_ok=True)
        (project / extra).write_text("package x\n")
    sources = collect(project)
    assert sources.files == (
        "lib/lib.go",
        "steps/bytes_step.go",
        "steps/greet.go",
        "steps/greeted_step.go",
        "steps/greetings_step.go",
        "steps/hello_step.go",
    )
    assert sources.step_files == (
        "steps/bytes_step.go",
        "steps/greeted_step.go",
        "steps/greetings_step.go",
        "steps/hello_step.go",
    )
    assert '_ "project/steps"' in main_source(sources) and "project/lib" not in main_source(sources)


def test_the_binary_is_rebuilt_only_when_a_go_source_changes(tmp_path: Path) -> None:
    project = copy_fixture("go_hello", tmp_path)
    first = build(project)
    assert first.built and first.binary.is_file()
    again = build(project)
    assert not again.built and again.binary == first.binary
    # a helper package (not a step file) is part of the hash too
    lib = project / "lib" / "lib.go"
    lib.write_text(lib.read_text().replace('"Hello, "', '"Hi, "'))
    assert build(project).built
    # a removed step file disappears from the build tree (its init() must not register anything)
    (project / "steps" / "greetings_step.go").unlink()
    assert build(project).built
    assert not (project / ".motia/go/src/project/steps/greetings_step.go").exists()
    assert not build(project).built


def test_compiler_errors_name_the_projects_files_and_lines(tmp_path: Path) -> None:
    project = copy_fixture("go_hello", tmp_path)
    (project / "lib" / "lib.go").write_text("package lib\n\nfunc Greeting(name string) string { return nope }\n")
    with pytest.raises(GoBuildError) as failed:
        build(project)
    assert "lib/lib.go:3:44: undefined: nope" in str(failed.value).splitlines()
    assert ".motia" not in str(failed.value)


def test_a_step_package_declared_main_gets_a_hint_on_its_first_step_file(tmp_path: Path) -> None:
    project = copy_fixture("go_hello", tmp_path)
    for path in (project / "steps").glob("*.go"):
        path.write_text(path.read_text().replace("package steps", "package main", 1))
    with pytest.raises(GoBuildError) as failed:
        build(project)
    assert str(failed.value).startswith(
        "steps/bytes_step.go:1: a step file's package cannot be `package main`: name it after its folder"
    ), str(failed.value)


def test_map_errors_rewrites_build_tree_paths_absolute_or_relative() -> None:
    sources = collect(Path(__file__).resolve().parent / "fixtures" / "go_hello")
    output = (
        "# project/steps\n"
        "project/steps/hello_step.go:12:5: undefined: foo\n"
        "/home/u/app/.motia/go/src/project/lib/lib.go:3:1: syntax error: unexpected }\n"
        "note: module requires Go 1.21\n"
    )
    assert map_errors(output, sources).splitlines() == [
        "steps/hello_step.go:12:5: undefined: foo",
        "lib/lib.go:3:1: syntax error: unexpected }",
        "note: module requires Go 1.21",
    ]


def test_a_file_that_registers_two_steps_is_a_load_error_naming_both(tmp_path: Path) -> None:
    project = copy_fixture("go_hello", tmp_path)
    step = project / "steps" / "greetings_step.go"
    step.write_text(
        step.read_text().replace(
            "func init() {",
            'func init() {\n\tmotia.Noop(motia.NoopConfig{Name: "Extra"})',
            1,
        )
    )
    done = subprocess.run(
        [sys.executable, "-m", "motia_core", "steps", "--dir", str(project), "--json"],
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    issues = {i["file"]: i["message"] for i in json.loads(done.stdout)["issues"]}
    assert issues == {
        "steps/greetings_step.go": "cannot load the file: RegistrationError: the file registers 2 steps "
        '("Extra" at line 6, "GoGreetings" at line 7); a step file registers exactly one'
    }


def test_the_go_librarys_own_unit_tests_pass(tmp_path: Path) -> None:
    """runners/go/src/motia/*_test.go: the outbox's batching and frame limit, Values, log fields."""
    done = subprocess.run(
        [go_binary(), "test", "-trimpath", "-count=1", "motia"],
        cwd=tmp_path,
        env=go_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("ok  \tmotia"), done.stdout
