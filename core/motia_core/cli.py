"""Command line: `motia-core serve | steps | emit | conformance | generate-types | openapi`.
Flags and output only; the work is elsewhere."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from motia_core import __version__
from motia_core.create import TEMPLATES
from motia_core.errors import MotiaError, ProjectError
from motia_core.logs import Level, Logger, capture_std_logging
from motia_core.sdk_link import STDERR, link_sdk

if TYPE_CHECKING:
    from motia_core.app import MotiaCore
    from motia_core.coldstart import EarlyStart


SERVING = ("serve", "dev")  # the commands whose start-up time counts (coldstart.py)


def build_parser(serving_only: bool = False) -> argparse.ArgumentParser:
    """Every command's flags; `serving_only`: the other commands' parsers are left out when the command
    is serve or dev, whose flags they do not change, because describing conformance and generate-types
    imports pydantic and jsonschema (~0.3 s of CPU) before the runners could start."""
    parser = argparse.ArgumentParser(
        prog="motia-core",
        description="Serve a Motia-style step project (TypeScript, JavaScript, Python) from one core.",
    )
    parser.add_argument("--version", action="version", version=f"motia-core {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = sub.add_parser("serve", help="serve the project's steps over HTTP", description="Serve a project.")
    _project_args(serve)
    serve.add_argument("--port", "-p", type=int, default=int(os.environ.get("PORT", "3000")), help="HTTP port (3000)")
    serve.add_argument("--host", "-H", default="0.0.0.0", help="interface to bind (0.0.0.0)")
    serve.add_argument(
        "--strict",
        action="store_true",
        default=os.environ.get("MOTIA_STRICT", "").strip().lower() not in ("", "0", "false", "no"),
        help="make the emits Motia drops with a warning (positional arguments, no topic, an undeclared topic) "
        "and event data failing a subscriber's input schema errors in the emitting handler (env MOTIA_STRICT)",
    )
    serve.add_argument(
        "--runner-slots",
        type=_positive_int,
        default=1024,
        help="invocations in flight per runner; the core dispatches only into free slots (1024)",
    )
    serve.add_argument(
        "--admission-timeout",
        type=_positive_float,
        default=os.environ.get("MOTIA_ADMISSION_TIMEOUT", "10"),
        help="seconds an API call waits for a free runner slot before it gets 503 (10)",
    )
    serve.add_argument(
        "--admin-token",
        default=os.environ.get("MOTIA_ADMIN_TOKEN") or None,
        help="token that opens the admin surface (/__motia/*, /emit) to other hosts as "
        "'Authorization: Bearer TOKEN'; without it only loopback is answered (env MOTIA_ADMIN_TOKEN)",
    )
    serve.add_argument(
        "--cors-origins",
        default=os.environ.get("MOTIA_CORS_ORIGINS", "*"),
        help="comma-separated origins API steps and the stream WebSocket allow; '*' = any, as Motia does (*)",
    )
    serve.add_argument(
        "--max-body",
        type=_byte_size,
        default=os.environ.get("MOTIA_MAX_BODY", "16MiB"),
        help="largest request body, e.g. 512KiB, 16MiB; larger ones get 413 (16MiB)",
    )
    serve.add_argument(
        "--api-timeout",
        type=_positive_float,
        default=os.environ.get("MOTIA_API_TIMEOUT", "30"),
        help="seconds an API handler may run before it is cancelled and the call gets 504; "
        "a step's infrastructure.handler.timeout overrides it (30)",
    )
    serve.add_argument(
        "--shutdown-timeout",
        type=_positive_float,
        default=os.environ.get("MOTIA_SHUTDOWN_TIMEOUT", "10"),
        help="seconds SIGTERM may take in all; runners still busy then are killed (10)",
    )
    serve.add_argument(
        "--log-retention-lines",
        type=_positive_int,
        default=os.environ.get("MOTIA_LOG_RETENTION_LINES", "100000"),
        help="log lines /__motia/logs keeps, newest first (env MOTIA_LOG_RETENTION_LINES; 100000)",
    )
    serve.add_argument(
        "--log-retention-days",
        type=_positive_float,
        default=os.environ.get("MOTIA_LOG_RETENTION_DAYS", "7"),
        help="days a kept log line lives (env MOTIA_LOG_RETENTION_DAYS; 7)",
    )
    serve.add_argument(
        "--no-record",
        action="store_true",
        default=os.environ.get("MOTIA_NO_RECORD", "").strip().lower() not in ("", "0", "false", "no"),
        help="keep no log lines and no span events for /__motia/* and the Workbench (env MOTIA_NO_RECORD)",
    )
    serve.add_argument(
        "--workbench-path",
        type=_workbench_path,
        default=os.environ.get("MOTIA_WORKBENCH_PATH", "/__workbench"),
        help="where the Workbench (the browser UI) is served, behind the admin guard (env MOTIA_WORKBENCH_PATH; "
        "/__workbench)",
    )
    serve.add_argument("--no-workbench", action="store_true", help="do not serve the Workbench")
    _storage_args(serve)
    # dev: every serve flag (parents), plus the watcher and hot reload (dev.py, docs/dev.md)
    sub.add_parser(
        "dev",
        parents=[serve],
        conflict_handler="resolve",
        help="serve and reload the runners of each file you save",
        description="Serve a project and reload what changes.",
    )

    steps = sub.add_parser("steps", help="list the project's steps and validate their configs")
    _project_args(steps)
    steps.add_argument("--json", action="store_true", help="print the steps as JSON")
    steps.add_argument("--check", action="store_true", help="exit 1 if any step is invalid")
    _storage_args(steps)

    dlq = sub.add_parser("dlq", help="list, show, replay or purge dead letters (events that exhausted retries)")
    dlq.add_argument("action", choices=("list", "show", "replay", "purge"), help="what to do")
    dlq.add_argument("id", nargs="?", help="dead letter id (show, replay, purge)")
    dlq.add_argument("--all", action="store_true", help="replay or purge every dead letter")
    dlq.add_argument("--dir", "-d", default=".", help="project folder (.)")
    dlq.add_argument("--json", action="store_true", help="list as JSON")
    _storage_args(dlq)

    create = sub.add_parser("create", help="create a project from a template (asks on a terminal if flags are missing)")
    create.add_argument("dir", nargs="?", help="new project folder (must not exist or be empty)")
    create.add_argument("--template", "-t", choices=tuple(TEMPLATES), help="project template")

    emit = sub.add_parser("emit", help="emit an event to a running core (POST /emit)")
    emit.add_argument("--topic", "-t", required=True, help="event topic")
    emit.add_argument("--data", "-d", default="{}", help="event data as JSON ({})")
    emit.add_argument("--url", default="http://localhost:3000", help="core URL (http://localhost:3000)")
    if serving_only:
        return parser

    from motia_core import conformance

    conformance.add_parser(sub)
    from motia_core.typegen import commands as typegen_commands

    typegen_commands.add_parsers(sub)  # generate-types, openapi
    from motia_core import runners_command

    runners_command.add_parser(sub)  # the runner registry (runner_registry.py)
    return parser


def _project_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dir", "-d", default=".", help="project folder holding steps/ or src/ (.)")
    p.add_argument("--log-format", choices=("pretty", "json"), default="pretty", help="log output (pretty)")
    p.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "info"), help="debug|info|warn|error (info)")


def _storage_args(p: argparse.ArgumentParser) -> None:
    """Where the queue, state and stream items live (docs/adapters.md): the same flags on every
    command that reads them, so `dlq list --redis URL` sees what `serve --redis URL` wrote."""
    p.add_argument(
        "--redis",
        metavar="URL",
        default=os.environ.get("MOTIA_REDIS_URL") or None,
        help="keep the queue, state, stream items and cron locks on this Redis, shared by every instance "
        "given the same URL and prefix, e.g. redis://localhost:6379/0 (env MOTIA_REDIS_URL; "
        "default: SQLite under .motia/)",
    )
    p.add_argument(
        "--redis-prefix",
        metavar="PREFIX",
        default=os.environ.get("MOTIA_REDIS_PREFIX") or None,
        help="namespace of every Redis key: letters, digits, '_', '.', '-' "
        "(env MOTIA_REDIS_PREFIX; default: the project folder's name)",
    )
    p.add_argument(
        "--backend",
        metavar="NAME",
        default=os.environ.get("MOTIA_BACKEND") or None,
        help="storage backend by name: sqlite, redis, or one registered under the entry point group "
        "motia_core.backends (env MOTIA_BACKEND; default: redis with --redis, else sqlite)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(serving_only=bool(words) and words[0] in SERVING).parse_args(words)
    try:
        if args.command in ("serve", "dev"):
            return _serve(args)
        if args.command == "steps":
            return _steps(args)
        if args.command == "dlq":
            from motia_core import dlq

            storage = dlq.Storage(args.backend, args.redis, args.redis_prefix)
            return dlq.run(Path(args.dir), args.action, args.id, args.all, args.json, storage)
        if args.command == "create":
            from motia_core import create

            return create.run(args.dir, args.template)
        if args.command in ("generate-types", "openapi"):
            from motia_core.typegen import commands as typegen_commands

            if args.command == "generate-types":
                link_sdk(Path(args.dir).resolve(), STDERR)  # the types.d.ts it writes augments `motia`
            return typegen_commands.run(args)
        if args.command == "conformance":
            from motia_core import conformance

            return conformance.run(args)
        if args.command == "runners":
            from motia_core import runners_command

            return runners_command.run(args)
        return _emit(args)
    except MotiaError as exc:
        print(f"motia-core: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _logger(args: argparse.Namespace, stream: object = None) -> Logger:
    try:
        level = Level.parse(args.log_level)
    except ValueError as exc:
        raise SystemExit(f"motia-core: {exc}") from None
    return Logger(args.log_format, level, stream=stream)  # type: ignore[arg-type]


def _workbench_path(text: str) -> str:
    from motia_core.workbench import workbench_path_problem

    problem = workbench_path_problem(text)
    if problem is not None:
        raise argparse.ArgumentTypeError(f"{text!r} {problem}")
    return text


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number of seconds > 0, got {text}")
    return value


_SIZE_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 1000**2, "mb": 1000**2, "mib": 1024**2}


def _byte_size(text: str) -> int:
    """'16MiB', '512KiB', '1000000' -> bytes."""
    raw = text.strip().lower()
    digits = raw.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = raw[len(digits) :].strip()
    try:
        value = float(digits)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a size such as 16MiB or 1048576, got {text!r}") from None
    if unit not in _SIZE_UNITS or not value > 0:
        raise argparse.ArgumentTypeError(f"expected a size > 0 such as 16MiB, 512KiB or 1048576, got {text!r}")
    return int(value * _SIZE_UNITS[unit])


def _run(coro: Coroutine[Any, Any, None]) -> None:
    try:
        import uvloop
    except ImportError:
        asyncio.run(coro)
    else:
        uvloop.run(coro)


def _serve(args: argparse.Namespace) -> int:
    logger = _logger(args)
    capture_std_logging(logger)  # asyncio's and aiohttp's own messages: never a blocking write to stderr
    project_dir = Path(args.dir).resolve()
    if not project_dir.is_dir():
        raise ProjectError(f"project folder {args.dir} does not exist")
    link_sdk(project_dir, logger)  # node_modules/motia for editors and tsc (sdk_link.py)
    _run(_serve_async(args, logger, project_dir))
    return 0


async def _serve_async(args: argparse.Namespace, logger: Logger, project_dir: Path) -> None:
    # the runners start first, the HTTP/queue/state stack is imported while they boot (coldstart.py)
    from motia_core.coldstart import start_early

    early = await start_early(project_dir, logger, strict=args.strict, slots=args.runner_slots)
    try:
        core = _build_core(args, logger, early)
    except BaseException:
        await early.abandon()
        raise
    if args.command == "dev":
        from motia_core.dev import serve_dev

        await serve_dev(core)
        return
    await core.serve_forever()


def _build_core(args: argparse.Namespace, logger: Logger, early: EarlyStart) -> MotiaCore:
    from motia_core.app import CoreOptions, MotiaCore
    from motia_core.logstore import LogRetention

    options = CoreOptions(
        host=args.host,
        port=args.port,
        strict=args.strict,
        retry_base_delay=float(os.environ.get("MOTIA_RETRY_BASE_DELAY", "1")),
        runner_slots=args.runner_slots,
        admission_timeout=args.admission_timeout,
        admin_token=args.admin_token,
        cors_origins=tuple(o.strip() for o in args.cors_origins.split(",") if o.strip()) or ("*",),
        max_body=args.max_body,
        api_timeout=args.api_timeout,
        shutdown_timeout=args.shutdown_timeout,
        workbench_path=None if args.no_workbench else args.workbench_path,
        backend=args.backend,
        redis_url=args.redis,
        redis_prefix=args.redis_prefix,
        record=not args.no_record,
        log_retention=LogRetention(args.log_retention_lines, args.log_retention_days * 86400),
    )
    return MotiaCore(Path(args.dir), logger, options, early=early)


def _steps(args: argparse.Namespace) -> int:
    from motia_core.app import CoreOptions, MotiaCore
    from motia_core.http.admin_steps import step_json

    # logs go to stderr so stdout stays machine-readable
    storage = CoreOptions(backend=args.backend, redis_url=args.redis, redis_prefix=args.redis_prefix)
    core = MotiaCore(Path(args.dir), _logger(args, sys.stderr), storage)
    result: dict[str, object] = {}

    async def run() -> None:
        try:
            await core.load()
        finally:
            await core.stop()

    _run(run())
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


def _emit(args: argparse.Namespace) -> int:
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
