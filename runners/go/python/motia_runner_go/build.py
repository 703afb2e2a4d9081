"""Building the project's runner binary with the Debian Go toolchain, in GOPATH mode.

No Go module proxy is reachable on the machines this runs on, so the build uses GOPATH mode
(GO111MODULE=off) with three GOPATH entries: the project's build tree (.motia/go), the Go library
of this package (runners/go/src: the `motia` package and its generated protobuf code) and the
Debian sources of grpc-go and protobuf-go (/usr/share/gocode). GOCACHE is one stable folder per
user (~/.cache/motia-go/gocache), so grpc and protobuf compile once and every project's later build
only compiles its own packages.

Compiler errors name files of the build tree (project/steps/a_step.go); they are rewritten to the
project's paths (steps/a_step.go:12:5: undefined: foo), which the core turns into load errors with a
line (core/motia_core/runners/prepare.py).
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from motia_runner_go.sources import IMPORT_ROOT, MAIN_PACKAGE, GoSources, collect, content_hash, write_tree

DEBIAN_GOCODE = Path("/usr/share/gocode")
APT_HINT = "apt-get install golang-go golang-google-grpc-dev golang-google-protobuf-dev"


class GoBuildError(Exception):
    """The build could not run or failed; the message is what the user should read."""


@dataclass(frozen=True)
class BuildResult:
    binary: Path
    built: bool  # False: the cached binary was up to date
    seconds: float


def library_dir() -> Path:
    """runners/go/src: the `motia` Go package (MOTIA_GO_SDK overrides it)."""
    override = os.environ.get("MOTIA_GO_SDK")
    if override:
        return Path(override).resolve()
    return Path(__file__).resolve().parents[2] / "src"


def cache_dir() -> Path:
    override = os.environ.get("MOTIA_GO_CACHE")
    if override:
        return Path(override)
    return Path.home() / ".cache" / "motia-go"


def go_binary() -> str:
    found = shutil.which("go") or ("/usr/lib/go/bin/go" if Path("/usr/lib/go/bin/go").exists() else None)
    if found is None:
        raise GoBuildError(f"the go toolchain is not installed (Go steps need it): {APT_HINT}")
    return found


def go_env(build_dir: Path) -> dict[str, str]:
    gopath = os.pathsep.join(str(p) for p in (build_dir, _sdk_gopath(), DEBIAN_GOCODE))
    env = {k: v for k, v in os.environ.items() if not k.startswith("GO")}
    env.update(
        GO111MODULE="off",
        GOPATH=gopath,
        GOCACHE=str(cache_dir() / "gocache"),
        GOFLAGS="",
        CGO_ENABLED="0",  # a static binary, no C toolchain needed; the pure-Go resolver is enough for a unix socket
        GOTOOLCHAIN="local",
    )
    return env


def _sdk_gopath() -> Path:
    """The GOPATH entry whose src/ holds the `motia` package."""
    return library_dir().parent


def toolchain_version(go: str, env: Mapping[str, str]) -> str:
    done = subprocess.run([go, "version"], capture_output=True, text=True, env=dict(env), check=False)
    return done.stdout.strip() or done.stderr.strip()


@contextmanager
def _locked(build_dir: Path) -> Iterator[None]:
    """One build per project at a time (dev's prepare and a runner start may race)."""
    # 0700 for every folder made, .motia/ included: the core keeps .motia/ private, and the build may
    # run before the core has made it (a prepare runs before the storage is set up)
    mask = os.umask(0o077)
    try:
        build_dir.mkdir(parents=True, exist_ok=True)
    finally:
        os.umask(mask)
    with open(build_dir / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def build(project_dir: Path, *, force: bool = False) -> BuildResult:
    """Build (or reuse) the project's runner binary; raises GoBuildError with mapped compiler errors."""
    started = time.monotonic()
    sources = collect(project_dir)
    if not sources.step_files:
        raise GoBuildError(
            f"no Go step files (*_step.go, *_stream.go, stream_auth.go) under {project_dir}/steps or src"
        )
    library = library_dir()
    if not (library / "motia").is_dir():
        raise GoBuildError(
            f"the motia Go library is not at {library}/motia (set MOTIA_GO_SDK to its GOPATH src folder)"
        )
    if not (DEBIAN_GOCODE / "src" / "google.golang.org" / "grpc").is_dir():
        raise GoBuildError(f"grpc-go is not installed under {DEBIAN_GOCODE}: {APT_HINT}")
    go = go_binary()
    env = go_env(sources.build_dir)
    with _locked(sources.build_dir):
        digest = content_hash(sources, library / "motia", toolchain_version(go, env))
        stamp = sources.build_dir / "build.hash"
        if not force and sources.binary.exists() and stamp.exists() and stamp.read_text() == digest:
            return BuildResult(sources.binary, False, time.monotonic() - started)
        stamp.unlink(missing_ok=True)
        src = write_tree(sources)
        sources.binary.parent.mkdir(parents=True, exist_ok=True)
        partial = sources.binary.with_suffix(".partial")
        argv = [go, "build", "-trimpath", "-o", str(partial), MAIN_PACKAGE]
        done = subprocess.run(argv, cwd=src, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise GoBuildError(map_errors(done.stdout + done.stderr, sources))
        os.replace(partial, sources.binary)  # a running runner keeps its old inode
        stamp.write_text(digest)
    return BuildResult(sources.binary, True, time.monotonic() - started)


_TREE_PATH = re.compile(r"(?:[^\s:]*/)?(?:src/)?" + re.escape(IMPORT_ROOT) + r"/(?P<rel>[^\s:]+\.go)(?=:\d)")
_MAIN_LINE = re.compile(
    r"(?:[^\s:]*/)?" + re.escape(MAIN_PACKAGE) + r"/main\.go:(?P<line>\d+)(?::\d+)?: (?P<message>.*)"
)


def map_errors(output: str, sources: GoSources) -> str:
    """Rewrite build-tree paths to project paths; an error in the generated main (a step package that
    is `package main`, an import cycle) is blamed on the first step file of the package it imports."""
    packages = sources.step_packages()
    lines: list[str] = []
    for raw in output.splitlines():
        if raw.startswith("# "):  # "# project/steps": the package header go build prints
            continue
        main = _MAIN_LINE.search(raw)
        if main is not None:
            # main.go line 8 is the first step package's import (see sources.main_source)
            index = int(main.group("line")) - 8
            if 0 <= index < len(packages):
                first = next(f for f in sources.step_files if os.path.dirname(f) == packages[index])
                lines.append(f"{first}:1: {_main_hint(main.group('message'))}")
                continue
        lines.append(_TREE_PATH.sub(lambda m: m.group("rel"), raw))
    return "\n".join(lines) if lines else output


def _main_hint(message: str) -> str:
    if "is a program, not an importable package" in message:
        return "a step file's package cannot be `package main`: name it after its folder (e.g. `package steps`)"
    return message.replace(f'"{IMPORT_ROOT}/', '"')


def warm() -> float:
    """Compile the motia library and its grpc/protobuf dependencies into GOCACHE (`make install`), with
    the flags of a project build, so that the first project build only compiles the project."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="motia-go-warm-") as empty:
        env = go_env(Path(empty))
        argv = [go_binary(), "build", "-trimpath", "motia"]
        done = subprocess.run(argv, cwd=empty, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise GoBuildError(done.stdout + done.stderr)
    return time.monotonic() - started


def main_build(project_dir: Path, force: bool = False) -> int:
    """`build`: exit 0 when the binary is ready; compiler errors on stdout, exit 1."""
    try:
        result = build(project_dir, force=force)
    except GoBuildError as exc:
        print(exc, flush=True)
        return 1
    what = "built" if result.built else "up to date"
    print(f"motia go runner {what} in {result.seconds:.2f}s: {result.binary}", file=sys.stderr, flush=True)
    return 0


def main_run(project_dir: Path) -> int:
    """`run`: build if needed, then become the runner binary (same pid, stdin and process group)."""
    try:
        result = build(project_dir)
    except GoBuildError as exc:
        print(exc, file=sys.stderr, flush=True)
        return 1
    os.execv(result.binary, [str(result.binary)])
    return 1  # not reached
