"""`motia-core dev`: what the Workbench and /metrics derive from the steps follows a reload
(docs/observability.md#cron, #prometheus): /__motia/cron lists the cron steps served now with their
next runs, /metrics labels a step added by a reload (its runs, its API responses, its queue
subscription). A real core with the watcher, a real Python runner, real edits on disk."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import CoreProcess, copy_fixture

pytestmark = pytest.mark.timeout(240)


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read()


def _post(url: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, b"{}", method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read()


def _json(url: str) -> Any:
    status, body = _get(url)
    assert status == 200, (url, status, body)
    return json.loads(body)


def _save(path: Path, text: str) -> None:
    """An editor's atomic save (tests/test_dev.py): the watcher never sees a half-written step."""
    tmp = path.with_name(f".{path.name}.swp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _samples(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    status, body = _get(url + "/metrics")
    assert status == 200
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }


def _value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


class Dev:
    def __init__(self, core: CoreProcess) -> None:
        self.core = core
        self.url = core.url
        self.steps = core.project / "steps"

    def change(self, action: Callable[[], None], timeout: float = 60.0) -> str:
        """Do `action` and wait for the reload it causes; its "now serving" line."""
        before = len(self._swaps())
        action()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            swaps = self._swaps()
            if len(swaps) > before:
                return str(swaps[before]["msg"])
            assert self.core.proc.poll() is None, self.core.output()
            time.sleep(0.02)
        raise AssertionError("no reload in time; output:\n" + self.core.output())

    def _swaps(self) -> list[dict[str, Any]]:
        return self.core.find_logs(lambda d: "now serving" in d.get("msg", ""))


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[Dev]:
    core = CoreProcess(copy_fixture("mr_app", tmp_path), command="dev")
    try:
        core.wait_ready(60)
        core.wait_for_log(lambda d: "for changes" in d.get("msg", ""), 30)
        yield Dev(core)
    finally:
        core.stop()


CRON = """config = {{"type": "cron", "name": "Tick", "cron": "{expression}", "emits": []}}


async def handler(context):
    context.logger.info("tick")
"""


def test_the_cron_list_follows_a_reload(dev: Dev) -> None:
    assert _json(dev.url + "/__motia/cron") == {"jobs": []}
    dev.change(lambda: _save(dev.steps / "tick_step.py", CRON.format(expression="15 4 * * *")))
    [job] = _json(dev.url + "/__motia/cron")["jobs"]
    assert (job["step"], job["cron"], job["last"]) == ("Tick", "15 4 * * *", None)
    now = time.time() * 1000
    assert len(job["nextRuns"]) == 3 and now < job["nextRuns"][0] < job["nextRuns"][1] < job["nextRuns"][2]
    assert all(time.localtime(t / 1000)[3:5] == (4, 15) for t in job["nextRuns"]), job["nextRuns"]
    # a new schedule: the next runs follow it; Trigger now finds the step the reload brought
    dev.change(lambda: _save(dev.steps / "tick_step.py", CRON.format(expression="45 5 * * *")))
    [job] = _json(dev.url + "/__motia/cron")["jobs"]
    assert job["cron"] == "45 5 * * *"
    assert all(time.localtime(t / 1000)[3:5] == (5, 45) for t in job["nextRuns"]), job["nextRuns"]
    status, body = _post(dev.url + "/__motia/cron/Tick/trigger")
    assert status == 200 and json.loads(body)["traceId"]
    # deleted: gone from the list, and from Trigger now
    dev.change(lambda: (dev.steps / "tick_step.py").unlink())
    assert _json(dev.url + "/__motia/cron") == {"jobs": []}
    status, body = _post(dev.url + "/__motia/cron/Tick/trigger")
    assert status == 404 and "no cron step 'Tick'" in json.loads(body)["message"]


ADDED_API = """config = {"type": "api", "name": "Added", "method": "POST", "path": "/added", "emits": ["mr.noted"]}


async def handler(req, context):
    await context.emit({"topic": "mr.noted", "data": {"n": 1}})
    return {"status": 201, "body": {"added": True}}
"""
ADDED_EVENT = """import asyncio

config = {"type": "event", "name": "Noted", "subscribes": ["mr.noted"], "emits": []}


async def handler(input, context):
    await asyncio.sleep(0)
"""


def test_metrics_label_the_steps_a_reload_added(dev: Dev) -> None:
    assert _get(dev.url + "/ping")[0] == 200
    before = _samples(dev.url)
    assert _value(before, "motia_step_runs_total", step="Ping", trigger="api", status="ok") == 1.0
    assert not [k for k in before if ("step", "Added") in k[1] or ("step", "Noted") in k[1]]

    def add() -> None:
        _save(dev.steps / "noted_step.py", ADDED_EVENT)
        _save(dev.steps / "added_step.py", ADDED_API)

    dev.change(add)
    deadline = time.monotonic() + 30  # both files in one reload, or the second in the next
    status = 404
    while status == 404 and time.monotonic() < deadline:  # the first call that finds the step runs it
        status = _post(dev.url + "/added")[0]
        time.sleep(0.1)
    assert status == 201, dev.core.output()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        after = _samples(dev.url)
        if _value(after, "motia_step_runs_total", step="Noted", trigger="event", status="ok"):
            break
        time.sleep(0.1)
    assert _value(after, "motia_step_runs_total", step="Added", trigger="api", status="ok") == 1.0
    assert _value(after, "motia_http_requests_total", step="Added", method="POST", code="201") == 1.0
    assert _value(after, "motia_step_duration_seconds_count", step="Added", trigger="api") == 1.0
    assert _value(after, "motia_step_runs_total", step="Noted", trigger="event", status="ok") == 1.0
    # the subscription the reload added is labelled by its step and topic, not by the queue's key
    assert _value(after, "motia_queue_depth", step="Noted", topic="mr.noted") == 0.0, [
        k for k in after if k[0] == "motia_queue_depth"
    ]
