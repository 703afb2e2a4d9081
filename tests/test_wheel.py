"""The wheel from the working tree, installed into a fresh venv outside the repository, creates and serves a
multilang project whose chain runs through TypeScript, Python and Ruby, under `serve` and under `dev` (which
reloads a saved step), and whose TypeScript steps type-check against the wheel's `motia` declarations: no
checkout is needed at run time.

Dependencies come from a wheelhouse under .cache/wheelhouse (filled once with `pip download` from PyPI, then
reused with --no-index), so the test costs the wheel build, one venv and one install.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

import motia_core
from tests.conftest import ROOT, free_port
from tests.test_create import greet_through, tsc_accepts_the_project_and_rejects_a_wrong_topic

WHEELHOUSE = ROOT / ".cache" / "wheelhouse"


def _run(cmd: list[str], timeout: float, **kwargs: object) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)  # type: ignore[call-overload]
    assert proc.returncode == 0, f"{cmd}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc  # type: ignore[no-any-return]


def _clean_env(venv: Path) -> dict[str, str]:
    """The user's shell after activating the venv: nothing that points back into this checkout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOTIA_", "PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = str(venv / "bin") + os.pathsep + env.get("PATH", "")
    env["VIRTUAL_ENV"] = str(venv)
    return env


def _install(venv: Path, wheel: Path) -> None:
    # this venv's pip installs into the new one (`--python`), which is made --without-pip: bootstrapping pip
    # into it cost ~25 s on the loaded 2-core machine and is no part of motia-core. --no-compile: the .pyc are
    # written at first import instead of for every module of every dependency up front (64 s -> 20 s with
    # the venv, same load).
    pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "--disable-pip-version-check", "-q"]
    offline = [*pip, "install", "--no-compile", "--no-index", "--find-links", str(WHEELHOUSE), str(wheel)]
    if WHEELHOUSE.is_dir() and subprocess.run(offline, capture_output=True, timeout=300).returncode == 0:
        return
    # first run, or the dependencies changed: fill the wheelhouse from PyPI, then install from it. pip
    # download also copies the motia-core wheel itself there; a copy left from an older build would stand in
    # for this one (same file name) with its older dependency list, so it never stays
    try:
        _run([*pip, "download", "-d", str(WHEELHOUSE), str(wheel)], timeout=400)
    finally:
        for stale in WHEELHOUSE.glob("motia_core-*.whl"):
            stale.unlink()
    _run(offline, timeout=300)


@contextlib.contextmanager
def _core(bin_: Path, command: str, project: Path, env: dict[str, str]) -> Iterator[str]:
    """`motia-core serve|dev` in the project, as a user runs it; yields its URL once it answers."""
    port = free_port()
    log_path = project.parent / f"{command}.log"
    with log_path.open("w") as log:
        core = subprocess.Popen(
            [str(bin_ / "motia-core"), command, "--host", "127.0.0.1", "--port", str(port)],
            cwd=project,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                assert core.poll() is None, log_path.read_text()
                try:
                    urllib.request.urlopen(url + "/greetings/none", timeout=2)
                except urllib.error.HTTPError as exc:
                    if exc.code == 404:
                        break
                except OSError:
                    pass
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.2)
            yield url
        finally:
            core.terminate()
            core.wait(30)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_wheel_installs_outside_the_repo_and_serves_a_multilang_project(tmp_path: Path) -> None:
    assert not tmp_path.is_relative_to(ROOT)
    started = time.monotonic()
    out = tmp_path / "dist"
    wheel = Path(_run([sys.executable, str(ROOT / "scripts/build_wheel.py"), str(out)], timeout=300).stdout.strip())
    assert wheel.is_file() and wheel.name.startswith(f"motia_core-{motia_core.__version__}-")
    built = time.monotonic()

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], timeout=120)
    _install(venv, wheel)
    installed = time.monotonic()
    env = _clean_env(venv)
    bin_ = venv / "bin"

    version = _run([str(bin_ / "motia-core"), "--version"], timeout=30, env=env, cwd=tmp_path).stdout
    assert version.strip() == f"motia-core {motia_core.__version__}"
    # the installed package resolves its own runners, not this checkout's
    where = _run(
        [
            str(bin_ / "python"),
            "-c",
            "from motia_core import paths; print(paths.node_runner()); print(paths.ruby_runner())",
        ],
        timeout=30,
        env=env,
        cwd=tmp_path,
    ).stdout.split()
    assert all(Path(p).is_relative_to(venv) for p in where), where

    _run([str(bin_ / "motia-core"), "create", "app", "--template", "multilang"], timeout=60, env=env, cwd=tmp_path)
    project = tmp_path / "app"
    # editors and tsc resolve `motia` through a link to the venv's sdk-node (its declarations came in the wheel)
    assert (project / "node_modules/motia").resolve().is_relative_to(venv)
    assert (project / "node_modules/motia/dist/types/index.d.ts").is_file()
    assert (project / "node_modules/zod").resolve().is_relative_to(venv)
    with _core(bin_, "serve", project, env) as url:
        greeting = greet_through(url)
        assert greeting["hops"] == ["typescript", "python", "ruby"], greeting
        assert greeting["message"] == "Hello, Ada!"
        with urllib.request.urlopen(url + "/__workbench/", timeout=5) as resp:  # the bundled Workbench
            assert resp.status == 200 and b"<html" in resp.read().lower()
    with _core(bin_, "dev", project, env) as url:
        assert greet_through(url)["hops"] == ["typescript", "python", "ruby"]
        # dev from the wheel reloads a saved step: the Python hop's new greeting answers without a restart
        step = project / "steps" / "greet_step.py"
        step.write_text(step.read_text().replace('f"Hello, {', 'f"Hi, {'))
        deadline = time.monotonic() + 30
        while (message := greet_through(url)["message"]) != "Hi, Ada!":
            assert time.monotonic() < deadline, f"dev never served the edited step (last {message!r})"
            time.sleep(0.3)
    served = time.monotonic()
    # dev wrote types.d.ts: a bare tsc (the repository's TypeScript, nothing mapped) accepts the steps and
    # rejects a wrong topic through it
    assert (project / "types.d.ts").is_file()
    tsc_accepts_the_project_and_rejects_a_wrong_topic(project)
    total = time.monotonic() - started
    print(
        f"wheel: build {built - started:.1f}s, venv+install {installed - built:.1f}s, create+serve+dev "
        f"{served - installed:.1f}s, tsc {time.monotonic() - served:.1f}s, total {total:.1f}s"
    )
