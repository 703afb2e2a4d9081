"""`motia-core dev`: a real core with the watcher, real runners, real edits on disk (docs/dev.md)."""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CoreProcess, copy_fixture


def get(url: str, timeout: float = 30.0) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def post(url: str, doc: object) -> int:
    req = urllib.request.Request(url, json.dumps(doc).encode(), {"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=30) as resp:
        return int(resp.status)


def save(path: Path, text: str) -> None:
    """As an editor's atomic save: a temp file (a suffix no runner loads), then a rename over the file,
    so the watcher never sees a half-written step."""
    tmp = path.with_name(f".{path.name}.swp")
    tmp.write_text(text)
    os.replace(tmp, path)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    save(path, text.replace(old, new))


class Dev:
    """A `motia-core dev` on a copy of tests/fixtures/dv_app."""

    def __init__(self, core: CoreProcess) -> None:
        self.core = core
        self.project = core.project
        self.url = core.url

    def swaps(self) -> int:
        return len(self.core.find_logs(lambda d: "now serving" in d.get("msg", "")))

    def errors(self) -> list[dict[str, Any]]:
        return self.core.find_logs(lambda d: "keeps the code it had" in d.get("msg", ""))

    def change(self, action: Callable[[], None], timeout: float = 60.0) -> dict[str, Any]:
        """Do `action` (edits) and wait for the reload it causes; the swap's log line."""
        before = self.swaps()
        action()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = self.core.find_logs(lambda d: "now serving" in d.get("msg", ""))
            if len(lines) > before:
                return lines[before]
            assert self.core.proc.poll() is None, self.core.output()
            time.sleep(0.02)
        raise AssertionError("no reload in time; output:\n" + self.core.output())


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[Dev]:
    project = copy_fixture("dv_app", tmp_path)
    core = CoreProcess(project, ["--api-timeout", "30"], command="dev")
    try:
        core.wait_ready(60)
        core.wait_for_log(lambda d: "for changes" in d.get("msg", ""), 30)
        yield Dev(core)
    finally:
        core.stop()


@pytest.mark.timeout(240)
def test_each_edit_is_live_for_the_next_call(dev: Dev) -> None:
    steps = dev.project / "steps"
    assert get(dev.url + "/ts") == (200, {"v": "ts-v1"})
    # a TS handler
    dev.change(lambda: edit(steps / "ts.step.ts", "ts-v1", "ts-v2"))
    assert get(dev.url + "/ts") == (200, {"v": "ts-v2"})
    # a TS helper imported by a step (not a step itself): the Node runner reloads
    assert get(dev.url + "/hello") == (200, {"v": "helper-v1"})
    line = dev.change(lambda: edit(dev.project / "src/lib/greeting.ts", "helper-v1", "helper-v2"))
    assert "src/lib/greeting.ts" in line["msg"] and "node" in line["msg"]
    assert get(dev.url + "/hello") == (200, {"v": "helper-v2"})
    # a Python config: the path moves, the old one is gone
    dev.change(lambda: edit(steps / "version_step.py", '"/py/v1"', '"/py/v2"'))
    assert get(dev.url + "/py/v2") == (200, {"v": "py-v1"})
    assert get(dev.url + "/py/v1")[0] == 404
    # a Ruby step
    line = dev.change(lambda: edit(steps / "version_step.rb", "rb-v1", "rb-v2"))
    assert "reloaded ruby " in line["msg"], line  # only Ruby's runner: the others were not touched
    assert get(dev.url + "/rb") == (200, {"v": "rb-v2"})
    assert get(dev.url + "/ts") == (200, {"v": "ts-v2"})


@pytest.mark.timeout(240)
def test_a_load_error_keeps_the_old_code_and_the_next_good_save_recovers(dev: Dev) -> None:
    steps = dev.project / "steps"
    good = {p: (steps / p).read_text() for p in ("ts.step.ts", "version_step.py", "version_step.rb")}
    save(steps / "ts.step.ts", good["ts.step.ts"].replace("'ts-v1' } }", "'ts-v9' } \n}}}"))
    save(steps / "version_step.py", good["version_step.py"].replace('"emits": []}', '"emits": []'))
    save(steps / "version_step.rb", good["version_step.rb"].replace('"emits" => [] }', '"emits" => []'))
    deadline = time.monotonic() + 60
    while len({e["file"] for e in dev.errors()}) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    errors = {e["file"]: e for e in dev.errors()}
    assert set(errors) == {"steps/ts.step.ts", "steps/version_step.py", "steps/version_step.rb"}, dev.core.output()
    for file, error in errors.items():
        assert isinstance(error["line"], int) and error["line"] >= 1, error
        assert error["level"] == "error" and f"{file}:{error['line']}" in error["msg"], error
        assert "SyntaxError" in error["msg"], error
    # the old runners never stopped serving the old code
    assert get(dev.url + "/ts") == (200, {"v": "ts-v1"})
    assert get(dev.url + "/py/v1") == (200, {"v": "py-v1"})
    assert get(dev.url + "/rb") == (200, {"v": "rb-v1"})
    # the next good save recovers
    dev.change(lambda: save(steps / "ts.step.ts", good["ts.step.ts"].replace("ts-v1", "ts-v2")))
    assert get(dev.url + "/ts") == (200, {"v": "ts-v2"})
    dev.change(lambda: save(steps / "version_step.rb", good["version_step.rb"].replace("rb-v1", "rb-v2")))
    assert get(dev.url + "/rb") == (200, {"v": "rb-v2"})


@pytest.mark.timeout(240)
def test_an_added_step_appears_and_a_deleted_one_disappears_its_events_kept(dev: Dev) -> None:
    steps = dev.project / "steps"
    assert get(dev.url + "/added")[0] == 404
    added = "export const config = { type: 'api', name: 'Added', method: 'GET', path: '/added', emits: [] }\n"
    added += "export const handler = async () => ({ status: 200, body: { v: 'added' } })\n"
    line = dev.change(lambda: save(steps / "added.step.ts", added))
    assert "added steps/added.step.ts" in line["msg"], line
    assert get(dev.url + "/added") == (200, {"v": "added"})
    line = dev.change(lambda: (steps / "ts.step.ts").unlink())
    assert "removed steps/ts.step.ts" in line["msg"], line
    assert get(dev.url + "/ts")[0] == 404
    # an event step deleted with events queued: they stay queued (no attempt used) until it is back
    consumer = (steps / "consume_step.py").read_text()
    for n in range(8):
        assert post(dev.url + "/emit", {"topic": "dv.note", "data": {"n": n}}) == 200
    dev.change(lambda: (steps / "consume_step.py").unlink())
    time.sleep(1.5)  # any delivery the deleted step still had in flight finishes on its old runner
    queued = _depth(dev, "dv.note")
    assert queued >= 2, queued  # eight events at 1 s each, one at a time: most were still waiting
    time.sleep(1.0)
    assert _depth(dev, "dv.note") == queued  # nothing consumes them now
    dev.change(lambda: save(steps / "consume_step.py", consumer))
    deadline = time.monotonic() + 60
    while _depth(dev, "dv.note") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _depth(dev, "dv.note") == 0
    status, doc = get(dev.url + "/__motia/state/dv")
    assert status == 200
    seen = next(item["value"] for item in doc["items"] if item["key"] == "seen")
    assert sorted(seen) == list(range(8)), seen  # every event ran once, none lost
    assert get(dev.url + "/__motia/queue")[1]["deadLetters"] == 0


@pytest.mark.timeout(180)
def test_types_d_ts_follows_the_steps(dev: Dev) -> None:
    types = dev.project / "types.d.ts"

    def wait_for(text: str, present: bool) -> str:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            content = types.read_text() if types.exists() else ""
            if (text in content) == present:
                return content
            time.sleep(0.05)
        raise AssertionError(f"types.d.ts {'lacks' if present else 'still has'} {text!r}:\n{dev.core.output()}")

    first = wait_for("generated by motia-core generate-types", True)  # written at start
    assert "'Added'" not in first
    added = "export const config = { type: 'api', name: 'Added', method: 'GET', path: '/added', emits: [] }\n"
    added += "export const handler = async () => ({ status: 200, body: { v: 'added' } })\n"
    dev.change(lambda: save(dev.project / "steps" / "added.step.ts", added))
    wait_for("'Added'", True)
    dev.change(lambda: (dev.project / "steps" / "added.step.ts").unlink())
    wait_for("'Added'", False)


def _depth(dev: Dev, topic: str) -> int:
    _, doc = get(dev.url + "/__motia/queue")
    return sum(int(row["depth"]) for row in doc["subscriptions"] if row["topic"] == topic)


@pytest.mark.timeout(300)
def test_calls_running_during_reloads_get_no_5xx_and_none_is_lost(dev: Dev) -> None:
    """Three background loops call while a TS step is edited three times: every call answers 200,
    in-flight calls (/slow, 300 ms) finish on the old runner, and a loop never sees an older version
    after a newer one."""
    stop = threading.Event()
    results: dict[str, list[tuple[int, Any]]] = {"/ts": [], "/slow": [], "/hello": []}
    failures: list[str] = []

    def loop(path: str) -> None:
        while not stop.is_set():
            try:
                results[path].append(get(dev.url + path))
            except Exception as exc:  # a lost call: connection reset, timeout
                failures.append(f"{path}: {exc!r}")

    threads = [threading.Thread(target=loop, args=(p,), daemon=True) for p in results]
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)
        steps = dev.project / "steps"
        for old, new in (("v1", "v2"), ("v2", "v3"), ("v3", "v4")):

            def both(old: str = old, new: str = new) -> None:
                edit(steps / "ts.step.ts", f"ts-{old}", f"ts-{new}")
                edit(steps / "slow.step.ts", f"slow-{old}", f"slow-{new}")

            dev.change(both)
            time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join(40)
    assert not failures, failures[:5]
    for path, got in results.items():
        assert got, path
        bad = [r for r in got if r[0] != 200]
        assert not bad, (path, bad[:5])
    for path in ("/ts", "/slow"):
        versions = [int(body["v"].rsplit("-v", 1)[1]) for _, body in results[path]]
        assert versions == sorted(versions), (path, versions)  # never back to older code
        assert versions[-1] == 4 and versions[0] == 1, (path, versions[0], versions[-1])
    assert len(results["/ts"]) > 10


@pytest.mark.timeout(120)
def test_the_workbench_live_socket_is_told_after_a_swap(dev: Dev) -> None:
    import asyncio

    import aiohttp

    async def run() -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = []
        async with aiohttp.ClientSession() as http, http.ws_connect(dev.url + "/__motia/live") as ws:
            await asyncio.sleep(0.3)  # connected before the edit
            await asyncio.to_thread(dev.change, lambda: edit(dev.project / "steps/ts.step.ts", "ts-v1", "ts-v2"))
            deadline = asyncio.get_running_loop().time() + 30
            while not any(m.get("type") == "flows" for m in got):
                left = deadline - asyncio.get_running_loop().time()
                assert left > 0, got
                msg = await ws.receive(timeout=left)
                if msg.type is aiohttp.WSMsgType.TEXT:
                    got.append(json.loads(msg.data))
        return got

    messages = asyncio.run(run())
    assert {"type": "flows"} in messages


def test_which_runners_a_changed_file_reloads(tmp_path: Path) -> None:
    from motia_core.project import RunnerName
    from motia_core.watch import classify

    every = {RunnerName("node"), RunnerName("python"), RunnerName("ruby")}

    def runtimes(*names: str, present: set[RunnerName] = every) -> set[RunnerName]:
        return classify(tmp_path, [tmp_path / n for n in names], present).runtimes

    assert runtimes("src/lib/util.ts") == {RunnerName("node")}  # a helper: its language's runner
    assert runtimes("steps/a_step.py", "src/db.py") == {RunnerName("python")}
    assert runtimes("steps/x_step.rb") == {RunnerName("ruby")}
    assert runtimes("steps/data.json") == {RunnerName("node")}
    assert runtimes(".env") == every
    assert runtimes(".env", present={RunnerName("python")}) == {RunnerName("python")}
    assert runtimes("src/x.rb", present={RunnerName("node")}) == set()  # no Ruby in the project
    assert runtimes("src/node_modules/pkg/index.js", "steps/__pycache__/a.pyc", "steps/.a.ts.swp") == set()
    assert runtimes("README.md", "steps/notes.yaml") == set()
    config = classify(tmp_path, [tmp_path / "motia.config.ts"], every)
    assert config.runtimes == {RunnerName("node")} and "next start" in config.notes[0]


@pytest.mark.timeout(300)
def test_a_created_multilang_project_reloads_ts_python_and_ruby_edits_under_load(tmp_path: Path) -> None:
    """The issue's story on a project made by `motia-core create --template multilang`: while calls
    run, a TS handler, a Python config and a Ruby helper (a file no runner loads as a step) are edited;
    every call answers, each edit is served, and every chain started during the edits completes."""
    from motia_core.create import create

    project = tmp_path / "app"
    create(project, "multilang")
    steps = project / "steps"
    (steps / "deliver_helper.rb").write_text('def delivered_status\n  "greeted"\nend\n')
    deliver = (steps / "deliver_step.rb").read_text()
    deliver = 'require_relative "deliver_helper"\n\n' + deliver.replace('= "greeted"', "= delivered_status")
    (steps / "deliver_step.rb").write_text(deliver)
    core = CoreProcess(project, ["--api-timeout", "30"], command="dev")
    stop = threading.Event()
    answers: list[tuple[int, Any]] = []
    failures: list[str] = []

    def hello(name: str) -> tuple[int, Any]:
        req = urllib.request.Request(
            core.url + "/hello", json.dumps({"name": name}).encode(), {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            return int(resp.status), json.loads(resp.read())

    def load() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                answers.append(hello(f"n{n}"))
            except Exception as exc:  # a lost call: connection reset, timeout, 5xx
                failures.append(repr(exc))

    def greeting(trace_id: str, done: Callable[[Any], bool]) -> Any:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status, doc = get(f"{core.url}/greetings/{trace_id}")
            if status == 200 and done(doc):
                return doc
            time.sleep(0.1)
        raise AssertionError(f"greeting {trace_id} not done: {doc!r}\n{core.output()}")

    try:
        core.wait_ready(60)
        core.wait_for_log(lambda d: "for changes" in d.get("msg", ""), 30)
        dev = Dev(core)
        loader = threading.Thread(target=load, daemon=True)
        loader.start()
        time.sleep(0.5)
        dev.change(lambda: edit(steps / "hello.step.ts", "body: { traceId }", "body: { traceId, v: 2 }"))
        assert hello("ts")[1].get("v") == 2
        dev.change(lambda: edit(steps / "greet_step.py", "Writes the greeting (Python)", "Writes it, v2"))
        described = {s["name"]: s.get("description") for s in get(core.url + "/__motia/steps")[1]["steps"]}
        assert described["Greet"] == "Writes it, v2"
        dev.change(lambda: edit(steps / "deliver_helper.rb", '"greeted"', '"greeted-v2"'))
        trace_id = hello("rb")[1]["traceId"]
        assert greeting(trace_id, lambda d: d.get("status") == "greeted-v2")["hops"] == ["typescript", "python", "ruby"]
        time.sleep(0.5)
        stop.set()
        loader.join(40)
        assert not failures, failures[:5]
        assert len(answers) > 5 and all(status == 202 for status, _ in answers), [a for a in answers if a[0] != 202]
        for _, body in answers:  # every chain started during the reloads ran through all three languages
            assert greeting(body["traceId"], lambda d: len(d.get("hops", [])) == 3)["hops"] == [
                "typescript",
                "python",
                "ruby",
            ]
    finally:
        stop.set()
        core.stop()
