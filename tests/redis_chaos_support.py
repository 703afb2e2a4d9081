"""What tests/test_redis_chaos.py reads from outside the cores: the queue's keys in Redis and the
processes of an instance (to kill all of them at once and prove none survived)."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path
from typing import Any

import orjson
import psutil
import redis

from tests.conftest import CoreProcess, pid_alive

LANGS = ("python", "typescript")  # the subscribers of tests/fixtures/rc_cluster
TAG = "{rc_cluster}"  # the queue's hash tag: the default prefix, the project folder's name


def leases_of(client: redis.Redis, consumer: str) -> dict[str, set[int]]:
    """Per language, the `n` of every event leased to `consumer` and not settled (the consumer's
    pending entries in each subscription stream), read from Redis itself."""
    leased: dict[str, set[int]] = {lang: set() for lang in LANGS}
    for raw in client.scan_iter(match=f"{TAG}:q:s:*"):
        stream = raw.decode()  # {prefix}:q:s:work.item::<step id: the step file's path>
        lang = "python" if stream.endswith(".py") else "typescript"
        for p in client.xpending_range(stream, "motia", "-", "+", 10_000, consumername=consumer):
            entry = client.xrange(stream, p["message_id"], p["message_id"])
            assert entry, f"pending entry {p['message_id']!r} of {stream} is gone from the stream"
            fields: Any = entry[0][1]
            event_id = fields[b"id"].decode()
            data = client.hget(f"{TAG}:q:e:{event_id}", "data")
            assert data is not None, f"event {event_id} leased to {consumer} has no body in Redis"
            leased[lang].add(int(orjson.loads(data)["n"]))
    return leased


def consumer_of(client: redis.Redis, pid: int) -> str:
    """The consumer name of the core process `pid` (`<host>-<pid>-<random>`, queue/redis.py)."""
    for raw in client.scan_iter(match=f"{TAG}:q:s:*"):
        for c in client.xinfo_consumers(raw, "motia"):
            name = c["name"].decode() if isinstance(c["name"], bytes) else str(c["name"])
            if f"-{pid}-" in name:
                return name
    raise AssertionError(f"no consumer of process {pid} in any subscription stream")


def kill_instance(core: CoreProcess) -> set[int]:
    """SIGKILL the core and every process it started (runners live in their own process groups,
    and a runner may have children of its own): the whole instance dies at once. Their pids."""
    tree = psutil.Process(core.proc.pid).children(recursive=True)
    groups = set()
    for p in tree:
        with contextlib.suppress(ProcessLookupError):
            groups.add(os.getpgid(p.pid))
    os.kill(core.proc.pid, signal.SIGKILL)
    for group in groups - {os.getpgid(0)}:
        os.killpg(group, signal.SIGKILL)
    for p in tree:  # anything that had left its group
        with contextlib.suppress(ProcessLookupError):
            os.kill(p.pid, signal.SIGKILL)
    core.proc.wait(10)
    return {core.proc.pid, *(p.pid for p in tree)}


def processes_of(out: Path, instance: str) -> list[str]:
    """Every live process started for `instance` of this test (the core's environment reaches each
    runner and anything a runner starts), wherever it sits in the process tree now."""
    found = []
    for p in psutil.process_iter(["pid", "cmdline"]):
        with contextlib.suppress(psutil.Error):
            env = p.environ()
            if env.get("RC_OUT") == str(out) and env.get("RC_INSTANCE") == instance and pid_alive(p.pid):
                found.append(f"{p.pid}: {' '.join(p.info['cmdline'] or [])}")
    return found


def unsettled(client: redis.Redis) -> int:
    """Deliveries leased and not yet acked, over every subscription stream (from Redis itself)."""
    return sum(int(client.xpending(s, "motia")["pending"]) for s in client.scan_iter(match=f"{TAG}:q:s:*"))
