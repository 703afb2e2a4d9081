"""`motia-core steps` and `motia-core emit` (cli.py parses their flags)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from motia_core.cli_common import logger_from, run_loop


def steps(args: argparse.Namespace) -> int:
    from motia_core.app import CoreOptions, MotiaCore
    from motia_core.http.admin_steps import step_json

    # logs go to stderr so stdout stays machine-readable
    storage = CoreOptions(backend=args.backend, redis_url=args.redis, redis_prefix=args.redis_prefix)
    core = MotiaCore(Path(args.dir), logger_from(args, sys.stderr), storage)
    result: dict[str, object] = {}

    async def run() -> None:
        try:
            await core.load()
        finally:
            await core.stop()

    run_loop(run())
    registry = core.registry
    if args.json:
        result = {
            "steps": [step_json(s) for s in registry.steps],
            "streams": [
                {
                    "name": d.name,
                    "filePath": d.file.relative_path,
                    "language": d.file.language,
                    "canAccess": d.can_access,
                }
                for d in registry.streams.values()
            ],
            "issues": [
                {"file": i.file, "line": i.line, "field": i.field, "message": i.message} for i in registry.issues
            ],
            "warnings": registry.warnings,
            "config": _config_json(core),
        }
        print(json.dumps(result, indent=2))
    else:
        for s in registry.steps:
            trigger = {
                "api": f"{s.method} {s.path}",
                "event": "subscribes " + ", ".join(s.subscribes),
                "cron": f"cron {s.cron}",
                "noop": "noop",
            }[s.type.value]
            print(f"  {s.type.value:<5} {s.name:<32} {trigger:<40} {s.file.relative_path} ({s.language})")
        for d in registry.streams.values():
            access = " (canAccess)" if d.can_access else ""
            print(f"  {'stream':<5} {d.name:<32} {'ctx.streams.' + d.name + access:<40} {d.file.relative_path}")
        for i in registry.issues:
            print(f"  INVALID {i}")
        for finding in core.project_config.findings if core.project_config else []:
            print(f"  CONFIG  {finding}")  # motia.config.* keys motia-core does not honour (project_config.py)
        print(f"{len(registry.steps)} valid, {len(registry.issues)} invalid")
    return 1 if args.check and registry.issues else 0


def _config_json(core: Any) -> dict[str, object] | None:
    """`steps --json`: the project's motia.config.* file and what motia-core does not honour in it."""
    config = core.project_config
    if config is None:
        return None
    return {
        "file": config.file.relative_path,
        "streamAuth": config.stream_auth is not None,
        "redis": config.redis_url is not None,
        "findings": config.findings,
    }


def emit(args: argparse.Namespace) -> int:
    import urllib.error  # late: only `emit` talks HTTP from here
    import urllib.request

    try:
        data = json.loads(args.data)
    except json.JSONDecodeError as exc:
        print(f"motia-core: --data is not valid JSON: {exc}", file=sys.stderr)
        return 2
    body = json.dumps({"topic": args.topic, "data": data}).encode()
    headers = {"Content-Type": "application/json"}  # the admin surface takes JSON only (docs/security.md)
    token = os.environ.get("MOTIA_ADMIN_TOKEN")
    if token:  # needed when --url is another host; harmless on loopback
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(args.url.rstrip("/") + "/emit", data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            print(resp.read().decode())
            return 0
    except urllib.error.HTTPError as exc:
        print(f"motia-core: {exc.code} {exc.read().decode(errors='replace')}", file=sys.stderr)
        return 1
    except urllib.error.URLError as exc:
        print(f"motia-core: cannot reach {args.url}: {exc.reason}", file=sys.stderr)
        return 1
