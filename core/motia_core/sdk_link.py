"""node_modules/motia (and zod) in a Node project, so an editor and a bare `tsc` resolve `import ... from 'motia'`.

Inside the Node runner `motia` is the SDK bundled in runner.cjs and a `zod` the project lacks falls back to the
runner's own; outside it (an editor, `npx tsc --noEmit`) module resolution only looks in node_modules. So a Node
project (package.json, tsconfig.json or jsconfig.json at its root) gets
    node_modules/motia -> the installed sdk-node (paths.sdk_node_dir()); its package.json points `types` at the
                          declarations in dist/types, which `make install` builds and the wheel carries
    node_modules/zod   -> the runner's zod (the very one the runner gives steps that import zod)
as symlinks, or as copies where the filesystem refuses symlinks. Every template git-ignores node_modules/.

What this module made is recorded in node_modules/.motia-core-links.json. Anything else at those paths (a `motia`
or `zod` installed with npm, pnpm's links) is the user's and is never touched; a foreign `motia` is mentioned,
since editors then read its types while the runner serves its own. `create` makes the links; `serve`, `dev` and
`generate-types` refresh them when missing (`npm install` prunes them) or stale (another motia-core install, a
moved venv, a copy whose source changed).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from motia_core import paths
from motia_core.errors import ProjectError

NODE_PROJECT_MARKERS = ("package.json", "tsconfig.json", "jsconfig.json")
MANIFEST = ".motia-core-links.json"
COPY_MARKER = ".motia-core-copy"  # inside a copy we made, so a package npm later put there is not mistaken for ours
SDK_DECLARATIONS = Path("dist") / "types" / "index.d.ts"


class Notify(Protocol):
    """Where messages go: the core's Logger, or plain stderr for one-shot commands."""

    def info(self, message: str) -> None: ...

    def warn(self, message: str) -> None: ...


@dataclass(frozen=True)
class Outcome:
    name: str  # the package: motia or zod
    action: str  # linked | copied | fresh | foreign | unavailable
    path: Path  # node_modules/<name>


def is_node_project(project: Path) -> bool:
    return any((project / marker).is_file() for marker in NODE_PROJECT_MARKERS)


def provided() -> dict[str, Path]:
    """The packages the runner gives a project, by name, and where this install of motia-core keeps them."""
    found = {"motia": paths.sdk_node_dir()}
    try:
        found["zod"] = paths.node_runner().parents[1] / "node_modules" / "zod"
    except ProjectError:
        pass  # no runner built: serve says so itself; editors just lack zod
    return found


def link_sdk(project: Path, notify: Notify) -> list[Outcome]:
    """Make or refresh node_modules/motia and node_modules/zod in a Node project; never raises for file errors.

    Returns what happened per package (nothing for a project that is not a Node project)."""
    if not is_node_project(project):
        return []
    modules = project / "node_modules"
    outcomes: list[Outcome] = []
    try:
        modules.mkdir(exist_ok=True)
        record = _read_manifest(modules)
        for name, source in provided().items():
            outcomes.append(_ensure(modules, name, source, record, notify))
        _write_manifest(modules, record)
    except OSError as exc:
        # editor support only: a read-only project or a full disk must not stop serve
        notify.warn(f"could not link {modules / 'motia'} for editors and tsc: {exc}")
        return outcomes
    if any(o.name == "motia" and o.action in ("linked", "copied", "fresh") for o in outcomes):
        _check_declarations(paths.sdk_node_dir(), notify)
    return outcomes


def _ensure(modules: Path, name: str, source: Path, record: dict[str, dict[str, str]], notify: Notify) -> Outcome:
    dest = modules / name
    if not source.is_dir():
        notify.warn(f"{name} for editors and tsc: {source} is missing, {dest} left as is")
        return Outcome(name, "unavailable", dest)
    present = dest.exists() or dest.is_symlink()
    ours = record.get(name)
    if present and not _matches_record(dest, ours):
        record.pop(name, None)
        if _same_dir(dest, source):
            return Outcome(name, "fresh", dest)  # e.g. `npm i motia@file:<sdk-node>`: the same SDK
        if name == "motia":
            notify.warn(
                f"{dest} is not this motia-core's SDK (installed with npm?): left as is; editors and tsc read "
                f"its types, while the Node runner serves its own `motia` ({source})"
            )
        return Outcome(name, "foreign", dest)
    if present and ours is not None and _fresh(ours, source):
        return Outcome(name, "fresh", dest)
    mode = _replace(dest, source)
    record[name] = {"source": str(source), "mode": mode}
    if mode == "copy":
        record[name]["fingerprint"] = _fingerprint(source)
    notify.info(f"{'linked' if mode == 'symlink' else 'copied'} {dest} -> {source} (for editors and tsc)")
    return Outcome(name, "linked" if mode == "symlink" else "copied", dest)


def _matches_record(dest: Path, ours: dict[str, str] | None) -> bool:
    """Is what sits at dest what we recorded making there (not something npm or the user put in its place)?"""
    if ours is None:
        return False
    if ours.get("mode") == "symlink":
        return dest.is_symlink() and os.readlink(dest) == ours.get("source")
    return dest.is_dir() and not dest.is_symlink() and (dest / COPY_MARKER).is_file()


def _fresh(ours: dict[str, str], source: Path) -> bool:
    if ours.get("source") != str(source):
        return False
    return ours.get("mode") == "symlink" or ours.get("fingerprint") == _fingerprint(source)


def _same_dir(dest: Path, source: Path) -> bool:
    try:
        return dest.resolve(strict=True) == source.resolve(strict=True)
    except OSError:
        return False


def _replace(dest: Path, source: Path) -> str:
    """Put a symlink (else a copy) of source at dest, replacing what we made there before. Returns the mode."""
    staged = dest.with_name(f".{dest.name}.motia-tmp-{os.getpid()}")
    _remove(staged)
    try:
        staged.symlink_to(source, target_is_directory=True)
        mode = "symlink"
    except OSError:
        # no symlinks here (some network or host-shared filesystems): a copy, refreshed when its source changes
        shutil.copytree(source, staged, ignore=shutil.ignore_patterns("node_modules"), symlinks=False)
        (staged / COPY_MARKER).write_text(f"{source}\n", encoding="utf-8")
        mode = "copy"
    if mode == "copy" or (dest.is_dir() and not dest.is_symlink()):
        _remove(dest)  # os.replace cannot put a folder over a symlink, nor anything over a non-empty folder
    os.replace(staged, dest)  # atomic for a symlink over a symlink: a concurrent tsc never sees it missing
    return mode


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def _fingerprint(source: Path) -> str:
    """Names, sizes and mtimes of the source's files: cheap, and enough to notice an upgrade or a rebuild."""
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(source):
        dirs[:] = sorted(d for d in dirs if d != "node_modules")
        for name in sorted(files):
            stat = os.stat(os.path.join(root, name))
            rel = os.path.relpath(os.path.join(root, name), source)
            digest.update(f"{rel}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _read_manifest(modules: Path) -> dict[str, dict[str, str]]:
    try:
        data = json.loads((modules / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: {str(a): str(b) for a, b in v.items()} for k, v in data.items() if isinstance(v, dict)}


def _write_manifest(modules: Path, record: dict[str, dict[str, str]]) -> None:
    path = modules / MANIFEST
    text = json.dumps(record, indent=2, sort_keys=True) + "\n"
    try:
        if path.read_text(encoding="utf-8") == text:
            return
    except OSError:
        pass
    staged = path.with_name(f"{MANIFEST}.{os.getpid()}")
    staged.write_text(text, encoding="utf-8")
    os.replace(staged, path)


def _check_declarations(sdk: Path, notify: Notify) -> None:
    """The link is only as good as sdk-node's .d.ts files: say when they are missing, or older than a checkout's
    sources (an installed wheel's are built with it)."""
    declarations = sdk / SDK_DECLARATIONS
    hint = "reinstall motia-core" if paths.installed_layout() else "run `make install`"
    if not declarations.is_file():
        notify.warn(f"the `motia` type declarations are missing ({declarations}): {hint}")
        return
    if paths.installed_layout():
        return
    built = declarations.stat().st_mtime
    newer = [p for p in (sdk / "src").rglob("*.ts") if p.stat().st_mtime > built]
    if newer:
        notify.warn(f"the `motia` type declarations are older than {newer[0]}: {hint} to rebuild them")


class _Stderr:
    """Notify for one-shot commands (create, generate-types): plain lines on stderr."""

    def info(self, message: str) -> None:
        print(f"motia-core: {message}", file=sys.stderr)

    def warn(self, message: str) -> None:
        print(f"motia-core: warning: {message}", file=sys.stderr)


STDERR: Notify = _Stderr()
