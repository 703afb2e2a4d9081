"""node_modules/motia and node_modules/zod in a Node project (core/motia_core/sdk_link.py): made by `create`,
restored by serve/dev/generate-types, never over a package the user installed, copies where symlinks fail.

Type-checking through the links is proven in tests/test_create.py (a bare tsc in a created project) and
tests/test_wheel.py (the same from an installed wheel)."""

from __future__ import annotations

import errno
import json
import subprocess
import sys
from pathlib import Path

import pytest

from motia_core import paths
from motia_core.create import TEMPLATES, create, run
from motia_core.sdk_link import COPY_MARKER, MANIFEST, Outcome, link_sdk, provided


class Recorder:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def info(self, message: str) -> None:
        self.lines.append(("info", message))

    def warn(self, message: str) -> None:
        self.lines.append(("warn", message))


def _actions(outcomes: list[Outcome]) -> dict[str, str]:
    return {o.name: o.action for o in outcomes}


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_create_links_motia_and_zod_into_node_projects_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sdk, zod = paths.sdk_node_dir(), provided()["zod"]
    for template in TEMPLATES:
        project = tmp_path / template / "app"
        assert run(str(project), template) == 0  # what `motia-core create` runs (in-process: 3 s less each)
        said = capsys.readouterr().err
        modules = project / "node_modules"
        if not (project / "package.json").is_file():  # py, rb: nothing of Node's is written
            assert not modules.exists() and not said, template
            continue
        assert f"linked {modules / 'motia'} -> {sdk}" in said
        assert (modules / "motia").resolve() == sdk.resolve(), template
        assert (modules / "zod").resolve() == zod.resolve(), template
        # what a bare `tsc` reads through the link: the declarations package.json names
        sdk_package = json.loads((modules / "motia" / "package.json").read_text())
        assert (modules / "motia" / sdk_package["types"]).is_file()
        assert (modules / "motia" / sdk_package["exports"]["./testing"]["types"]).is_file()
        record = json.loads((modules / MANIFEST).read_text())
        assert record["motia"] == {"mode": "symlink", "source": str(sdk)}
        assert "node_modules/" in (project / ".gitignore").read_text().splitlines()


@pytest.mark.timeout(120)
def test_a_motia_package_the_user_installed_is_left_untouched(tmp_path: Path) -> None:
    project = tmp_path / "app"
    create(project, "ts")  # the files only: the links are `run`'s (the CLI's) work
    fake = project / "node_modules" / "motia"
    fake.mkdir(parents=True)
    (fake / "package.json").write_text(json.dumps({"name": "motia", "version": "0.17.6", "types": "index.d.ts"}))
    (fake / "index.d.ts").write_text("export interface Handlers {}\n")
    before = _snapshot(fake)

    gen = subprocess.run(
        [sys.executable, "-m", "motia_core", "generate-types", "--dir", str(project)],
        capture_output=True,
        text=True,
        timeout=100,
    )
    assert gen.returncode == 0, gen.stderr
    assert gen.stderr.count("is not this motia-core's SDK") == 1, gen.stderr  # said once
    assert f"{fake} is not this motia-core's SDK (installed with npm?): left as is" in gen.stderr
    assert not fake.is_symlink() and _snapshot(fake) == before
    assert (project / "node_modules" / "zod").resolve() == provided()["zod"].resolve()  # zod was missing: linked

    again = Recorder()
    assert _actions(link_sdk(project, again)) == {"motia": "foreign", "zod": "fresh"}
    assert [level for level, _ in again.lines] == ["warn"] and _snapshot(fake) == before


def test_a_zod_the_user_installed_is_left_untouched_silently(tmp_path: Path) -> None:
    project = tmp_path / "app"
    create(project, "js")
    own = project / "node_modules" / "zod"
    own.mkdir(parents=True)
    (own / "package.json").write_text(json.dumps({"name": "zod", "version": "3.25.0"}))
    notes = Recorder()
    assert _actions(link_sdk(project, notes)) == {"motia": "linked", "zod": "foreign"}
    assert json.loads((own / "package.json").read_text())["version"] == "3.25.0"
    assert all("node_modules/zod" not in message for _, message in notes.lines), notes.lines


def test_a_stale_link_from_another_install_is_replaced_and_a_fresh_one_kept(tmp_path: Path) -> None:
    # a link an earlier install made (a venv since deleted or upgraded), as its manifest recorded it
    old_sdk = tmp_path / "old-venv" / "sdk-node"
    old_sdk.mkdir(parents=True)
    (old_sdk / "package.json").write_text(json.dumps({"name": "@motia-core/sdk-node", "version": "0.0.1"}))
    project = tmp_path / "app"
    create(project, "ts")
    modules = project / "node_modules"
    modules.mkdir()
    (modules / "motia").symlink_to(old_sdk, target_is_directory=True)
    (modules / MANIFEST).write_text(json.dumps({"motia": {"mode": "symlink", "source": str(old_sdk)}}))

    notes = Recorder()
    assert _actions(link_sdk(project, notes)) == {"motia": "linked", "zod": "linked"}
    assert (modules / "motia").resolve() == paths.sdk_node_dir().resolve()
    assert (old_sdk / "package.json").is_file()  # the old target is never written to
    quiet = Recorder()
    assert _actions(link_sdk(project, quiet)) == {"motia": "fresh", "zod": "fresh"}
    assert not [line for line in quiet.lines if line[0] == "info"]  # nothing done, nothing said

    # a dangling link the user made by hand is not ours: left
    (modules / "motia").unlink()
    (modules / "motia").symlink_to(tmp_path / "nowhere", target_is_directory=True)
    assert _actions(link_sdk(project, Recorder()))["motia"] == "foreign"
    assert (modules / "motia").is_symlink() and not (modules / "motia").exists()


def test_where_symlinks_fail_a_copy_is_made_and_refreshed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: Path, target: object, target_is_directory: bool = False) -> None:
        raise OSError(errno.EPERM, "Operation not permitted", str(self))

    monkeypatch.setattr(Path, "symlink_to", refuse)  # a filesystem without symlinks (some shared mounts)
    project = tmp_path / "app"
    create(project, "multilang")
    notes = Recorder()
    assert _actions(link_sdk(project, notes)) == {"motia": "copied", "zod": "copied"}
    copy = project / "node_modules" / "motia"
    assert copy.is_dir() and not copy.is_symlink() and (copy / COPY_MARKER).is_file()
    assert (copy / "dist" / "types" / "index.d.ts").is_file() and (copy / "package.json").is_file()
    assert not (copy / "node_modules").exists()  # sdk-node's dev dependencies stay behind
    assert _actions(link_sdk(project, Recorder())) == {"motia": "fresh", "zod": "fresh"}

    # the source changed since (an upgrade): its fingerprint no longer matches, so the copy is made again
    modules = project / "node_modules"
    record = json.loads((modules / MANIFEST).read_text())
    record["motia"]["fingerprint"] = "0" * 64
    (modules / MANIFEST).write_text(json.dumps(record))
    (copy / "stale.txt").write_text("from the old copy")
    assert _actions(link_sdk(project, Recorder()))["motia"] == "copied"
    assert not (copy / "stale.txt").exists()

    # npm put its own motia where our copy was (no marker): the user's now
    for child in copy.iterdir():
        if child.is_file():
            child.unlink()
    assert _actions(link_sdk(project, Recorder()))["motia"] == "foreign"
