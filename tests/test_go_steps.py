"""Go steps end to end (issue 14): the go runner package, registered through the runner registry like a
third-party package, serves Go API and event steps next to TypeScript and Python in one trace, and a
Go step that does not compile is a load error with its file and line while the other languages serve.

The first Go build on a machine compiles grpc-go and protobuf-go into ~/.cache/motia-go (`make install`
does it once); after that a project's build only compiles its own packages.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import CoreProcess, copy_fixture

pytestmark = [
    pytest.mark.skipif(shutil.which("go") is None, reason="needs Go (apt golang-go, installed by `make install`)"),
    pytest.mark.timeout(300),  # a cold Go build cache compiles grpc-go first
]

BROKEN_STEP = """package steps

import "motia"

func init() {
\tmotia.Cron(motia.CronConfig{Name: "Broken", Cron: "* * * * *"}, func(ctx *motia.Context) error {
\t\treturn notDefined(ctx)
\t})
}
"""


async def _poll_order(session: aiohttp.ClientSession, url: str, until: Callable[[dict[str, Any]], bool]) -> Any:
    deadline = time.monotonic() + 30
    order: Any = None
    while time.monotonic() < deadline:
        async with session.get(url) as resp:
            if resp.status == 200:
                assert resp.headers["x-served-by"] == "go"
                order = await resp.json()
                if until(order):
                    return order
        await asyncio.sleep(0.05)
    raise AssertionError(f"the order never reached the expected state; last seen: {order}")


async def test_ts_api_then_go_event_then_python_event_share_state_and_one_trace(
    start_core: Callable[..., CoreProcess],
) -> None:
    core = start_core("go_mixed", wait=False)
    core.wait_ready(timeout=240)
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{core.url}/go-orders", json={"item": "book"}) as resp:
            assert resp.status == 200, await resp.text()
            trace_id = (await resp.json())["traceId"]
        # read back through a Go API step
        order = await _poll_order(session, f"{core.url}/go-orders/{trace_id}", lambda o: bool(o.get("closed")))
        async with session.get(f"{core.url}/go-orders/nope") as resp:
            assert resp.status == 404 and await resp.json() == {"error": "no such order"}
        async with session.get(f"{core.url}/__motia/traces/{trace_id}") as resp:
            trace = await resp.json()
    assert order == {
        "item": "book",
        "hops": ["typescript", "go", "python"],
        "price": 40,
        "closed": True,
        "pricedAt": 40,
    }
    spans = trace["spans"]
    assert [(s["step"], s["language"]) for s in spans] == [
        ("StartGoOrder", "typescript"),
        ("PriceGoOrder", "go"),
        ("CloseGoOrder", "python"),
    ]
    assert all(s["status"] == "completed" and s["traceId"] == trace_id for s in spans)
    line = core.wait_for_log(lambda d: d.get("msg") == "priced" and d.get("traceId") == trace_id)
    assert line["step"] == "PriceGoOrder" and line["language"] == "go" and line["price"] == 40


async def test_go_api_step_answers_http_with_typed_body_path_query_headers_and_a_helper_package(
    start_core: Callable[..., CoreProcess],
) -> None:
    core = start_core("go_hello", wait=False)
    core.wait_ready(timeout=240)
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{core.url}/go/hello/7?q=z", json={"name": " Ann "}) as resp:
            assert resp.status == 200, await resp.text()
            assert resp.headers["x-go"] == "1"
            body = await resp.json()
        assert body == {
            "hello": " Ann ",
            "id": "7",
            "q": "z",
            "traceId": resp.headers["x-motia-trace-id"],
            "greeting": "Hello, Ann!",  # from lib/, imported as "project/lib"
        }
        # bodySchema (a Go map) is enforced by the core before the handler runs
        async with session.post(f"{core.url}/go/hello/7", json={"nom": "x"}) as resp:
            assert resp.status == 400
            assert (await resp.json())["errors"] == [{"path": "/name", "message": "is required"}]
        # the emit reached the Go event step, which wrote state the other Go API step reads
        deadline = time.monotonic() + 20
        while True:
            async with session.get(f"{core.url}/go/greetings/7") as resp:
                if resp.status == 200:
                    assert await resp.json() == {"name": " Ann ", "by": "go"}
                    break
            assert time.monotonic() < deadline, "the Go event step never stored the greeting"
            await asyncio.sleep(0.05)


async def test_go_api_bodies_cross_as_bytes_binary_text_and_json(start_core: Callable[..., CoreProcess]) -> None:
    core = start_core("go_hello", wait=False)
    core.wait_ready(timeout=240)
    payload = bytes(range(256)) * 64 + b"\xff\xfe\x00 not UTF-8"
    async with aiohttp.ClientSession() as session:
        headers = {"content-type": "image/png"}
        async with session.post(f"{core.url}/go/bytes", data=payload, headers=headers) as resp:
            assert resp.status == 200
            assert await resp.read() == payload  # intact both ways
            assert resp.headers["content-type"] == "application/octet-stream"
            assert resp.headers["x-request-type"] == "image/png"
        async with session.post(
            f"{core.url}/go/bytes?as=text", data="héllo", headers={"content-type": "text/plain"}
        ) as resp:
            assert resp.headers["content-type"].startswith("text/plain")
            assert await resp.text() == "héllo"
        async with session.post(f"{core.url}/go/bytes?as=json", json={"a": [1, 2]}) as resp:
            assert await resp.json() == {"body": {"a": [1, 2]}, "rawBody": '{"a": [1, 2]}'}


def test_a_go_step_that_does_not_compile_is_a_load_error_with_file_and_line(tmp_path: Path) -> None:
    project = copy_fixture("go_mixed", tmp_path)
    (project / "steps" / "broken_step.go").write_text(BROKEN_STEP)
    done = subprocess.run(
        [sys.executable, "-m", "motia_core", "steps", "--dir", str(project), "--json"],
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    report = json.loads(done.stdout)
    issues = {i["file"]: i for i in report["issues"]}
    assert issues["steps/broken_step.go"]["line"] == 7
    assert issues["steps/broken_step.go"]["message"] == "undefined: notDefined"
    for other in ("steps/get_order_step.go", "steps/price_order_step.go"):
        assert issues[other]["message"] == (
            "not loaded: the go runner's build failed (see steps/broken_step.go:7: undefined: notDefined)"
        )
    assert sorted((s["name"], s["language"]) for s in report["steps"]) == [
        ("CloseGoOrder", "python"),
        ("StartGoOrder", "typescript"),
    ]


async def test_a_broken_go_build_leaves_the_other_languages_serving(
    start_core: Callable[..., CoreProcess], tmp_path: Path
) -> None:
    project = copy_fixture("go_mixed", tmp_path)
    (project / "steps" / "broken_step.go").write_text(BROKEN_STEP)
    core = start_core("go_mixed", wait=False)
    core.wait_ready(timeout=240)
    core.wait_for_log(lambda d: d.get("msg") == "invalid step: steps/broken_step.go:7: undefined: notDefined")
    # the compiler's own line, with the project's path (not the build tree's), reaches the log too
    core.wait_for_log(lambda d: d.get("msg") == "steps/broken_step.go:7:10: undefined: notDefined")
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{core.url}/go-orders", json={"item": "pen"}) as resp:
            assert resp.status == 200, await resp.text()
        async with session.get(f"{core.url}/go-orders/x") as resp:
            assert resp.status == 404  # the Go API step is not served


async def test_dev_rebuilds_the_go_runner_when_a_go_file_is_saved(tmp_path: Path) -> None:
    project = copy_fixture("go_hello", tmp_path)
    core = CoreProcess(project, command="dev")
    try:
        core.wait_ready(timeout=240)
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{core.url}/go/greetings/1") as resp:
                assert await resp.json() == {"error": "no greeting"}
            step = project / "steps" / "greetings_step.go"
            step.write_text(step.read_text().replace('"no greeting"', '"no greeting yet"'))
            core.wait_for_log(lambda d: "reloaded go (steps/greetings_step.go changed)" in d.get("msg", ""), 240)
            async with session.get(f"{core.url}/go/greetings/1") as resp:
                assert await resp.json() == {"error": "no greeting yet"}
    finally:
        core.stop()
