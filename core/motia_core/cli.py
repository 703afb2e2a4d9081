"""Command line: `motia-core serve | steps | emit | conformance | generate-types | openapi`.
Flags and output only; the work is elsewhere."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from motia_core import __version__
from motia_core.cli_common import byte_size, logger_from, positive_float, positive_int, run_loop, workbench_path
from motia_core.errors import MotiaError, ProjectError
from motia_core.logs import Logger, capture_std_logging
from motia_core.sdk_link import STDERR, link_sdk

if TYPE_CHECKING:
    from motia_core.app import MotiaCore
    from motia_core.coldstart import EarlyStart


SERVING = ("serve", "dev")  # the commands whose start-up time counts (coldstart.py)


def build_parser(serving_only: bool = False) -> argparse.ArgumentParser:
    """Every command's flags; `serving_only`: the other commands' parsers are left out when the command
    is serve or dev, whose flags they do not change, because describing conformance and generate-types
    imports pydantic and jsonschema (~0.3 s of CPU) and `create` its templates' table before the
    runners could start."""
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
        type=positive_int,
        default=1024,
        help="invocations in flight per runner; the core dispatches only into free slots (1024)",
    )
    serve.add_argument(
        "--admission-timeout",
        type=positive_float,
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
        type=byte_size,
        default=os.environ.get("MOTIA_MAX_BODY", "16MiB"),
        help="largest request body, e.g. 512KiB, 16MiB; larger ones get 413 (16MiB)",
    )
    serve.add_argument(
        "--api-timeout",
        type=positive_float,
        default=os.environ.get("MOTIA_API_TIMEOUT", "30"),
        help="seconds an API handler may run before it is cancelled and the call gets 504; "
        "a step's infrastructure.handler.timeout overrides it (30)",
    )
    serve.add_argument(
        "--shutdown-timeout",
        type=positive_float,
        default=os.environ.get("MOTIA_SHUTDOWN_TIMEOUT", "10"),
        help="seconds SIGTERM may take in all; runners still busy then are killed (10)",
    )
    serve.add_argument(
        "--log-retention-lines",
        type=positive_int,
        default=os.environ.get("MOTIA_LOG_RETENTION_LINES", "100000"),
        help="log lines /__motia/logs keeps, newest first (env MOTIA_LOG_RETENTION_LINES; 100000)",
    )
    serve.add_argument(
        "--log-retention-days",
        type=positive_float,
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
        type=workbench_path,
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
    if serving_only:
        return parser
    from motia_core.create import TEMPLATES  # late: the templates' table is not needed to serve

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
            from motia_core import cli_commands

            return cli_commands.steps(args)
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
        from motia_core import cli_commands

        return cli_commands.emit(args)
    except MotiaError as exc:
        print(f"motia-core: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _serve(args: argparse.Namespace) -> int:
    logger = logger_from(args)
    capture_std_logging(logger)  # asyncio's and aiohttp's own messages: never a blocking write to stderr
    project_dir = Path(args.dir).resolve()
    if not project_dir.is_dir():
        raise ProjectError(f"project folder {args.dir} does not exist")
    link_sdk(project_dir, logger)  # node_modules/motia for editors and tsc (sdk_link.py)
    run_loop(_serve_async(args, logger, project_dir))
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
