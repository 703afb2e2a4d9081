"""`motia-core dlq list|show|replay|purge`: dead letters of a project, read straight from its
.motia/queue.db (works whether or not the project is being served; a running core picks a replayed
event up within a second)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from motia_core.errors import ProjectError
from motia_core.queue.sqlite import SqliteQueue


def run(project_dir: Path, action: str, letter_id: str | None, everything: bool, as_json: bool) -> int:
    db = project_dir.resolve() / ".motia" / "queue.db"
    if not db.is_file():
        raise ProjectError(f"{project_dir} has no queue yet ({db} does not exist): nothing was ever queued")
    return asyncio.run(_run(SqliteQueue(db), action, letter_id, everything, as_json))


async def _run(queue: SqliteQueue, action: str, letter_id: str | None, everything: bool, as_json: bool) -> int:
    try:
        if action == "list":
            letters = await queue.dead_letters()
            if as_json:
                print(json.dumps([d.as_json(with_data=False) for d in letters], indent=2))
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
            print(json.dumps(letter.as_json(), indent=2))
            return 0
        if action == "replay":
            ids = [d.id for d in await queue.dead_letters()] if everything else [_need(letter_id)]
            replayed = [i for i in ids if await queue.replay(i)]
            print(f"replayed {len(replayed)} dead letter(s)")
            return 0 if len(replayed) == len(ids) else 1
        count = await queue.purge(None if everything else _need(letter_id))
        print(f"purged {count} dead letter(s)")
        return 0 if count or everything else 1
    finally:
        await queue.close()


def _need(letter_id: str | None) -> str:
    if not letter_id:
        raise ProjectError("give a dead letter id (see `motia-core dlq list`), or --all")
    return letter_id
