"""`motia-core runners`: the runners a project can use, their languages and patterns, and where each
declaration comes from (an installed entry point or the project's motia.config), runner_registry.py."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from motia_core.runner_registry import RunnerSet, installed_runners


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "runners",
        help="list the installed and project-declared runners (languages, file patterns, source)",
        description="List the runners a project can use: installed entry points (group motia_core.runners) "
        "and the runners key of its motia.config.",
    )
    p.add_argument("--dir", "-d", default=".", help="project folder, for its motia.config runners (.)")
    p.add_argument("--json", action="store_true", help="print them as JSON")


def run(args: argparse.Namespace) -> int:
    runners = installed_runners(Path(args.dir).resolve())
    if args.json:
        print(json.dumps(describe(runners), indent=2))
        return 0
    for note in runners.notes:
        print(f"  NOTE  {note}")
    for installed in sorted(runners.installed, key=lambda r: r.declaration.name):
        decl = installed.declaration
        print(f"{decl.name}: {decl.description}")
        print(f"  source: {installed.source}")
        for lang in decl.languages:
            print(f"  {lang.name:<12} {', '.join(lang.patterns())}")
        if decl.prepare is not None:
            print("  prepare: yes (runs before the first start and before each dev reload)")
    return 0


def describe(runners: RunnerSet) -> list[dict[str, object]]:
    """Each runner as JSON: what `motia-core runners --json` prints."""
    out: list[dict[str, object]] = []
    for installed in sorted(runners.installed, key=lambda r: r.declaration.name):
        decl = installed.declaration
        out.append(
            {
                "name": decl.name,
                "description": decl.description,
                "source": installed.source,
                "project": installed.project,
                "prepare": decl.prepare is not None,
                "languages": [
                    {
                        "name": lang.name,
                        "stepPatterns": list(lang.step_patterns),
                        "streamPatterns": list(lang.stream_patterns),
                        "streamAuthNames": list(lang.stream_auth_names),
                        "sourceSuffixes": list(lang.source_suffixes),
                    }
                    for lang in decl.languages
                ],
                "conformance": sorted(decl.conformance),
            }
        )
    return out
