"""Idle memory (issue 15 item 6): once a load has gone quiet, the Node runner runs one minor GC, which
gives back the young generation the load grew (runners/node/src/steps/idle-gc.ts), on its first load
and after each dev reload; the steps' global scope never gets a `gc`."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CoreProcess, copy_fixture

NODE_RUNNER = Path(__file__).resolve().parents[1] / "runners" / "node" / "dist" / "runner.cjs"
GC_LINE = re.compile(r"minor GC after load in [\d.]+ ms: young generation ([\d.]+) -> ([\d.]+) MB")
SKIP_LINE = re.compile(r"no GC after load: young generation ([\d.]+) MB, nothing to give back")
SMALL_YOUNG_MB = 2.0  # idle-gc.ts: at or below this, no GC

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not NODE_RUNNER.exists(), reason="node or runners/node/dist/runner.cjs missing"
)


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return json.loads(resp.read())


def gc_lines(core: CoreProcess) -> list[str]:
    """One line per load: the GC it ran, or why it ran none."""
    return [d["msg"] for d in core.find_logs(lambda d: "GC after load" in d.get("msg", ""))]


def wait_gc_lines(core: CoreProcess, count: int, timeout: float = 60.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while len(gc_lines(core)) < count:
        assert time.monotonic() < deadline, f"{count} GC line(s) not seen in time; output:\n{core.output()}"
        assert core.proc.poll() is None, core.output()
        time.sleep(0.05)
    return gc_lines(core)


def check_gc_line(line: str) -> None:
    """A GC ran only on a young generation with something to give back, and it did not grow it
    (how much V8 gives back is V8's call); none ran on a small one."""
    if m := GC_LINE.search(line):
        before, after = float(m[1]), float(m[2])
        assert before > SMALL_YOUNG_MB and after <= before, line
    else:
        skipped = SKIP_LINE.search(line)
        assert skipped is not None and float(skipped[1]) <= SMALL_YOUNG_MB, line


@pytest.mark.timeout(180)
def test_the_node_runner_gives_back_its_young_generation_after_a_load_and_after_a_reload(tmp_path: Path) -> None:
    project = copy_fixture("sm_gc", tmp_path)
    core = CoreProcess(project, env={"MOTIA_RUNNER_DEBUG": "1"}, command="dev")
    try:
        core.wait_ready(60)
        core.wait_for_log(lambda d: "for changes" in d.get("msg", ""), 30)
        assert get(core.url + "/sm/gc") == {"v": "v1", "gc": "undefined"}
        first = wait_gc_lines(core, 1)
        check_gc_line(first[0])
        # once per load, not a timer that keeps running while the runner idles
        time.sleep(10)
        assert len(gc_lines(core)) == 1, core.output()
        step = project / "steps" / "gc.step.ts"
        tmp = step.with_name(".gc.step.ts.swp")
        tmp.write_text(step.read_text().replace("'v1'", "'v2'"))
        os.replace(tmp, step)
        second = wait_gc_lines(core, 2)
        check_gc_line(second[1])
        assert get(core.url + "/sm/gc") == {"v": "v2", "gc": "undefined"}
    finally:
        core.stop()
