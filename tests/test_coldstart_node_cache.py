"""The Node runner's V8 code cache for its own dependencies (runners/node/src/loader/compile-cache.ts):
the second start compiles none of them, an entry is used only for the exact source it was made from,
a damaged file is ignored, and `MOTIA_NODE_COMPILE_CACHE=off` turns it off.

Each start is the runner alone, as bench/benchlib/node_start_ab.py runs it: a core address nobody
listens on and stdin closed, so it loads its modules, tries to connect, sees stdin closed and exits."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

NODE_DIR = ROOT / "runners" / "node"
RUNNER = NODE_DIR / "dist" / "runner.cjs"
MAGIC = b"motia-node-compile-cache 1\n"
STATS = re.compile(r"compile cache: (\d+) hit\(s\), (\d+) compiled, (\d+) rejected")

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


def _start(tmp_path: Path, cache: str) -> tuple[int, int, int] | None:
    """One runner start; the cache's (hits, compiled, rejected), or None when it printed no such line."""
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "MOTIA_CORE_ADDRESS": f"unix:{tmp_path}/nobody.sock",
        "MOTIA_PROJECT_DIR": str(project),
        "MOTIA_RUNNER_DEBUG": "1",
        "MOTIA_NODE_COMPILE_CACHE": cache,
    }
    done = subprocess.run(
        ["node", str(RUNNER)], stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, timeout=30
    )
    found = STATS.search(done.stderr)
    assert "connecting to" in done.stderr, done.stderr  # it got as far as its connect
    return None if found is None else (int(found[1]), int(found[2]), int(found[3]))


def _read(file: Path) -> tuple[dict[str, dict[str, int | str]], bytes]:
    raw = file.read_bytes()
    assert raw.startswith(MAGIC)
    length = int.from_bytes(raw[len(MAGIC) : len(MAGIC) + 4], "little")
    start = len(MAGIC) + 4
    return json.loads(raw[start : start + length]), raw[start + length :]


def _write(file: Path, index: dict[str, dict[str, int | str]], data: bytes) -> None:
    encoded = json.dumps(index).encode()
    file.write_bytes(MAGIC + len(encoded).to_bytes(4, "little") + encoded + data)


@pytest.mark.timeout(120)
def test_the_second_start_compiles_none_of_the_runners_dependencies_and_an_edited_source_is_compiled_anew(
    tmp_path: Path,
) -> None:
    cache = tmp_path / "cache"
    first = _start(tmp_path, str(cache))
    assert first is not None and first[0] == 0 and first[1] > 50, first  # grpc-js alone is dozens of files
    (file,) = cache.iterdir()
    index, data = _read(file)
    assert len(index) == first[1]
    # Only the runner's own node_modules, each entry recorded with the sha1 of the source it was made from.
    for name, entry in index.items():
        assert name.startswith(str(NODE_DIR / "node_modules") + os.sep), name
        source = Path(name).read_bytes().removeprefix(b"\xef\xbb\xbf")
        assert entry["sha1"] == hashlib.sha1(source).hexdigest(), name

    assert _start(tmp_path, str(cache)) == (first[1], 0, 0)

    # An entry recorded for another text (the file was edited since) is not used: compiled again, then
    # the cache is rewritten with the right sha1.
    victim = next(iter(index))
    index[victim]["sha1"] = "0" * 40
    _write(file, index, data)
    assert _start(tmp_path, str(cache)) == (first[1] - 1, 1, 0)
    assert _read(file)[0][victim]["sha1"] == hashlib.sha1(Path(victim).read_bytes()).hexdigest()

    # Cached data V8 refuses (here: another entry's bytes) is rejected by V8 and compiled anew, never run.
    index, data = _read(file)
    names = sorted(index, key=lambda n: int(index[n]["length"]))
    small, big = names[0], names[-1]
    index[small] = {**index[big], "sha1": index[small]["sha1"]}
    _write(file, index, data)
    assert _start(tmp_path, str(cache)) == (first[1] - 1, 0, 1)


@pytest.mark.timeout(60)
def test_a_damaged_cache_file_is_ignored_and_off_disables_the_cache(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert _start(tmp_path, str(cache)) is not None
    (file,) = cache.iterdir()
    file.write_bytes(b"not a cache at all")
    stats = _start(tmp_path, str(cache))
    assert stats is not None and stats[0] == 0 and stats[1] > 50  # all compiled as without a cache
    assert file.read_bytes().startswith(MAGIC)  # and written again

    off = tmp_path / "off"
    assert _start(tmp_path, "off") is None
    assert not off.exists()
