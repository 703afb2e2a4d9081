"""motia_core/entry_scan.py reads entry points as importlib.metadata does, without importing it before
the runners spawn; where it cannot be sure (a zip on sys.path, another finder of distributions) it
says so and importlib.metadata is asked."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from importlib.metadata import distributions, entry_points
from pathlib import Path

import pytest

from motia_core.entry_scan import scan_entry_points
from motia_core.runner_registry import describe_entry_point, installed_entry_points
from tests.conftest import ROOT


def _as_tuples(eps: object) -> list[tuple[str, str, str, str | None, str | None]]:
    return [(e.name, e.value, e.group, e.dist.name, e.dist.version) for e in eps]  # type: ignore[attr-defined]


def _dist(root: Path, folder: str, metadata: str, entry_points_txt: str | None) -> None:
    info = root / folder
    info.mkdir(parents=True)
    (info / ("PKG-INFO" if folder.endswith(".egg-info") else "METADATA")).write_text(metadata)
    if entry_points_txt is not None:
        (info / "entry_points.txt").write_text(entry_points_txt)


def _importlib(group: str, paths: list[str]) -> list[tuple[str, str, str, str | None, str | None]]:
    """importlib.metadata.entry_points(group=...) over `paths`, with its first-of-a-name rule."""
    seen: set[str] = set()
    out = []
    for dist in distributions(path=paths):
        key = dist._normalized_name  # type: ignore[attr-defined]
        if key in seen:
            continue
        seen.add(key)
        out += _as_tuples(ep for ep in dist.entry_points if ep.group == group)
    return out


@pytest.mark.parametrize("group", ["motia_core.runners", "console_scripts", "pytest11", "no.such.group"])
def test_the_installed_entry_points_are_importlib_metadatas(group: str) -> None:
    scanned = scan_entry_points(group)
    assert scanned is not None  # this checkout's sys.path is plain folders
    assert _as_tuples(scanned) == _as_tuples(entry_points(group=group))


def test_tricky_layouts_read_as_importlib_metadata_reads_them(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    group = "motia_core.runners"
    body = (
        "# a comment\n[console_scripts]\nx = a:b\n\n[motia_core.runners]\n  spaced   =  pkg.mod : attr.sub [extra]  \n"
    )
    _dist(first, "Spam_Eggs-1.0.dist-info", "Metadata-Version: 2.1\nName: Spam.Eggs\nVersion: 1.0\n\nName: body", body)
    # the same distribution again, later on the path and spelled otherwise: importlib's first one wins
    _dist(second, "spam.eggs-2.0.dist-info", "Name: spam-eggs\nVersion: 2.0\n", "[motia_core.runners]\nlate = m:a\n")
    _dist(second, "old_style-0.3.egg-info", "Name: old-style\nVersion: 0.3\n", "[motia_core.runners]\nold=o:p\n")
    _dist(second, "no_eps-1.dist-info", "Name: no-eps\nVersion: 1\n", None)
    _dist(second, "no_meta-1.dist-info", "", "[motia_core.runners]\nbare = b:c\n")
    (second / "loose.egg-info").write_text("Name: loose\n")  # an egg-info file, not a folder
    paths = [str(first), str(tmp_path / "missing"), str(second)]
    scanned = scan_entry_points(group, paths)
    assert scanned is not None
    assert _as_tuples(scanned) == _importlib(group, paths)
    assert sorted(e.name for e in scanned) == ["bare", "old", "spaced"]  # and so not trivially empty
    assert describe_entry_point(scanned[0]) == "entry point spaced = pkg.mod : attr.sub [extra] (Spam.Eggs 1.0)"


def test_what_the_scan_cannot_be_sure_of_goes_to_importlib_metadata(tmp_path: Path) -> None:
    archive = tmp_path / "dists.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("zipped-1.0.dist-info/METADATA", "Name: zipped\nVersion: 1.0\n")
    assert scan_entry_points("motia_core.runners", [str(archive)]) is None
    assert scan_entry_points("motia_core.runners", [str(tmp_path / "x.egg")]) is None

    class Finder:
        @staticmethod
        def find_distributions(*args: object, **kwargs: object) -> list[object]:
            return []

    sys.meta_path.append(Finder)  # type: ignore[arg-type]
    try:
        assert scan_entry_points("motia_core.runners") is None
        # the registry then lists importlib.metadata's entry points, as before
        assert _as_tuples(installed_entry_points()) == _as_tuples(entry_points(group="motia_core.runners"))
    finally:
        sys.meta_path.remove(Finder)  # type: ignore[arg-type]


def test_the_scanned_entry_points_load_and_serve_leaves_importlib_metadata_unimported() -> None:
    code = (
        "import json, sys\n"
        "from motia_core.runner_registry import installed_runners\n"
        "runners = installed_runners()\n"
        "print(json.dumps(sorted(r.declaration.name for r in runners.installed)))\n"
        "print(runners.source_of('node'))\n"
        "print('importlib.metadata' in sys.modules, 'email.message' in sys.modules)\n"
        # the rest of serve's imports, the storage backends' and Workbench panels' entry points: none either
        "from motia_core.coldstart import import_core\n"
        "import_core()\n"
        "from motia_core.backends import _known\n"
        "import motia_core.workbench.plugins\n"
        "assert 'sqlite' in _known()\n"
        "print('importlib.metadata' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60, cwd=ROOT
    ).stdout.splitlines()
    assert {"node", "python", "ruby"} <= set(json.loads(out[0]))
    assert out[1].startswith("entry point node = motia_core.builtin_runners:node (motia-core ")
    assert out[2] == "False False"
    assert out[3] == "False"
