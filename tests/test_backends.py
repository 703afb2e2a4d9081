"""The storage backend factory (core/motia_core/backends.py): names, entry points, the Redis
connection's faults (down at start, down while running), key prefixes."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from motia_core.backends import BackendOptions, Backends, backend_name, build_backends
from motia_core.errors import ProjectError, StorageError, StorageUnavailable
from motia_core.logs import Level, Logger
from motia_core.redis_conn import connect, default_prefix, mask, validate_prefix
from motia_core.state.redis import RedisStateStore
from tests.conftest import free_port
from tests.redis_server import RedisServer

ROOT = Path(__file__).resolve().parent.parent


def _options(tmp_path: Path, url: str | None = None, prefix: str | None = None) -> BackendOptions:
    return BackendOptions(tmp_path, Logger("json", Level.ERROR), url, prefix)


def fake_backend(options: BackendOptions) -> Backends:
    """A third-party backend as an entry point would provide it (here: SQLite under another folder)."""
    from motia_core.queue.memory import MemoryQueue
    from motia_core.state.sqlite import SqliteStateStore
    from motia_core.streams.store import SqliteStreamStore

    db = options.project_dir / "fake.db"
    return Backends("fake", MemoryQueue(), SqliteStateStore(db), SqliteStreamStore(db))


def _register(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dist = tmp_path / "site" / "motia_fake_backend-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: motia-fake-backend\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[motia_core.backends]\n"
        "fake = tests.test_backends:fake_backend\n"
        "broken = no_such_module_anywhere:factory\n"
        "sqlite = tests.test_backends:fake_backend\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path / "site"))


def test_the_default_is_sqlite_and_redis_with_a_url() -> None:
    assert backend_name(None) == "sqlite"
    assert backend_name("redis://localhost:6379/0") == "redis"
    assert backend_name("redis://localhost:6379/0", "custom") == "custom"


async def test_sqlite_keeps_its_folder_private(tmp_path: Path) -> None:
    backends = build_backends("sqlite", _options(tmp_path))
    await backends.open()
    assert backends.stream_bus is None and backends.cron_lock is None
    assert stat.S_IMODE((tmp_path / ".motia").stat().st_mode) == 0o700
    for name in ("state.db", "queue.db"):
        assert stat.S_IMODE((tmp_path / ".motia" / name).stat().st_mode) == 0o600
    await backends.queue.close()
    await backends.state.close()
    await backends.stream_store.close()
    await backends.close()


def test_an_unknown_backend_names_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match=r"unknown storage backend 'nope': known backends are redis, sqlite"):
        build_backends("nope", _options(tmp_path))


def test_the_cli_reports_an_unknown_backend(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "motia_core", "steps", "--dir", str(tmp_path), "--backend", "nope"],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
    )
    assert out.returncode == 2
    assert "unknown storage backend 'nope': known backends are redis, sqlite" in out.stderr


async def test_a_backend_registered_through_an_entry_point_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _register(tmp_path, monkeypatch)
    backends = build_backends("fake", _options(tmp_path))
    assert backends.name == "fake"
    await backends.state.set("g", "k", b"1")
    assert (tmp_path / "fake.db").is_file()
    await backends.state.close()
    await backends.stream_store.close()
    # a broken plugin fails only when asked for, and says which; a built-in name cannot be taken over
    with pytest.raises(ProjectError, match=r"storage backend 'broken' cannot be loaded: ModuleNotFoundError"):
        build_backends("broken", _options(tmp_path))
    assert build_backends("sqlite", _options(tmp_path)).name == "sqlite"
    with pytest.raises(ProjectError, match=r"known backends are broken, fake, redis, sqlite"):
        build_backends("nope", _options(tmp_path))


def test_the_redis_backend_needs_a_url_and_a_usable_prefix(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="needs a URL"):
        build_backends("redis", _options(tmp_path))
    with pytest.raises(StorageError, match=r"--redis-prefix 'a:\{b\}' is not usable"):
        build_backends("redis", _options(tmp_path, "redis://127.0.0.1:1/0", "a:{b}"))


def test_the_default_prefix_is_the_folder_name_sanitized() -> None:
    assert default_prefix("My App!") == "my-app"
    assert default_prefix("shop.v2_api") == "shop.v2_api"
    assert default_prefix("{}::") == "motia"
    assert validate_prefix("team-a") == "team-a"


def test_passwords_are_masked_in_messages() -> None:
    assert mask("redis://:s3cret@db.example:6380/2") == "redis://:***@db.example:6380/2"
    assert mask("redis://app:s3cret@db/0") == "redis://app:***@db/0"
    assert mask("redis://localhost:6379/0") == "redis://localhost:6379/0"


@pytest.mark.timeout(60)
def test_a_redis_that_is_down_at_start_is_a_clear_error_not_a_hang(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    url = f"redis://:hunter2@127.0.0.1:{port}/0"
    project = tmp_path / "project"
    (project / "steps").mkdir(parents=True)
    started = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-m", "motia_core", "serve", "--dir", str(project), "--port", str(free_port()),
         "--host", "127.0.0.1", "--redis", url],
        capture_output=True,
        text=True,
        timeout=45,
        cwd=ROOT,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert out.returncode == 2, out.stdout + out.stderr
    assert f"cannot reach Redis at redis://:***@127.0.0.1:{port}/0 within 10s" in out.stderr
    assert "hunter2" not in out.stdout + out.stderr
    assert elapsed < 30  # the 10 s wait plus the interpreter's start, never a hang
    assert not (project / ".motia").exists()  # the SQLite store was never touched


@pytest.mark.chaos
async def test_a_redis_error_while_running_is_storage_unavailable(redis_server: RedisServer) -> None:
    client = connect(redis_server.url)
    store = RedisStateStore(client, "faults", url=redis_server.url)
    await store.set("g", "k", b"1")
    redis_server.kill()
    started = time.monotonic()
    with pytest.raises(StorageUnavailable, match=rf"Redis at {redis_server.url} failed a state call"):
        await store.set("g", "k", b"2")
    with pytest.raises(StorageUnavailable):
        await store.get("g", "k")
    assert time.monotonic() - started < 20  # retries with backoff, then a clear failure
    redis_server.start()  # same port, same appendonly file: the client reconnects by itself
    assert await store.get("g", "k") == b"1"
    await client.aclose()


async def test_prefixes_keep_projects_apart(redis_server: RedisServer) -> None:
    client = connect(redis_server.url)
    one, two = RedisStateStore(client, "one"), RedisStateStore(client, "two")
    await one.set("g", "k", b"1")
    assert await two.get("g", "k") is None
    assert await two.groups() == []
    keys = sorted(k.decode() if isinstance(k, bytes) else k for k in await client.keys("*"))
    assert keys == ["{one:state:g}:n", "{one:state:g}:o", "{one:state:g}:v", "{one:state}:groups"]
    await client.aclose()


def test_dlq_and_steps_read_the_redis_backend(tmp_path: Path, redis_server: RedisServer) -> None:
    project = tmp_path / "project"
    (project / "steps").mkdir(parents=True)
    env = {**os.environ, "MOTIA_REDIS_URL": redis_server.url}
    for argv in (["dlq", "list"], ["steps"]):
        out = subprocess.run(
            [sys.executable, "-m", "motia_core", *argv, "--dir", str(project)],
            capture_output=True,
            text=True,
            timeout=30,
            cwd=ROOT,
            env=env,
        )
        assert out.returncode == 0, out.stderr
    assert (
        "0 dead letter(s)"
        in subprocess.run(
            [sys.executable, "-m", "motia_core", "dlq", "list", "--dir", str(project), "--redis", redis_server.url],
            capture_output=True,
            text=True,
            timeout=30,
            cwd=ROOT,
        ).stdout
    )
    assert not (project / ".motia").exists()  # the SQLite queue was never created
