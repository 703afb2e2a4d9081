"""A poison message: retried, dead-lettered with its failure chain, seen and replayed from CLI and
HTTP (`pytest -m chaos` runs it with the other fault tests)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import CoreProcess

pytestmark = pytest.mark.chaos


def _http(method: str, url: str, body: object | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _dlq(core: CoreProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "motia_core", "dlq", *args, "--dir", str(core.project)],
        capture_output=True,
        text=True,
        timeout=30,
    )


def _wait_dead(core: CoreProcess, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 20
    letters: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        letters = _http("GET", f"{core.url}/__motia/dlq")[1]["deadLetters"]
        if len(letters) >= count:
            return letters
        time.sleep(0.05)
    raise AssertionError(f"expected {count} dead letters, have {letters}")


def test_poison_message_reaches_the_dlq_and_is_replayed(start_core: Callable[..., CoreProcess]) -> None:
    core = start_core("mixed", env={"MOTIA_RETRY_BASE_DELAY": "0.02"})
    assert _http("POST", f"{core.url}/emit", {"topic": "poison.pill", "data": {"pill": "p1"}})[0] == 200
    [letter] = _wait_dead(core, 1)
    assert letter["topic"] == "poison.pill" and letter["attempts"] == 3  # maxRetries 2 = 3 tries
    assert "cannot digest pill p1" in letter["lastError"]
    status, full = _http("GET", f"{core.url}/__motia/dlq/{letter['id']}")
    assert status == 200 and full["data"] == {"pill": "p1"}
    chain = full["failures"]
    assert [f["attempt"] for f in chain] == [1, 2, 3]
    assert all(f["kind"] == "handler_error" and "RuntimeError" in f["errorType"] for f in chain)
    assert all("poison_step.py" in f["stack"] and f["runner"].startswith("python pid ") for f in chain)

    listed = _dlq(core, "list")
    assert listed.returncode == 0 and letter["id"] in listed.stdout and "1 dead letter(s)" in listed.stdout
    shown = _dlq(core, "show", letter["id"])
    assert shown.returncode == 0 and json.loads(shown.stdout)["failures"][0]["attempt"] == 1

    assert _http("POST", f"{core.url}/cure", {})[0] == 200
    replayed = _dlq(core, "replay", letter["id"])
    assert replayed.returncode == 0 and "replayed 1" in replayed.stdout
    deadline = time.monotonic() + 20
    items: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        items = _http("GET", f"{core.url}/__motia/state?groupId=poison")[1]["items"]
        if any(i["key"] == "p1" for i in items):
            break
        time.sleep(0.05)
    assert {"groupId": "poison", "key": "p1", "value": "digested"} in items
    assert _http("GET", f"{core.url}/__motia/dlq")[1]["deadLetters"] == []


def test_dlq_purge_and_http_replay(start_core: Callable[..., CoreProcess]) -> None:
    core = start_core("mixed", env={"MOTIA_RETRY_BASE_DELAY": "0.02"})
    for pill in ("a", "b"):
        _http("POST", f"{core.url}/emit", {"topic": "poison.pill", "data": {"pill": pill}})
    letters = _wait_dead(core, 2)
    assert _http("POST", f"{core.url}/__motia/dlq/nope/replay")[0] == 404
    assert _http("DELETE", f"{core.url}/__motia/dlq/{letters[0]['id']}")[1] == {"purged": 1}
    purged = _dlq(core, "purge", "--all")
    assert purged.returncode == 0 and "purged 1" in purged.stdout
    assert _dlq(core, "show", "nope").returncode == 1
