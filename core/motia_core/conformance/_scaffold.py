"""``motia-core conformance init --lang NAME DIR``: start the fixtures of a new language.

Writes the language-neutral spec (fixtures.json and FIXTURES.md), the checklist and a README that
names the files to write and the commands to run next. Nothing is overwritten without ``--force``.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path
from typing import Any

from motia_core.conformance._spec import PROSE_FILE, SPEC_DIR, SPEC_FILE, FixtureStep, spec
from motia_core.errors import ProjectError
from motia_core.runner_registry import installed_runners

CHECKLIST_FILE = SPEC_DIR / "CHECKLIST.md"
WRITTEN = ("fixtures.json", "FIXTURES.md", "CHECKLIST.md", "README.md")
_NAME = re.compile(r"^[a-z][a-z0-9_+-]*$")


def add_parser(sub: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        "init",
        help="write the fixture spec, the checklist and a README for a new language into DIR",
        description="Start the conformance fixtures of a new language: writes fixtures.json and FIXTURES.md "
        "(the eight fixture steps, as data and prose), CHECKLIST.md and a README with the next steps.",
    )
    parser.add_argument("--lang", required=True, metavar="NAME", help="the language's name, e.g. go, php")
    parser.add_argument(
        "--step-pattern",
        metavar="GLOB",
        action="append",
        default=[],
        help="how the language names step files, e.g. '*_step.go' (default: the registered language's "
        "patterns, else '*_step.<NAME>')",
    )
    parser.add_argument("--force", action="store_true", help="overwrite files init wrote before")
    parser.add_argument("dir", type=Path, metavar="DIR", help="the fixtures folder (created if missing)")
    return parser


def run(args: argparse.Namespace) -> int:
    lang = str(args.lang)
    if not _NAME.match(lang):
        print(f"motia-core conformance init: --lang {lang!r}: expected a lower-case name like 'go'", file=sys.stderr)
        return 2
    target: Path = args.dir
    existing = [name for name in WRITTEN if (target / name).exists()]
    if existing and not args.force:
        print(
            f"motia-core conformance init: {target} already has {', '.join(existing)}; pass --force to overwrite",
            file=sys.stderr,
        )
        return 2
    pattern = _pattern(lang, list(args.step_pattern))
    try:
        (target / "steps").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SPEC_FILE, target / "fixtures.json")
        shutil.copyfile(PROSE_FILE, target / "FIXTURES.md")
        shutil.copyfile(CHECKLIST_FILE, target / "CHECKLIST.md")
        (target / "README.md").write_text(readme(lang, pattern, target), encoding="utf-8")
    except OSError as exc:
        print(f"motia-core conformance init: cannot write {target}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"wrote {', '.join(WRITTEN)} and steps/ into {target}")
    print(next_steps(lang, pattern, target))
    return 0


def _pattern(lang: str, given: list[str]) -> str:
    if given:
        return given[0]
    try:
        found = installed_runners().language(lang)
    except ProjectError:  # a broken installed declaration must not stop init
        found = None
    if found is not None and found[0].step_patterns:
        return found[0].step_patterns[0]
    return f"*_step.{lang}"


def file_name(pattern: str, step: FixtureStep) -> str:
    """The fixture file for a step under a pattern: '*_step.go' and echo -> 'echo_step.go'."""
    return pattern.replace("*", step.file, 1)


def _broken_name(pattern: str) -> str:
    return pattern.replace("*", "broken", 1)


def next_steps(lang: str, pattern: str, target: Path) -> str:
    broken = f"{target}/broken/{_broken_name(pattern)}"
    return "\n".join(
        [
            "next:",
            f"  1. write the {len(spec().steps)} steps of FIXTURES.md in {lang} under {target}/steps/ "
            f"({', '.join(file_name(pattern, s) for s in spec().steps[:2])}, ...)",
            f"  2. write a file that fails to load at {broken} (outside steps/)",
            "  3. run the kit against your runner:",
            f'     motia-core conformance --lang {lang} --runner "<command that starts your runner>" \\',
            f"       --fixtures {target} --broken {broken} --step-pattern '{pattern}'",
            f"  4. register the runner (docs/writing-a-runner.md), then: motia-core conformance --lang {lang}",
            f"  5. go through {target}/CHECKLIST.md",
        ]
    )


def readme(lang: str, pattern: str, target: Path) -> str:
    rows = []
    for step in spec().steps:
        config = step.config
        trigger = config.get("path") or config.get("cron") or ", ".join(config.get("subscribes", [])) or "-"
        if config.get("method"):
            trigger = f"{config['method']} {trigger}"
        does = str(step.handler.get("does", "no handler")) if step.has_handler else "no handler"
        rows.append(f"| `steps/{file_name(pattern, step)}` | {step.name} | {config['type']} | `{trigger}` | {does} |")
    return f"""# Conformance fixtures for {lang}

The `motia-core conformance` kit plays the core against a runner and checks the runner protocol case
by case. It loads the fixture steps of this folder into the runner and checks what they declare and
do against [fixtures.json](fixtures.json) (the same in prose: [FIXTURES.md](FIXTURES.md)). This
folder was written by `motia-core conformance init --lang {lang}`; the spec is version
{spec().version}.

## The files to write

Step files are named like `{pattern}` (pass `--step-pattern` to the kit if your runner's
declaration does not say so yet).

| file | name | type | trigger | the handler |
|---|---|---|---|---|
{chr(10).join(rows)}

Every step declares `flows: ["conformance"]`; fixtures.json lists each config key and value.

Also write **a file that fails to load** in {lang} (a syntax or build error), outside `steps/`, for
example `broken/{_broken_name(pattern)}`: the `load_error` case copies it into `steps/` of a copy of
this folder. Without it that case is reported as skipped.

## Run the kit

```sh
{next_steps(lang, pattern, target)}
```

The kit copies this folder to a private temporary directory and starts the runner there (cwd = the
copy) with the environment the core gives runners (`MOTIA_CORE_ADDRESS`, `MOTIA_RUNNER_SECRET`,
`MOTIA_PROJECT_DIR`, `MOTIA_RUNNER_SLOTS`, `MOTIA_STRICT`). With `--lang {lang}`, the runner's
`Hello.language` must be `{lang}`'s runner name. The cases and what each one checks:
`core/motia_core/conformance/README.md` in motia-core; the protocol: docs/protocol.md; the whole
path from an empty directory to a registered runner: docs/writing-a-runner.md.

## Checklist

See [CHECKLIST.md](CHECKLIST.md).
"""
