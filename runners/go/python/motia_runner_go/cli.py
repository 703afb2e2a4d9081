"""`python -m motia_runner_go build|run --project DIR`: the prepare and command of the go runner."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from motia_runner_go.build import GoBuildError, main_build, main_run, warm


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="motia-runner-go", description=__doc__)
    sub = parser.add_subparsers(dest="action", required=True)
    for name, text in (
        ("build", "build the project's runner binary if its sources changed"),
        ("run", "build if needed, then exec the runner binary (as motia-core starts it)"),
        ("warm", "compile the Go library and grpc-go into the build cache (make install)"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--project", type=Path, default=None, help="project root (default: MOTIA_PROJECT_DIR or .)")
        if name == "build":
            cmd.add_argument("--force", action="store_true", help="rebuild even when nothing changed")
    args = parser.parse_args(argv)
    if args.action == "warm":
        try:
            seconds = warm()
        except GoBuildError as exc:
            print(f"motia go runner: warming the Go build cache failed:\n{exc}", file=sys.stderr)
            return 1
        print(f"motia go runner: Go build cache warm ({seconds:.1f}s)", file=sys.stderr)
        return 0
    project = (args.project or Path(os.environ.get("MOTIA_PROJECT_DIR") or ".")).resolve()
    if args.action == "build":
        return main_build(project, force=args.force)
    return main_run(project)
