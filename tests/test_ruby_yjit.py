"""The Ruby runner runs under YJIT with a 4 MiB code area (core/motia_core/builtin_runners.py's
`_ruby_jit_flags`; runners/ruby/README.md, "YJIT"), says so in its Hello, stays small in memory,
and leaves the environment of its handlers' own processes alone; MOTIA_RUBY_YJIT=0 leaves it off.
Needs ruby and ruby-grpc; the YJIT test is skipped when this ruby has no YJIT."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CoreProcess

RUBY = shutil.which("ruby")
pytestmark = pytest.mark.skipif(RUBY is None, reason="ruby is not installed")


def _yjit_supported() -> bool:
    assert RUBY is not None
    script = "print(defined?(RubyVM::YJIT) && RubyVM::YJIT.enabled? ? 1 : 0)"
    out = subprocess.run([RUBY, "--yjit", "-e", script], capture_output=True, text=True, timeout=60, check=True)
    return out.stdout == "1"


def _get(core: CoreProcess, path: str) -> Any:
    with urllib.request.urlopen(core.url + path, timeout=30) as resp:
        return json.loads(resp.read())


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS in /proc/{pid}/status")


def _ruby_version(core: CoreProcess) -> str:
    rows = [r for r in _get(core, "/__motia/runners")["runners"] if r["runtime"] == "ruby"]
    assert len(rows) == 1, rows
    return str(rows[0]["runtimeVersion"])


@pytest.mark.timeout(120)
def test_the_ruby_runner_runs_under_yjit_and_handlers_children_do_not_inherit_it(
    start_core: Callable[..., CoreProcess],
) -> None:
    if not _yjit_supported():
        pytest.skip("this ruby has no YJIT")
    if "RUBY_YJIT_ENABLE" in os.environ or "MOTIA_RUBY_YJIT" in os.environ:
        pytest.skip("the test's environment sets RUBY_YJIT_ENABLE / MOTIA_RUBY_YJIT itself")
    core = start_core("rbjit_env")
    assert _get(core, "/rb/jit") == {"yjit": True, "env": False, "child_env": False}
    assert _ruby_version(core).endswith(" +YJIT")
    # The capped code area: Ruby 3.1's default (256 MiB, all resident) measured 293 MB here.
    assert _rss_mb(core.runner_pids()["ruby"]) < 120


@pytest.mark.timeout(120)
def test_motia_ruby_yjit_0_leaves_yjit_off(start_core: Callable[..., CoreProcess]) -> None:
    core = start_core("rbjit_env", env={"MOTIA_RUBY_YJIT": "0"})
    assert _get(core, "/rb/jit") == {"yjit": False, "env": False, "child_env": False}
    assert "YJIT" not in _ruby_version(core)
