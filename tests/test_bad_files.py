"""Issue 12 item 4, "a bad file hurts only itself": a step the core cannot route or validate, a file
that ends its runner process at import, and a handler result that cannot become an HTTP response
each fail alone, named by file and field; every other step keeps serving."""

from __future__ import annotations

import asyncio
import io
import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web

from motia_core.logs import Level, Logger
from motia_core.project import RunnerName, StepFile
from motia_core.registry import Registry
from motia_core.runners.transport import Manifest, ManifestEntry
from motia_core.steps import parse_step, path_problem
from tests.conftest import CoreProcess, copy_fixture

# -- item 4.1: paths, schemas and routes rejected at load --------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("users", "must start with '/'"),
        ("/users/:", "needs a parameter name"),
        ("/a/{x", "character '{' is not allowed"),
        ("/a/{x}", "write a path parameter as ':name'"),
        ("/a b", "character ' ' is not allowed"),
        ("/a?q=1", "character '?' is not allowed"),
        ("/a/\x00", "character '\\x00' is not allowed"),
        ("/files/:name.json", "is not supported: a path parameter is a whole segment"),
        ("/a/:x-y", "is not supported"),
        ("/a/:id/b/:id", "':id' appears twice"),
        ("/emit", "is a route motia-core serves itself"),
        ("/__motia", "is a route motia-core serves itself"),
        ("/__motia/steps/mine", "under /__motia"),
        ("/metrics/", "is a route motia-core serves itself"),
    ],
)
def test_paths_the_router_cannot_serve_are_named(path: str, expected: str) -> None:
    problem = path_problem(path)
    assert problem is not None and expected in problem, problem


@pytest.mark.parametrize("path", ["/", "/users/:id", "/users/:id?", "/a/b-c/:x_1", "/emitter", "/__motiax", "/ü/:a"])
def test_ordinary_motia_paths_are_accepted(path: str) -> None:
    assert path_problem(path) is None


def _file(tmp_path: Path, name: str) -> StepFile:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("")
    return StepFile(path, name, "python", RunnerName("python"))


def _api(name: str, path: str, **extra: Any) -> bytes:
    return orjson.dumps({"type": "api", "name": name, "method": "GET", "path": path, "emits": [], **extra})


def test_a_duplicate_route_goes_to_the_file_that_sorts_first_whatever_the_load_order(tmp_path: Path) -> None:
    a, b = _file(tmp_path, "steps/a_step.py"), _file(tmp_path, "steps/b_step.py")
    for order in ((a, b), (b, a)):  # runners load concurrently: either may report first
        registry = Registry()
        for f in order:
            name = "A" if f is a else "B"
            registry.add_manifest([f], Manifest([ManifestEntry(f.step_id, _api(name, f"/x/:{name.lower()}"), True)]))
        assert [s.name for s in registry.steps] == ["A"]
        assert [(i.file, i.field) for i in registry.issues] == [("steps/b_step.py", "config.path")]
        assert "already served by A (steps/a_step.py)" in registry.issues[0].message


def test_an_invalid_body_schema_or_unresolvable_ref_rejects_the_step(tmp_path: Path) -> None:
    files = [_file(tmp_path, f"steps/s{i}_step.py") for i in range(4)]
    configs = [
        _api("Nonsense", "/n", bodySchema={"type": "nonsense"}),
        _api("Dangling", "/d", bodySchema={"properties": {"u": {"$ref": "#/definitions/User"}}}),
        # a remote $ref is never fetched (fastjsonschema would download it at compile time)
        _api("Remote", "/r", bodySchema={"properties": {"u": {"$ref": "http://127.0.0.1:9/user.json"}}}),
        _api("Fine", "/f", bodySchema={"properties": {"u": {"$ref": "#/definitions/U"}}, "definitions": {"U": {}}}),
    ]
    registry = Registry()
    registry.add_manifest(
        files, Manifest([ManifestEntry(f.step_id, c, True) for f, c in zip(files, configs, strict=True)])
    )
    assert [s.name for s in registry.steps] == ["Fine"]
    issues = {i.file: i for i in registry.issues}
    assert issues["steps/s0_step.py"].field == "config.bodySchema"
    assert "'nonsense' is not valid" in issues["steps/s0_step.py"].message
    assert "$ref '#/definitions/User' does not resolve" in issues["steps/s1_step.py"].message
    assert "remote references are not fetched" in issues["steps/s2_step.py"].message


def test_an_event_input_schema_with_a_dangling_ref_only_warns(tmp_path: Path) -> None:
    f = _file(tmp_path, "steps/e_step.py")
    config = {"type": "event", "name": "E", "subscribes": ["t"], "input": {"$ref": "#/nowhere"}}
    registry = Registry()
    registry.add_manifest([f], Manifest([ManifestEntry(f.step_id, orjson.dumps(config), True)]))
    assert [s.name for s in registry.steps] == ["E"] and not registry.issues
    assert "does not resolve" in registry.warnings[0] and "not be enforced" in registry.warnings[0]


def _steps_check(project: Path) -> tuple[int, dict[str, Any], str]:
    result = subprocess.run(
        [sys.executable, "-m", "motia_core", "steps", "--dir", str(project), "--check", "--json"],
        capture_output=True,
        text=True,
        timeout=90,
    )
    return result.returncode, json.loads(result.stdout), result.stderr


def test_steps_check_names_each_bad_config_by_file_and_field(tmp_path: Path) -> None:
    code, doc, stderr = _steps_check(copy_fixture("badfiles_config", tmp_path))
    assert code == 1, stderr
    issues = {i["file"]: i for i in doc["issues"]}
    expected = {
        "steps/empty-param.step.ts": ("config.path", "needs a parameter name"),
        "steps/no-slash.step.js": ("config.path", "must start with '/'"),
        "steps/brace_step.py": ("config.path", "character '{' is not allowed"),
        "steps/dotted_param_step.rb": ("config.path", "':name.json' is not supported"),
        "steps/bad-schema.step.ts": ("config.bodySchema", "'nonsense' is not valid"),
        "steps/bad_ref_step.py": ("config.bodySchema", "$ref '#/definitions/User' does not resolve"),
        "steps/emit_step.py": ("config.path", "'/emit' is a route motia-core serves itself"),
        "steps/admin.step.js": ("config.path", "under /__motia"),
        "steps/dup_2.step.js": ("config.path", "already served by DupFirst (steps/dup_1_step.py)"),
    }
    assert set(issues) == set(expected), doc["issues"]
    for file, (field, text) in expected.items():
        assert issues[file]["field"] == field and text in issues[file]["message"], issues[file]
        assert issues[file]["line"], issues[file]  # the line of the key in the source
    assert sorted(s["name"] for s in doc["steps"]) == ["DupFirst", "GoodPy", "GoodRb", "GoodTs"]


async def test_serve_rejects_bad_configs_and_serves_the_rest(start_core: Callable[..., CoreProcess]) -> None:
    # before: '/a/{x' made app.router.add_route raise in build_app and the whole core exited
    core = start_core("badfiles_config")
    errors = core.find_logs(lambda d: d.get("level") == "error" and "invalid step" in d.get("msg", ""))
    assert len(errors) == 9, [e["msg"] for e in errors]
    async with aiohttp.ClientSession() as session:
        for path, expected in (("/good-ts", {"ok": "ts"}), ("/good-rb", {"ok": "rb"})):
            async with session.get(core.url + path) as resp:
                assert resp.status == 200 and await resp.json() == expected
        async with session.post(core.url + "/good/7", json={"n": 3}) as resp:
            assert resp.status == 200 and await resp.json() == {"id": "7", "n": 3}
        async with session.post(core.url + "/good/7", json={"n": "three"}) as resp:
            assert resp.status == 400  # its $ref-using bodySchema is enforced
        async with session.get(core.url + "/dup/1") as resp:
            assert (await resp.json())["winner"] == "python"
        for path in ("/bad-schema", "/bad-ref"):
            async with session.post(core.url + path, json={}) as resp:
                assert resp.status == 404
        async with session.get(core.url + "/__motia/steps/mine") as resp:
            assert resp.status != 200 or "stolen" not in await resp.text()
        async with session.post(core.url + "/emit", json={"topic": "nobody", "data": {}}) as resp:
            assert "stolen" not in await resp.text()  # the built-in /emit, not the step


# -- item 4.2: a file that ends its runner process at import -----------------------------------------

QUARANTINED = {
    "steps/exit_step.py": "python runner process (exit code 3)",
    "steps/exit.step.ts": "node runner process (exit code 3)",
    "steps/exit-too.step.js": "node runner process (exit code 5)",
    "steps/exit_step.rb": "ruby runner process (exit code 3)",
}


@pytest.mark.chaos
@pytest.mark.timeout(120)
def test_steps_check_quarantines_files_that_end_their_runner_at_import(tmp_path: Path) -> None:
    code, doc, stderr = _steps_check(copy_fixture("badfiles_exit", tmp_path))
    assert code == 1, stderr
    issues = {i["file"]: i["message"] for i in doc["issues"]}
    assert set(issues) == set(QUARANTINED), doc["issues"]
    for file, what in QUARANTINED.items():
        assert f"importing it ended the {what}; it is not served" in issues[file]
    assert sorted(s["name"] for s in doc["steps"]) == ["JsOk", "PyCrash", "PyOk", "RbOk", "TsOk"]


@pytest.mark.chaos
@pytest.mark.timeout(120)
async def test_serve_quarantines_exiting_imports_and_backs_off_a_crashing_handler(
    start_core: Callable[..., CoreProcess],
) -> None:
    core = start_core("badfiles_exit", env={"MOTIA_RETRY_BASE_DELAY": "0.05"})
    for file, what in QUARANTINED.items():  # named in the log, by the runner that found it
        core.wait_for_log(lambda d, f=file, w=what: d.get("file") == f and w in d.get("msg", ""), timeout=5)
    async with aiohttp.ClientSession() as session:
        for path, lang in (
            ("/py-ok", "python"),
            ("/ts-ok", "typescript"),
            ("/js-ok", "javascript"),
            ("/rb-ok", "ruby"),
        ):
            async with session.get(core.url + path) as resp:
                assert resp.status == 200 and (await resp.json())["ok"] == lang
        async with session.get(core.url + "/__motia/runners") as resp:
            runners = {r["runtime"]: r for r in (await resp.json())["runners"]}
        # the quarantined files are gone from the runners: later restarts never import them again
        assert runners["node"]["steps"] == 2 and runners["python"]["steps"] == 2 and runners["ruby"]["steps"] == 1
        assert all(r["state"] == "ready" for r in runners.values())

        # a handler that ends the process when invoked: the call gets 503, the runner restarts with
        # a growing delay (logged), and the other steps of the language serve again after each restart
        def restarts() -> list[float]:
            logs = core.find_logs(lambda d: "restarting the python runner in" in d.get("msg", ""))
            return [float(re.findall(r"in ([\d.]+)s", d["msg"])[0]) for d in logs]

        for _ in range(3):
            before = len(restarts())
            async with session.get(core.url + "/py-crash") as resp:
                assert resp.status == 503
            deadline = time.monotonic() + 15
            while True:  # wait for the restart (logged with its delay), then for the language to serve
                if len(restarts()) > before:
                    async with session.get(core.url + "/py-ok") as resp:
                        if resp.status == 200:
                            break
                assert time.monotonic() < deadline, "python runner did not come back:\n" + core.output()
                await asyncio.sleep(0.05)
        delays = restarts()
        # the first restarts are the quarantine rounds (0.1 s each); the crash loop then backs off
        crash_delays = delays[-3:]
        assert crash_delays == sorted(crash_delays) and crash_delays[-1] > crash_delays[0], delays
        async with session.get(core.url + "/ts-ok") as resp:
            assert resp.status == 200  # other languages never noticed


# -- item 4.3: handler results that cannot become an HTTP response ----------------------------------


def _step(tmp_path: Path) -> Any:
    return parse_step(_file(tmp_path, "steps/r_step.py"), _api("R", "/r"), True)


def _answer(tmp_path: Path, result: Any, raw: bytes | None = None) -> tuple[int, Any, Any]:
    from motia_core.http.response import handler_response

    payload = raw if raw is not None else json.dumps(result).encode()
    resp = handler_response(_step(tmp_path), payload, "t-1", Logger("json", Level.ERROR, stream=io.StringIO()))
    assert isinstance(resp, web.Response)
    body = resp.body if isinstance(resp.body, bytes) else b""
    return resp.status, body, resp.headers


def test_integers_beyond_2_53_are_refused_naming_the_field_path(tmp_path: Path) -> None:
    status, body, _ = _answer(tmp_path, {"status": 200, "body": {"a": [{"id": 2**64 + 1}]}})
    assert status == 500
    message = orjson.loads(body)["message"]
    assert message.startswith("R returned an invalid response: body.a[0].id: integer cannot be carried exactly")
    assert str(2**64 + 1) not in message  # the value is logged, not sent
    for value in (2**53, -(2**53), 10**30):
        assert _answer(tmp_path, {"status": 200, "body": {"n": value}})[0] == 500
    status, body, _ = _answer(tmp_path, {"status": 200, "body": {"n": 2**53 - 1, "s": "1" * 40, "f": 1e300}})
    assert status == 200 and orjson.loads(body)["n"] == 2**53 - 1


def test_nan_and_infinity_are_refused(tmp_path: Path) -> None:
    for text in ("NaN", "Infinity", "-Infinity", "1e400"):
        status, body, _ = _answer(tmp_path, None, b'{"status":200,"body":{"x":' + text.encode() + b"}}")
        assert status == 500 and "body.x: " in orjson.loads(body)["message"], text


def test_header_and_status_problems_name_the_field(tmp_path: Path) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"headers": {"X-A": "a\r\nb"}}, "headers.X-A: value contains a carriage return (CR)"),
        ({"headers": {"X-A": "a\nb"}}, "headers.X-A: value contains a line feed (LF)"),
        ({"headers": {"X-A": "a\x00"}}, "headers.X-A: value contains the character '\\x00'"),
        ({"headers": {"X A": "1"}}, "headers: a header name must be an HTTP token"),
        ({"headers": {"X-A": {"k": 1}}}, "headers.X-A: expected a string, number or array of strings, got an object"),
        ({"headers": {"X-A": [{"k": 1}]}}, "headers.X-A: expected an array of strings"),
        ({"headers": ["X-A"]}, "headers: expected an object"),
        ({"status": 200.0}, "status: expected an integer HTTP status 100-599"),
        ({"status": True}, "status: expected an integer"),
        ({"status": 99}, "status: expected an integer"),
        ({"body": {"type": "Buffer", "data": [1, 256]}}, "body.data[1]: a Buffer byte must be an integer 0-255"),
        ({"body": {"type": "Buffer", "data": [-1]}}, "body.data[0]: a Buffer byte"),
        ({"body": {"type": "Buffer", "data": [0.5]}}, "body.data[0]: a Buffer byte"),
    ]
    for result, expected in cases:
        status, body, _ = _answer(tmp_path, {"status": 200, "body": {}, **result})
        assert status == 500, result
        message = orjson.loads(body)["message"]
        assert message.startswith(f"R returned an invalid response: {expected}"), (result, message)


def test_well_formed_results_keep_their_meaning(tmp_path: Path) -> None:
    status, _, headers = _answer(
        tmp_path,
        {"status": 201, "headers": {"Set-Cookie": ["a=1", "b=2"], "X-N": 7, "X-B": True, "X-Z": None}, "body": {}},
    )
    assert status == 201
    assert headers.getall("Set-Cookie") == ["a=1", "b=2"] and headers["X-N"] == "7" and headers["X-B"] == "true"
    assert "X-Z" not in headers and headers["x-motia-trace-id"] == "t-1"
    status, body, headers = _answer(tmp_path, {"status": 200, "body": {"type": "Buffer", "data": [104, 105]}})
    assert (status, body, headers["Content-Type"]) == (200, b"hi", "application/octet-stream")


async def test_serve_answers_unsendable_results_with_a_json_500(start_core: Callable[..., CoreProcess]) -> None:
    core = start_core("badfiles_response")
    expected = {
        "/py/crlf": "PyResults returned an invalid response: headers.X-Evil: value contains a carriage return (CR)",
        "/py/header-name": "PyResults returned an invalid response: headers: a header name must be an HTTP token",
        "/py/header-object": "headers.X-Obj: expected a string, number or array of strings, got an object",
        "/py/status-float": "status: expected an integer HTTP status 100-599",
        "/py/status-bool": "status: expected an integer HTTP status 100-599",
        "/py/bigint": "body.id: integer cannot be carried exactly by JSON clients (limit +-2^53-1)",
        "/py/bigint-64": "body.items[1]: integer cannot be carried exactly",
        "/py/huge": "body.n: integer cannot be carried exactly",
        "/py/nan": "body.x: NaN is not a JSON number",
        "/py/buffer-256": "body.data[1]: a Buffer byte must be an integer 0-255",
        "/py/buffer-negative": "body.data[0]: a Buffer byte must be an integer 0-255",
        "/py/buffer-float": "body.data[0]: a Buffer byte must be an integer 0-255",
        "/py/headers-list": "headers: expected an object of header names to values, got an array",
        "/py/not-object": "result: expected an object {status, body, headers?}, got an array",
        "/ts/crlf": "TsResults returned an invalid response: headers.X-A: value contains a carriage return (CR)",
        "/ts/buffer-256": "body.data[1]: a Buffer byte must be an integer 0-255",
        "/rb/bigint": "RbResults returned an invalid response: body.id: integer cannot be carried exactly",
        "/rb/crlf": "headers.X-A: value contains a line feed (LF)",
    }
    async with aiohttp.ClientSession() as session:
        for path, text in expected.items():
            async with session.get(core.url + path) as resp:
                assert resp.status == 500, (path, await resp.text())
                assert resp.content_type == "application/json"
                doc = await resp.json()
                assert doc["error"] == "Internal server error" and text in doc["message"], (path, doc)
                trace_id = resp.headers["x-motia-trace-id"]
            log = core.wait_for_log(lambda d, t=trace_id: d.get("traceId") == t and "invalid response" in d["msg"])
            assert log["level"] == "error" and log.get("step") in {"PyResults", "TsResults", "RbResults"}
        assert "18446744073709551617" in core.output()  # the value is in the log, for the developer
        async with session.get(core.url + "/py/ok") as resp:
            assert resp.status == 200
            assert await resp.read() == b'{"id":9007199254740991,"ratio":0.5,"label":"12345678901234567890"}'
        async with session.get(core.url + "/py/header-list") as resp:
            assert resp.status == 200 and resp.headers.getall("Set-Cookie") == ["a=1", "b=2"]
            assert resp.headers["X-Num"] == "7"
        async with session.get(core.url + "/py/buffer-ok") as resp:
            assert resp.status == 200 and await resp.read() == b"hi"
        async with session.get(core.url + "/ts/buffer-ok") as resp:
            assert resp.status == 200 and await resp.read() == b"hi" and resp.content_type == "text/plain"
        async with session.get(core.url + "/rb/ok") as resp:
            assert resp.status == 200
