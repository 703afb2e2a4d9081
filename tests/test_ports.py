"""The harness's port allocator (tests/ports.py): under pytest-xdist each worker has a range of its own, so
two workers can never be handed the same port between a probe and the server's bind."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import ROOT
from tests.ports import RANGE_SIZE, RANGE_START

_DRAW = "import json; from tests.ports import free_port; print(json.dumps([free_port() for _ in range(50)]))"


def _draw(worker: str | None) -> list[int]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_XDIST_WORKER", "PYTHONXDIST_WORKER")}
    if worker is not None:
        env["PYTEST_XDIST_WORKER"] = worker
    out = subprocess.run([sys.executable, "-c", _DRAW], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return list(json.loads(out.stdout))


def test_each_xdist_worker_draws_distinct_ports_from_its_own_range() -> None:
    gw0, gw1 = _draw("gw0"), _draw("gw1")
    assert all(RANGE_START <= p < RANGE_START + RANGE_SIZE for p in gw0), gw0
    assert all(RANGE_START + RANGE_SIZE <= p < RANGE_START + 2 * RANGE_SIZE for p in gw1), gw1
    assert len(set(gw0)) == len(gw0) and len(set(gw1)) == len(gw1)  # round-robin: no port handed out twice


def test_a_serial_run_takes_the_kernel_s_free_ports() -> None:
    ports = _draw(None)
    assert all(p >= 1024 for p in ports) and not any(RANGE_START <= p < RANGE_START + 12 * RANGE_SIZE for p in ports)
