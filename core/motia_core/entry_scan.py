"""The entry points of one group, read from the dist-info folders on sys.path without importlib.metadata.

`serve` reads the `motia_core.runners` entry points before it can spawn the runners, while only one CPU
is busy. `import importlib.metadata` alone costs ~25-35 ms of CPU there (it imports email, zipfile and
csv), and reading each distribution's METADATA through the email parser ~5 ms more
(docs/performance.md, "Cold start"). The common layout, plain folders on sys.path and only the
standard path finder able to find distributions, is read here directly, giving what
`importlib.metadata.entry_points(group=...)` gives: same entry points, same order, the first
distribution of a name winning. Anything else (a zip or egg on sys.path, another finder that finds
distributions) returns None and the caller asks importlib.metadata, which is never wrong.
tests/test_entry_scan.py compares the two.
"""

from __future__ import annotations

import functools
import importlib
import os
import re
import sys
from dataclasses import dataclass, field
from importlib.machinery import PathFinder
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

# importlib.metadata.EntryPoint.pattern
_VALUE = re.compile(r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?((?P<extras>\[.*\])\s*)?$")


def _normalize(name: str) -> str:
    """importlib.metadata's Prepared.normalize: the key distributions are told apart by."""
    return re.sub(r"[-_.]+", "-", name).lower().replace("-", "_")


@dataclass
class ScannedDistribution:
    """A dist-info / egg-info folder; `name` and `version` read from its METADATA (or PKG-INFO) headers."""

    path: Path
    _headers: dict[str, str] | None = field(default=None, repr=False)

    def _header(self, key: str) -> str | None:
        if self._headers is None:
            self._headers = _read_headers(self.path)
        return self._headers.get(key.lower())

    @property
    def name(self) -> str | None:
        return self._header("Name")

    @property
    def version(self) -> str | None:
        return self._header("Version")


@dataclass(frozen=True)
class ScannedEntryPoint:
    """What runner_registry uses of an importlib.metadata.EntryPoint."""

    name: str
    value: str
    group: str
    dist: ScannedDistribution

    def load(self) -> object:
        """importlib.metadata.EntryPoint.load: import the module, then follow the attribute path."""
        match = _VALUE.match(self.value)
        if match is None:
            raise ValueError(f"entry point value {self.value!r} is not 'module' or 'module:attribute'")
        module: object = importlib.import_module(match.group("module"))
        attrs = filter(None, (match.group("attr") or "").split("."))
        return functools.reduce(getattr, attrs, module)


def _read_headers(info: Path) -> dict[str, str]:
    """The first value of each header of METADATA (or PKG-INFO), keys lower-cased; the headers end at
    the first blank line, as the email parser importlib.metadata uses reads them."""
    for candidate in ("METADATA", "PKG-INFO"):
        try:
            text = (info / candidate).read_text(encoding="utf-8")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError):
            continue
        if text:
            break
    else:
        return {}
    headers: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            break
        if line[0] in " \t" or ":" not in line:
            continue  # a folded continuation: Name and Version are never folded
        key, _, value = line.partition(":")
        headers.setdefault(key.strip().lower(), value.strip())
    return headers


def _entry_points_text(text: str, group: str, dist: ScannedDistribution) -> list[ScannedEntryPoint]:
    """importlib.metadata's Sectioned reader: stripped lines, '#' comments, `[group]` headers, `a = b`."""
    found: list[ScannedEntryPoint] = []
    section: str | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line.strip("[]")
            continue
        if section != group:
            continue
        name, _, value = line.partition("=")
        found.append(ScannedEntryPoint(name.rstrip().strip(), value.lstrip().strip(), group, dist))
    return found


def _infos(entry: str) -> list[Path] | None:
    """The dist-info / egg-info children of one sys.path folder, grouped by normalized name in the order
    importlib.metadata's Lookup gives them; None when the entry is not a plain folder or missing one."""
    if not isinstance(entry, str):
        return None
    root = entry or "."
    try:
        children = os.listdir(root)
    except OSError:
        if os.path.exists(root) or root.endswith(".egg"):
            return None  # a zip file or another layout: importlib.metadata reads those
        return []
    if root.endswith(".egg"):
        return None
    groups: dict[str, list[Path]] = {}
    for child in children:
        low = child.lower()
        if low.endswith((".dist-info", ".egg-info")):
            groups.setdefault(_normalize(low.rpartition(".")[0].partition("-")[0]), []).append(Path(root, child))
    return [path for paths in groups.values() for path in paths]


def _name_from_stem(path: Path) -> str | None:
    stem, ext = os.path.splitext(path.name)
    return stem.partition("-")[0] if ext in (".dist-info", ".egg-info") else None


def scan_entry_points(group: str, paths: list[str] | None = None) -> list[ScannedEntryPoint] | None:
    """The entry points of `group` as `importlib.metadata.entry_points(group=group)` lists them, or None
    when the fast read cannot be sure to match it (then ask importlib.metadata)."""
    if paths is None:
        for finder in sys.meta_path:
            if finder is not PathFinder and getattr(finder, "find_distributions", None) is not None:
                return None
        paths = sys.path
    seen: set[str] = set()
    found: list[ScannedEntryPoint] = []
    for entry in paths:
        infos = _infos(entry)
        if infos is None:
            return None
        for info in infos:
            stem = _name_from_stem(info)
            if stem is None:
                return None
            key = _normalize(stem)
            if key in seen:
                continue
            seen.add(key)
            try:
                text = (info / "entry_points.txt").read_text(encoding="utf-8")
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError):
                continue
            found.extend(_entry_points_text(text, group, ScannedDistribution(info)))
    return found


def entry_points_of(group: str) -> list[EntryPoint | ScannedEntryPoint]:
    """The installed entry points of `group`: scanned when sys.path is plain folders, else (and then
    only) through importlib.metadata. The runner registry, the storage backends and the Workbench
    plugins use it, so `serve` never imports importlib.metadata in the common layout."""
    scanned = scan_entry_points(group)
    if scanned is not None:
        return [*scanned]
    from importlib.metadata import entry_points

    return [*entry_points(group=group)]
