"""The harness itself (tests/conftest.py): a core that fails to start is not left behind to fail a later test."""

from __future__ import annotations

import gc
import warnings
from pathlib import Path

import pytest

from tests.conftest import CoreProcess, pid_alive


@pytest.mark.parametrize("how", ["exits", "too_slow"])
def test_wait_ready_stops_a_core_that_does_not_get_ready(tmp_path: Path, how: str) -> None:
    (tmp_path / "steps").mkdir()
    args, timeout = (["--backend", "nosuch"], 30.0) if how == "exits" else ([], 0.01)
    core = CoreProcess(tmp_path, args)
    with pytest.raises(AssertionError):
        core.wait_ready(timeout)
    assert core.proc.returncode is not None and not pid_alive(core.proc.pid)
    assert core.proc.stdout is not None and core.proc.stdout.closed
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        del core
        gc.collect()  # an unclosed pipe would warn here, inside whichever test came next
