"""Dead letters' times are Unix milliseconds, like every other admin answer (the queue stores seconds):
GET /__motia/dlq, GET /__motia/dlq/{id} and `motia-core dlq list|show --json`
(docs/observability.md#queue)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from tests.conftest import CoreProcess


def _http(method: str, url: str, body: object | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read())


def _dlq_json(core: CoreProcess, *args: str) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "motia_core", "dlq", *args, "--json", "--dir", str(core.project)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _is_ms_between(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def test_dead_letter_times_are_unix_milliseconds(start_core: Callable[..., CoreProcess]) -> None:
    core = start_core("dq_times", env={"MOTIA_RETRY_BASE_DELAY": "0.02"})
    before = int(time.time() * 1000)
    assert _http("POST", f"{core.url}/emit", {"topic": "dq.pill", "data": {"pill": "p1"}})[0] == 200
    deadline = time.monotonic() + 30
    letters: list[dict[str, Any]] = []
    while not letters and time.monotonic() < deadline:
        letters = _http("GET", f"{core.url}/__motia/dlq")[1]["deadLetters"]
        time.sleep(0.05)
    after = int(time.time() * 1000)
    assert len(letters) == 1, core.output()
    [listed] = letters
    assert _is_ms_between(listed["enqueuedAt"], before - 1, after), listed
    assert _is_ms_between(listed["diedAt"], listed["enqueuedAt"], after), listed

    status, full = _http("GET", f"{core.url}/__motia/dlq/{listed['id']}")
    assert status == 200
    assert (full["enqueuedAt"], full["diedAt"]) == (listed["enqueuedAt"], listed["diedAt"])
    times = [f["time"] for f in full["failures"]]
    assert [f["attempt"] for f in full["failures"]] == [1, 2] and "refused p1" in full["failures"][0]["message"]
    assert all(_is_ms_between(t, listed["enqueuedAt"], listed["diedAt"]) for t in times), times
    assert times == sorted(times)

    # the CLI's JSON says the same, in the same unit
    [cli_listed] = _dlq_json(core, "list")
    assert (cli_listed["enqueuedAt"], cli_listed["diedAt"]) == (listed["enqueuedAt"], listed["diedAt"])
    shown = _dlq_json(core, "show", listed["id"])
    assert [f["time"] for f in shown["failures"]] == times
