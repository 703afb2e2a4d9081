"""`motia-core dlq list|show|replay|purge`: dead letters of a project, read from the storage the
project is served with (works whether or not it is being served; a running core picks a replayed
event up within a second). SQLite: the project's .motia/queue.db. Redis (`--redis URL`): the
shared queue every instance with the same URL and prefix uses.

`letter_json` is a dead letter as `--json` and GET /__motia/dlq show it (http/admin_dlq.py)."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from motia_core.backends import BackendOptions, Backends, backend_name, build_backends
from motia_core.errors import ProjectError
from motia_core.logs import Level, Logger
from motia_core.queue.base import DeadLetter, EventQueue


def letter_json(letter: DeadLetter, with_data: bool = True) -> dict[str, object]:
    """`letter` as JSON with its times (enqueuedAt, diedAt, each failure's time) in Unix milliseconds,
    the unit of every other admin answer; the queue stores seconds."""
    doc = letter.as_json(with_data)
    doc["enqueuedAt"] = _ms(letter.enqueued_at)
    doc["diedAt"] = _ms(letter.died_at)
    if with_data:
        doc["failures"] = [_failure_ms(f) for f in letter.failures]
    return doc


def _failure_ms(failure: dict[str, object]) -> dict[str, object]:
    time_ = failure.get("time")
    if isinstance(time_, int | float) and not isinstance(time_, bool):
        return {**failure, "time": _ms(time_)}
    return failure


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


@dataclass(frozen=True)
class Storage:
    """Which backend holds the queue: the same --backend / --redis / --redis-prefix as `serve`."""

    backend: str | None = None
    redis_url: str | None = None
    redis_prefix: str | None = None


def run(
    project_dir: Path,
    action: str,
    letter_id: str | None,
    everything: bool,
    as_json: bool,
    storage: Storage | None = None,
) -> int:
    storage = storage or Storage()
    name = backend_name(storage.redis_url, storage.backend)
    project = project_dir.resolve()
    if name == "sqlite":
        db = project / ".motia" / "queue.db"
        if not db.is_file():  # do not create an empty queue just to say it is empty
            raise ProjectError(f"{project_dir} has no queue yet ({db} does not exist): nothing was ever queued")
    logger = Logger("pretty", Level.WARN, stream=sys.stderr)  # stdout is the command's output; only problems are logged
    options = BackendOptions(project, logger, storage.redis_url, storage.redis_prefix)
    return asyncio.run(_open_and_run(build_backends(name, options), action, letter_id, everything, as_json))


async def _open_and_run(backends: Backends, action: str, letter_id: str | None, everything: bool, as_json: bool) -> int:
    try:
        await backends.open()
        return await _run(backends.queue, action, letter_id, everything, as_json)
    finally:
        await backends.queue.close()
        await backends.state.close()
        await backends.stream_store.close()
        await backends.close()


async def _run(queue: EventQueue, action: str, letter_id: str | None, everything: bool, as_json: bool) -> int:
    if action == "list":
        letters = await queue.dead_letters()
        if as_json:
            print(json.dumps([letter_json(d, with_data=False) for d in letters], indent=2))
        else:
            for d in letters:
                when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(d.died_at))
                step = d.subscription.split("::", 1)[-1]
                print(f"{d.id}  {when}  {d.topic} -> {step}  attempts={d.attempts}  {d.as_json()['lastError']}")
            print(f"{len(letters)} dead letter(s)")
        return 0
    if action == "show":
        letter = await queue.dead_letter(_need(letter_id))
        if letter is None:
            print(f"no dead letter {letter_id}")
            return 1
        print(json.dumps(letter_json(letter), indent=2))
        return 0
    if action == "replay":
        ids = [d.id for d in await queue.dead_letters()] if everything else [_need(letter_id)]
        replayed = [i for i in ids if await queue.replay(i)]
        print(f"replayed {len(replayed)} dead letter(s)")
        return 0 if len(replayed) == len(ids) else 1
    count = await queue.purge(None if everything else _need(letter_id))
    print(f"purged {count} dead letter(s)")
    return 0 if count or everything else 1


def _need(letter_id: str | None) -> str:
    if not letter_id:
        raise ProjectError("give a dead letter id (see `motia-core dlq list`), or --all")
    return letter_id
