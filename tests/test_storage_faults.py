"""Storage faults are loud, never silent (issue 12 item 5, docs/delivery.md#storage-faults).

- `.motia/` is 0700 and its databases 0600, tightened at start when they were looser;
- a queue.db / state.db deleted or replaced under a running core: writes refused (POST /emit 503,
  ctx.emit / state.set fail with CODE_UNAVAILABLE), one log line naming the file;
- a damaged database or an unusable `.motia` at start: exit 2 with one error naming the file;
- logs to a full disk or a pipe nobody reads: handlers that print never hang, lines are dropped
  and counted.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from motia_core.errors import StorageError, StorageUnavailable
from motia_core.logs import Level, Logger, capture_std_logging
from motia_core.project import motia_dir
from motia_core.queue.base import QueuedEvent
from motia_core.queue.sqlite import SqliteQueue
from motia_core.state.sqlite import SqliteStateStore
from tests.conftest import CoreProcess, copy_fixture, free_port

FIXTURE = "storage_faults"


def _post(url: str, body: dict[str, Any], timeout: float = 30) -> tuple[int, Any]:
    req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _db_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name.endswith((".db", ".db-wal", ".db-shm")))


# -- .motia/ permissions ---------------------------------------------------------------------------


def test_motia_folder_is_0700_and_databases_0600(start_core: Callable[..., CoreProcess]) -> None:
    core = start_core(FIXTURE)
    assert _post(core.url + "/py/state", {"key": "a"})[0] == 200  # state.db and queue.db in use
    private = core.project / ".motia"
    assert _mode(private) == 0o700
    files = _db_files(private)
    assert {p.name for p in files} >= {"queue.db", "queue.db-wal", "state.db", "state.db-wal"}
    assert {p.name: oct(_mode(p)) for p in files} == {p.name: "0o600" for p in files}
    assert not core.find_logs(lambda d: "tightened the permissions" in d.get("msg", ""))


def test_looser_motia_folder_and_databases_are_tightened_at_start(
    tmp_path: Path, start_core: Callable[..., CoreProcess]
) -> None:
    project = copy_fixture(FIXTURE, tmp_path)
    private = project / ".motia"
    private.mkdir()
    private.chmod(0o755)
    for name in ("queue.db", "state.db"):
        sqlite3.connect(private / name).close()
        (private / name).chmod(0o644)
    core = start_core(FIXTURE)
    assert _mode(private) == 0o700
    assert all(_mode(p) == 0o600 for p in _db_files(private))
    [line] = core.find_logs(lambda d: "tightened the permissions" in d.get("msg", ""))  # once
    assert line["level"] == "warn"
    assert "755 → 700" in line["msg"] and "queue.db 644 → 600" in line["msg"] and "state.db 644 → 600" in line["msg"]


def test_motia_dir_leaves_tight_modes_alone(tmp_path: Path) -> None:
    out = io.StringIO()
    private = motia_dir(tmp_path, Logger("json", stream=out))
    assert _mode(private) == 0o700
    private.chmod(0o500)  # tighter than 0700: not ours to loosen
    motia_dir(tmp_path, Logger("json", stream=out))
    assert _mode(private) == 0o500
    private.chmod(0o700)
    assert out.getvalue() == ""


# -- a database deleted or replaced under a running core -------------------------------------------


@pytest.mark.chaos
def test_deleted_queue_db_refuses_new_events_loudly(start_core: Callable[..., CoreProcess]) -> None:
    core = start_core(FIXTURE)
    queue_db = core.project / ".motia" / "queue.db"
    assert _post(core.url + "/emit", {"topic": "storage.work", "data": {"n": 1}})[0] == 200
    inode = queue_db.stat().st_ino
    queue_db.unlink()
    queue_db.with_name("queue.db-wal").unlink(missing_ok=True)

    status, body = _post(core.url + "/emit", {"topic": "storage.work", "data": {"n": 2}})
    assert status == 503, body
    assert body["error"] == "Service unavailable"
    assert f"{queue_db} was deleted or replaced while the core was running (inode {inode} → none)" in body["message"]
    assert "restart the core to recreate it" in body["message"]
    # ctx.emit: the handler sees the error (Python CallError with code UNAVAILABLE) ...
    status, body = _post(core.url + "/py/emit", {"n": 3, "catch": True})
    assert (status, body["error"]) == (200, "UNAVAILABLE"), body
    assert str(queue_db) in body["message"]
    # ... and a handler that does not catch it fails as its language does
    assert _post(core.url + "/py/emit", {"n": 4})[0] == 500
    assert _post(core.url + "/ts/emit", {"n": 5})[0] == 500
    core.wait_for_log(lambda d: d.get("step") == "TsEmit" and str(queue_db) in d.get("msg", ""))
    # why, once, naming the file
    lines = core.find_logs(lambda d: d.get("level") == "error" and d.get("file") == str(queue_db))
    assert len(lines) == 1, lines
    assert "refusing new events so none is accepted into a file that is gone" in lines[0]["msg"]
    # state.db is untouched: state keeps working
    assert _post(core.url + "/py/state", {"key": "still"}) == (200, {"stored": True})
    assert core.proc.poll() is None


@pytest.mark.chaos
def test_replaced_queue_db_refuses_new_events(start_core: Callable[..., CoreProcess], tmp_path: Path) -> None:
    core = start_core(FIXTURE)
    queue_db = core.project / ".motia" / "queue.db"
    assert _post(core.url + "/emit", {"topic": "storage.work", "data": {"n": 1}})[0] == 200
    inode = queue_db.stat().st_ino
    other = tmp_path / "other.db"
    sqlite3.connect(other).close()
    os.replace(other, queue_db)  # e.g. a backup restored over it
    status, body = _post(core.url + "/emit", {"topic": "storage.work", "data": {"n": 2}})
    assert status == 503, body
    assert f"(inode {inode} → {queue_db.stat().st_ino})" in body["message"]
    status, body = _post(core.url + "/py/emit", {"n": 3, "catch": True})
    assert body["error"] == "UNAVAILABLE", body
    # the core's log thread may write the line after the answers went out: wait for it, then count
    core.wait_for_log(lambda d: d.get("file") == str(queue_db))
    assert len(core.find_logs(lambda d: d.get("file") == str(queue_db))) == 1


@pytest.mark.chaos
def test_deleted_state_db_refuses_state_writes(start_core: Callable[..., CoreProcess]) -> None:
    core = start_core(FIXTURE)
    state_db = core.project / ".motia" / "state.db"
    assert _post(core.url + "/py/state", {"key": "a"}) == (200, {"stored": True})
    state_db.unlink()
    status, body = _post(core.url + "/py/state", {"key": "b"})
    assert (status, body["error"]) == (200, "UNAVAILABLE"), body
    assert f"{state_db} was deleted or replaced" in body["message"] and "refusing state writes" in body["message"]
    core.wait_for_log(lambda d: d.get("level") == "error" and d.get("file") == str(state_db))


def test_enqueue_checks_the_file_before_every_write(tmp_path: Path) -> None:
    import asyncio

    async def run() -> None:
        out = io.StringIO()
        queue = SqliteQueue(tmp_path / "queue.db", Logger("json", stream=out))
        await queue.enqueue("s", QueuedEvent("t", b"1", "trace"))
        (tmp_path / "queue.db").unlink()
        for _ in range(3):
            with pytest.raises(StorageUnavailable, match="was deleted or replaced") as caught:
                await queue.enqueue("s", QueuedEvent("t", b"2", "trace"))
            assert caught.value.code == "CODE_UNAVAILABLE"
        assert len(out.getvalue().splitlines()) == 1  # logged once
        await queue.close()

    asyncio.run(run())


def test_sqlite_failures_while_running_are_storage_unavailable_and_logged_once_a_minute(tmp_path: Path) -> None:
    import asyncio

    async def run() -> None:
        out = io.StringIO()
        store = SqliteStateStore(tmp_path / "state.db", Logger("json", stream=out))
        store._db.execute("PRAGMA max_page_count = 8")  # a tiny "disk"
        for i in range(3):
            with pytest.raises(StorageUnavailable, match="database or disk is full"):
                await store.set("g", f"k{i}", b'"' + b"x" * 100_000 + b'"')
        store._db.execute("PRAGMA max_page_count = 1000000")
        await store.set("g", "k", b"1")  # space again: writes work
        assert await store.get("g", "k") == b"1"
        [line] = [json.loads(line) for line in out.getvalue().splitlines()]  # once, not once per write
        assert line["level"] == "error" and line["file"] == str(tmp_path / "state.db")
        assert line["msg"].startswith(f"{tmp_path / 'state.db'}: database or disk is full (the disk is full")
        await store.close()

    asyncio.run(run())


# -- a damaged database or an unusable .motia at start ---------------------------------------------


def _serve_once(project: Path, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "motia_core", "serve", "--dir", str(project), "--port", str(free_port())]
    cmd += ["--host", "127.0.0.1"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=str(project))


def _valid_db_bytes(tmp_path: Path) -> bytes:
    db = sqlite3.connect(tmp_path / "valid.db")
    db.execute("CREATE TABLE t (v BLOB)")
    db.executemany("INSERT INTO t VALUES (?)", [(b"x" * 1000,)] * 50)
    db.commit()
    db.close()
    return (tmp_path / "valid.db").read_bytes()


@pytest.mark.parametrize(
    ("name", "content", "what"),
    [
        ("queue.db", "random", "is not a SQLite database (file is not a database)"),
        ("queue.db", "text", "is not a SQLite database (file is not a database)"),
        ("queue.db", "truncated", "is damaged (database disk image is malformed)"),
        ("state.db", "text", "is not a SQLite database (file is not a database)"),
    ],
)
def test_damaged_database_at_start_exits_2_naming_the_file(tmp_path: Path, name: str, content: str, what: str) -> None:
    project = copy_fixture(FIXTURE, tmp_path)
    (project / ".motia").mkdir()
    data = {
        "random": os.urandom(8192),
        "text": b"these are not the events you are looking for\n" * 50,
        "truncated": _valid_db_bytes(tmp_path)[:100],  # the header and nothing else
    }[content]
    (project / ".motia" / name).write_bytes(data)
    done = _serve_once(project)
    assert done.returncode == 2, done.stdout + done.stderr
    holds = "your events" if name == "queue.db" else "your state and stream items"
    path = project / ".motia" / name
    assert done.stderr.strip() == (
        f"motia-core: {path} {what}; move it aside ({holds} are in it) and start again to create a new one"
        + (f" (`sqlite3 {path} .recover` may save what it holds)" if content == "truncated" else "")
    )
    assert "Traceback" not in done.stdout + done.stderr
    assert (project / ".motia" / name).read_bytes() == data  # left as it was for the user to recover


@pytest.mark.parametrize("blocker", ["motia_is_a_file", "queue_db_is_a_folder"])
def test_unusable_motia_folder_at_start_exits_2_with_a_clear_error(tmp_path: Path, blocker: str) -> None:
    # as root, a 0500 folder is still writable: a file where the folder should be (and the reverse)
    # is the unwritable .motia this machine can produce
    project = copy_fixture(FIXTURE, tmp_path)
    if blocker == "motia_is_a_file":
        (project / ".motia").write_text("not a folder")
        expected = f"motia-core: {project / '.motia'} is not a folder: the core keeps the project's state and events"
    else:
        (project / ".motia" / "queue.db").mkdir(parents=True)
        expected = f"motia-core: {project / '.motia' / 'queue.db'} is not a file; move it aside and start again"
    done = _serve_once(project)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith(expected), done.stderr
    assert "Traceback" not in done.stdout + done.stderr


@pytest.fixture
def reachable_dir() -> Iterator[Path]:
    """A folder any user can reach (pytest's tmp_path sits under a 0700 folder of root's)."""
    folder = Path(tempfile.mkdtemp(prefix="motia-storage-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_read_only_motia_folder_is_a_clear_error(reachable_dir: Path) -> None:
    """Root ignores a 0500 folder: as root, the check runs in a forked child that became `nobody`."""
    project = reachable_dir / "project"
    project.mkdir()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report through the pipe, never return into pytest
        answer = "no error"
        try:
            if os.geteuid() == 0:
                os.chown(project, 65534, 65534)
                os.setgid(65534)
                os.setuid(65534)
            private = motia_dir(project)
            private.chmod(0o500)
            SqliteQueue(private / "queue.db")
        except StorageError as exc:
            answer = str(exc)
        except BaseException as exc:
            answer = f"unexpected {exc!r}"
        finally:
            os.write(write_fd, answer.encode())
            os._exit(0)
    os.close(write_fd)
    os.waitpid(pid, 0)
    with os.fdopen(read_fd) as reader:
        answer = reader.read()
    private = project / ".motia"
    assert answer == (
        f"cannot create {private / 'queue.db'} (Permission denied): {private} must be a folder the core's user "
        "can write to"
    )


# -- logs that cannot be written -------------------------------------------------------------------


def test_logger_on_a_full_disk_drops_counts_and_never_raises() -> None:
    with open("/dev/full", "w") as full:
        logger = Logger("json", Level.INFO, full)
        for i in range(1000):
            logger.info(f"line {i}")
        logger.close()
    assert logger.dropped == 1000


def test_logger_on_a_blocked_pipe_never_blocks_and_reports_the_drops_when_it_drains() -> None:
    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd, "rb") as reader, os.fdopen(write_fd, "w") as writer:
        logger = Logger("json", Level.INFO, writer)
        started = time.monotonic()
        for i in range(60_000):  # ~5 MiB of lines: more than the pipe and the logger's buffer hold
            logger.info(f"line {i} " + "x" * 60)
        assert time.monotonic() - started < 30  # it never waited for the pipe
        assert logger.dropped > 0
        dropped = logger.dropped
        lines = [json.loads(reader.readline())]  # the pipe drains now
        while "were dropped" not in lines[-1]["msg"]:
            lines.append(json.loads(reader.readline()))
        assert lines[-1]["dropped"] == dropped and lines[-1]["level"] == "warn", lines[-1]
        assert lines[-1]["msg"].startswith(f"{dropped} log line(s) were dropped: the log output was too slow")
        logger.info("after")  # writing works again: nothing more is dropped
        while lines[-1]["msg"] != "after":
            lines.append(json.loads(reader.readline()))
        assert logger.dropped == dropped
        assert sum("were dropped" in d["msg"] for d in lines) == 1
        logger.close()


def test_logger_on_a_closed_pipe_drops_and_never_raises() -> None:
    read_fd, write_fd = os.pipe()
    os.close(read_fd)
    with os.fdopen(write_fd, "w") as writer:
        logger = Logger("pretty", Level.INFO, writer)
        for i in range(100):
            logger.error(f"line {i}")
        logger.close()
    assert logger.dropped == 100


def _spawn_core(project: Path, stdout: Any, port: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "motia_core", "serve", "--dir", str(project), "--port", str(port)]
    cmd += ["--host", "127.0.0.1", "--log-format", "json", "--log-level", "debug"]
    return subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.STDOUT, cwd=str(project))


def _wait_serving(proc: subprocess.Popen[bytes], url: str, timeout: float = 30) -> None:
    """No log to wait on: poll the port until it answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the core exited with {proc.returncode}"
        try:
            with urllib.request.urlopen(url + "/__motia", timeout=2):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    raise AssertionError("the core did not answer in time")


@pytest.fixture
def unread_core(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A core whose stdout and stderr go to a full disk or to a pipe nobody reads."""
    project = copy_fixture(FIXTURE, tmp_path)
    port = free_port()
    with open("/dev/full", "wb") as full:
        proc = _spawn_core(project, full if request.param == "dev_full" else subprocess.PIPE, port)
    try:
        yield proc, f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.mark.chaos
@pytest.mark.timeout(180)
@pytest.mark.parametrize("unread_core", ["dev_full", "unread_pipe"], indirect=True)
def test_handlers_that_print_never_hang_when_the_log_cannot_be_written(
    unread_core: tuple[subprocess.Popen[bytes], str],
) -> None:
    proc, url = unread_core
    _wait_serving(proc, url)
    work = {"lines": 20_000, "logs": 2_000, "long": True}  # 2 MB printed, 2,000 ctx.logger records
    for _ in range(3):
        for route in ("/py/print", "/ts/print"):
            started = time.monotonic()
            status, body = _post(url + route, work, timeout=60)
            assert (status, body) == (200, {"printed": 20_000}), (route, status, body)
            assert time.monotonic() - started < 60
    assert _post(url + "/py/state", {"key": "alive"}) == (200, {"stored": True})
    assert proc.poll() is None


def test_runner_output_is_logged_line_by_line_and_over_long_lines_are_cut(
    start_core: Callable[..., CoreProcess],
) -> None:
    core = start_core(FIXTURE)
    assert _post(core.url + "/py/print", {"lines": 3, "long": True}) == (200, {"printed": 3})
    cut = core.wait_for_log(lambda d: "[cut: line longer than 65536 bytes]" in d.get("msg", ""))
    assert cut["msg"] == "L" * 65536 + " [cut: line longer than 65536 bytes]"
    assert cut["source"] == "runner:python"
    assert _post(core.url + "/py/print", {"lines": 2}) == (200, {"printed": 2})
    core.wait_for_log(lambda d: d.get("msg", "").startswith("00000001 ppp"))
    printed = core.find_logs(lambda d: d.get("source") == "runner:python" and d.get("msg", "")[:8].isdigit())
    assert [d["msg"][:8] for d in printed][:3] == ["00000000", "00000001", "00000002"]
    assert not core.find_logs(lambda d: d.get("msg", "").startswith("LLL") and "[cut" not in d.get("msg", ""))


def test_python_logging_goes_through_the_non_blocking_logger() -> None:
    """asyncio's and aiohttp's own messages would otherwise be a blocking write to stderr."""
    import logging

    out = io.StringIO()
    capture_std_logging(Logger("json", Level.DEBUG, out))
    capture_std_logging(Logger("json", Level.DEBUG, out))  # once is enough: no second handler
    try:
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            logging.getLogger("asyncio").error("Task exception was never retrieved %s", "x", exc_info=True)
        logging.getLogger("aiohttp.server").warning("odd request")
    finally:
        root = logging.getLogger()
        for handler in [h for h in root.handlers if type(h).__name__ == "_Forward"]:
            root.removeHandler(handler)
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert (first["level"], first["msg"], first["logger"]) == (
        "error",
        "Task exception was never retrieved x",
        "asyncio",
    )
    assert "RuntimeError: boom" in first["stack"]
    assert (second["level"], second["msg"], second["logger"]) == ("warn", "odd request", "aiohttp.server")
