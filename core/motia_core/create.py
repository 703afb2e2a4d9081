"""`motia-core create [DIR] --template NAME`: write a runnable project from a template in the package.

Templates live in motia_core/templates/<name>/ (package data, so they come with the wheel). Dotfiles are
stored without their dot (``gitignore``) because package-data globs skip dotfiles; `{{name}}` in a file
becomes the project's folder name. The README comes from templates/_readme.md with each template's facts,
and files several templates share (the Node end-to-end test) from templates/_shared/, filled the same way.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from motia_core.errors import CreateError
from motia_core.paths import TEMPLATES_DIR
from motia_core.sdk_link import STDERR, link_sdk


@dataclass(frozen=True)
class Template:
    description: str  # the languages, for the README and the prompt
    hops: tuple[str, ...]  # languages a greeting passes through, in order (what GET /greetings/:id reports)
    test: str  # how to run the template's own test, for its README
    shared: tuple[str, ...] = ()  # files copied from templates/_shared/ (the same path in the project)


TEMPLATES: dict[str, Template] = {
    "ts": Template(
        "TypeScript",
        ("typescript", "typescript"),
        "npm test                              # node --test: serves the project, calls it",
        ("test/e2e.test.mjs",),
    ),
    "js": Template(
        "JavaScript",
        ("javascript", "javascript"),
        "npm test                              # node --test: serves the project, calls it",
        ("test/e2e.test.mjs",),
    ),
    "py": Template(
        "Python",
        ("python", "python"),
        "python -m pytest                      # motia.testing: handlers with an in-memory context",
    ),
    "rb": Template(
        "Ruby", ("ruby", "ruby"), "ruby test/steps_test.rb               # minitest: handlers with an in-memory context"
    ),
    "multilang": Template(
        "a TypeScript API step, a Python event step, a Ruby event step",
        ("typescript", "python", "ruby"),
        "python -m pytest                      # the Python step with motia.testing\n"
        "npm test                              # node --test: serves the project, calls the whole chain",
        ("test/e2e.test.mjs",),
    ),
}

_DOTFILES = {"gitignore": ".gitignore"}
# README lines for the templates with a package.json (sdk_link.py makes their node_modules links)
_EDITORS = """ Your editor and `npx tsc --noEmit` find `motia` (and
`motia/testing`, `zod`) through `node_modules/motia` and `node_modules/zod`, links to what motia-core
installed: `create` makes them, and `serve`, `dev` and `generate-types` put them back after an
`npm install` prunes them. A `motia` you install from npm yourself is left alone."""
_TEXT_SUFFIXES = {".json", ".md", ".ts", ".js", ".mjs", ".py", ".rb", ".ini", ".txt", ""}


def create(dest: Path, template: str) -> list[Path]:
    """Write the template into ``dest`` (created if missing, refused if it holds anything). Returns the files."""
    facts = TEMPLATES.get(template)
    source = TEMPLATES_DIR / template
    if facts is None or not source.is_dir():
        raise CreateError(f"unknown template {template!r}: expected one of {', '.join(TEMPLATES)}")
    if dest.exists() and not dest.is_dir():
        raise CreateError(f"{dest} exists and is not a folder")
    # a fresh `git init` is fine to create into; anything else could be overwritten
    if dest.is_dir() and any(entry.name != ".git" for entry in dest.iterdir()):
        raise CreateError(f"{dest} is not empty: pick a new folder or empty this one")
    name = dest.resolve().name
    values = _values(name, template, facts)
    sources = [(path, path.relative_to(source)) for path in sorted(source.rglob("*"))]
    sources += [(TEMPLATES_DIR / "_shared" / rel, Path(rel)) for rel in facts.shared]
    written: list[Path] = []
    for path, rel in sources:
        if path.is_dir() or "__pycache__" in path.parts:
            continue
        target = dest / rel.parent / _DOTFILES.get(rel.name, rel.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.suffix in _TEXT_SUFFIXES:
            target.write_text(_fill(path.read_text(encoding="utf-8"), values), encoding="utf-8")
        else:
            shutil.copyfile(path, target)
        written.append(target)
    readme = dest / "README.md"
    readme.write_text(_fill((TEMPLATES_DIR / "_readme.md").read_text(encoding="utf-8"), values), encoding="utf-8")
    written.append(readme)
    return written


def _values(name: str, template: str, facts: Template) -> dict[str, str]:
    return {
        "name": name,
        "template": template,
        "description": facts.description,
        "hops": ",".join(f'"{h}"' for h in facts.hops),  # JSON, and a JS array literal
        "test": facts.test,
        "editors": _EDITORS if (TEMPLATES_DIR / template / "package.json").is_file() else "",
    }


def _fill(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text


def resolve_arguments(
    directory: str | None, template: str | None, interactive: bool, ask: Callable[[str], str] = input
) -> tuple[Path, str]:
    """Fill in what the flags left out: ask on a terminal, else say which flag is missing."""
    if template is None:
        if not interactive:
            raise CreateError(f"--template is required when stdin is not a terminal ({'|'.join(TEMPLATES)})")
        choices = ", ".join(f"{key} ({t.description})" for key, t in TEMPLATES.items())
        while template not in TEMPLATES:
            template = ask(f"Template? {choices} [ts]: ").strip() or "ts"
            if template not in TEMPLATES:
                print(f"unknown template {template!r}", file=sys.stderr)
    if directory is None:
        if not interactive:
            raise CreateError("the project folder (DIR) is required when stdin is not a terminal")
        directory = ask("Project folder? [motia-app]: ").strip() or "motia-app"
    return Path(directory), template


def run(directory: str | None, template: str | None) -> int:
    dest, name = resolve_arguments(directory, template, sys.stdin.isatty())
    files = create(dest, name)
    print(f"created {dest} from the {name} template ({len(files)} files)")
    link_sdk(dest.resolve(), STDERR)  # a Node project's editor and tsc find `motia` (and zod) at once
    print(f"  cd {dest}\n  motia-core dev      # or motia-core serve")
    return 0
