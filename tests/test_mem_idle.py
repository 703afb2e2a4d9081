"""Idle memory (issue 15): the Node runner lets esbuild go once idle, and the bench's memory figures."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from tests.conftest import CoreProcess

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

from benchlib import resources  # noqa: E402


def get(url: str) -> object:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return json.loads(resp.read())


def esbuild_children(pid: int) -> list[psutil.Process]:
    try:
        kids = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    out = []
    for kid in kids:
        try:
            if "esbuild" in " ".join(kid.cmdline()):
                out.append(kid)
        except psutil.Error:
            continue
    return out


def wait_no_esbuild(pid: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not esbuild_children(pid):
            return
        time.sleep(0.1)
    raise AssertionError(f"the node runner {pid} still has an esbuild child after {timeout} s")


@pytest.mark.timeout(120)
def test_the_node_runner_stops_esbuild_when_idle_and_starts_it_again_for_a_late_transform(
    start_core: Callable[..., CoreProcess],
) -> None:
    core = start_core("mem_ts")
    assert get(core.url + "/mem") == {"v": "mem-v1"}
    node = core.runner_pids()["node"]
    # the project has no transform cache yet: loading the steps started esbuild; idle, it goes
    wait_no_esbuild(node)
    assert get(core.url + "/mem") == {"v": "mem-v1"}
    # a handler that imports a .ts module at its first call: a transform after esbuild was let go
    assert get(core.url + "/mem/lazy") == {"v": "lazy-v1"}
    assert core.runner_pids()["node"] == node
    wait_no_esbuild(node)
    assert get(core.url + "/mem/lazy") == {"v": "lazy-v1"}


def test_the_bench_counts_pages_shared_by_its_processes_once(tmp_path: Path) -> None:
    # two interpreters share libpython's and the standard library's pages: RSS counts them twice
    script = "import sys, time; sys.stdout.write('up\\n'); sys.stdout.flush(); time.sleep(60)"
    spawn = f"import subprocess, sys; p = subprocess.Popen([sys.executable, '-c', {script!r}]); {script}"
    parent = subprocess.Popen([sys.executable, "-c", spawn], stdout=subprocess.PIPE)
    try:
        assert parent.stdout is not None
        assert parent.stdout.readline() == b"up\n"
        deadline = time.monotonic() + 30
        while len(resources.tree(parent.pid)) < 2:
            assert time.monotonic() < deadline, "the child interpreter did not start"
            time.sleep(0.05)
        time.sleep(0.5)
        snap = resources.snapshot(parent.pid)
        procs = snap["processes"]
        assert len(procs) == 2
        for p in procs:
            assert 0 < p["uss_mb"] <= p["pss_mb"] <= p["rss_mb"]
        if snap["unique_mb"] is None:
            pytest.skip("physical page numbers need root (CAP_SYS_ADMIN) in /proc/<pid>/pagemap")
        # each page once: above the larger process, below the RSS sum by the shared interpreter pages
        assert max(p["rss_mb"] for p in procs) < snap["unique_mb"] < snap["rss_mb"] - 2.0
        assert snap["unique_mb"] >= snap["uss_mb"]
    finally:
        for proc in reversed(resources.tree(parent.pid)):
            proc.kill()
        parent.wait(10)
        if parent.stdout is not None:
            parent.stdout.close()
