"""Idle memory (issue 15): the bench splits "each page once" into the files a process maps and its
anonymous memory (bench/benchlib/memory_pages.py, `memory_idle.py --breakdown`)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

from benchlib import memory_pages, resources  # noqa: E402

# a node process that has allocated ~24 MB of its own (anonymous) and then sits still, as an idle runner
NODE_HOLDS = "globalThis.keep = Buffer.alloc(24 * 1024 * 1024, 1); console.log('ready'); setInterval(() => {}, 1e6)"


@pytest.mark.timeout(60)
def test_each_page_once_splits_into_the_files_mapped_and_anonymous_memory() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    sleeper = subprocess.Popen(
        [sys.executable, "-c", "import time; print('ready', flush=True); time.sleep(120)"], stdout=subprocess.PIPE
    )
    holder = subprocess.Popen([node, "-e", NODE_HOLDS], stdout=subprocess.PIPE)
    try:
        for proc in (sleeper, holder):
            assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        time.sleep(0.5)  # node's start-up GC settles
        pids = [sleeper.pid, holder.pid]
        split = memory_pages.unique_by_mapping_mb(pids)
        if split is None:
            pytest.skip("physical page numbers need root (CAP_SYS_ADMIN) in /proc/<pid>/pagemap")
        total = memory_pages.unique_mb(pids)
        assert total is not None
        # the parts add up to the whole (both idle: a few pages of slack for timers and the GC)
        assert abs(sum(split.values()) - total) < 1.0
        # the node binary is a file of its own, the buffer is anonymous memory, libc is mapped by both
        # processes and counted once
        assert split["node"] > 5.0
        assert split["anonymous"] > 24.0
        assert "libc.so.6" in split
        alone = memory_pages.unique_by_mapping_mb([holder.pid])
        assert alone is not None and "node" in alone and alone["anonymous"] < split["anonymous"]
        assert not any(name.startswith("[") for name in split)  # [heap], [stack]: anonymous
        # what the report prints (resources.split_mb): the same split, the largest file first
        summary = resources.split_mb(pids)
        assert summary is not None
        assert abs(summary["anonymous"] + summary["files"] - total) < 1.0
        assert summary["largest_files"][0][0] == "node"
        # the snapshot's pair comes from one read of the page tables and agrees with itself exactly
        unique, snap_split = resources.unique_and_split(pids)
        assert unique is not None and snap_split is not None
        assert snap_split["anonymous"] + snap_split["files"] >= unique  # a page under two names counts twice
        assert abs(unique - total) < 1.0
    finally:
        for proc in (sleeper, holder):
            proc.kill()
            proc.wait(10)
            if proc.stdout is not None:
                proc.stdout.close()
