"""`motia-core generate-types` and `motia-core openapi`: flags and output (cli.py registers them)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from motia_core.logs import Level, Logger
from motia_core.registry import Registry

COMMANDS = ("generate-types", "openapi")


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    gen = sub.add_parser(
        "generate-types",
        help="write types.d.ts (and a Python TypedDict module) from the steps' schemas",
        description="Write types.d.ts in Motia's shape (Handlers keyed by step name, typed streams) and, with "
        "--python, a module of TypedDicts, from the schemas in the step and stream configs.",
    )
    _dir(gen)
    gen.add_argument("--output", "-o", default="types.d.ts", help="TypeScript file, relative to --dir (types.d.ts)")
    gen.add_argument("--no-ts", action="store_true", help="do not write the TypeScript file")
    gen.add_argument(
        "--python", metavar="FILE", default=None, help="also write Python TypedDicts here, relative to --dir"
    )
    api = sub.add_parser(
        "openapi",
        help="write an OpenAPI 3.1 document of the API steps",
        description="Write an OpenAPI 3.1 document of the project's API steps (paths, params, bodies, responses).",
    )
    _dir(api)
    api.add_argument("--output", "-o", default="openapi.json", help="file relative to --dir, '-' for stdout")
    api.add_argument("--title", "-t", default=None, help="info.title (the project folder's name)")
    api.add_argument("--api-version", "-V", default="1.0.0", help="info.version (1.0.0)")


def _dir(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dir", "-d", default=".", help="project folder holding steps/ or src/ (.)")
    p.add_argument("--log-level", default="warn", help="runner log level while loading: debug|info|warn|error (warn)")


def run(args: argparse.Namespace) -> int:
    from motia_core.typegen import load_registry

    if args.command == "generate-types" and args.no_ts and not args.python:
        print("motia-core: generate-types --no-ts without --python FILE writes nothing", file=sys.stderr)
        return 2
    project = Path(args.dir).resolve()
    try:
        level = Level.parse(args.log_level)
    except ValueError as exc:
        raise SystemExit(f"motia-core: {exc}") from None
    registry, auth_context = load_registry(project, Logger("pretty", level, stream=sys.stderr))
    if args.command == "generate-types":
        written = _types(args, project, registry, auth_context)
    else:
        written = _openapi(args, project, registry)
    for path in written:
        print(f"wrote {path}", file=sys.stderr)
    for issue in registry.issues:
        # the files cover the valid steps; an invalid one is left out, so say which and fail
        print(f"motia-core: left out (invalid): {issue}", file=sys.stderr)
    return 1 if registry.issues else 0


def _types(
    args: argparse.Namespace, project: Path, registry: Registry, auth_context: dict[str, Any] | None
) -> list[Path]:
    from motia_core.typegen import write_types

    ts_path = None if args.no_ts else project / args.output
    py_path = project / args.python if args.python else None
    changed = write_types(registry, ts_path, py_path, auth_context)
    for path in (ts_path, py_path):
        if path is not None and path not in changed:
            print(f"unchanged {path}", file=sys.stderr)
    return changed


def _openapi(args: argparse.Namespace, project: Path, registry: Registry) -> list[Path]:
    from motia_core.openapi import render_openapi

    doc = render_openapi(registry.steps, args.title or project.name, args.api_version)
    text = json.dumps(doc, indent=2) + "\n"
    if args.output == "-":
        sys.stdout.write(text)
        return []
    path = project / args.output
    path.write_text(text, encoding="utf-8")
    return [path]
