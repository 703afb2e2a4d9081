"""``motia-core conformance``: flags, the case list, and the run."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shlex
import shutil
import signal
import sys
from typing import Any

from motia_core.conformance import _cases as basic
from motia_core.conformance import _invocation_cases as invocations
from motia_core.conformance import _lifecycle_cases as lifecycle
from motia_core.conformance._kit import Case, CaseResult, Kit
from motia_core.conformance._languages import LANGUAGES
from motia_core.conformance._report import as_json, table

# In the order they run: cases sharing the one runner first, then those that end their runner.
CASES: dict[str, Case] = {
    "handshake": basic.handshake,
    "manifest": basic.manifest,
    "load_error": basic.load_error,
    "version_mismatch": basic.version_mismatch,
    "bad_secret": basic.bad_secret,
    "api_invocation": invocations.api_invocation,
    "event_invocation": invocations.event_invocation,
    "calls_correlated": invocations.calls_correlated,
    "cron_invocation": invocations.cron_invocation,
    "lenient_emit": invocations.lenient_emit,
    "concurrent_interleaved": invocations.concurrent_interleaved,
    "handler_failure": invocations.handler_failure,
    "unknown_step": basic.unknown_step,
    "oversize_result": invocations.oversize_result,
    "ping_pong": basic.ping_pong,
    "cancel": lifecycle.cancel,
    "shutdown_drain": lifecycle.shutdown_drain,
    "sigterm_drain": lifecycle.sigterm_drain,
    "stdin_eof": basic.stdin_eof,
}
DEFAULT_TIMEOUT = 20.0


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "conformance",
        help="check that a language runner speaks the runner protocol",
        description="Play the core against a runner process and check the protocol case by case "
        "(see core/motia_core/conformance/README.md).",
    )
    parser.add_argument("--runner", required=True, help='shell command that starts the runner, e.g. "node runner.cjs"')
    parser.add_argument("--lang", required=True, choices=sorted(LANGUAGES), help="which fixture project to load")
    parser.add_argument("--json", action="store_true", help="print a JSON report instead of the table")
    parser.add_argument(
        "--case", action="append", choices=list(CASES), metavar="NAME", help="run only this case (repeatable)"
    )
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT, help=f"seconds per case ({DEFAULT_TIMEOUT:g})"
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="show the runners' output on stderr")
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the selected cases; 0 when all pass, 1 when any fails, 2 when the kit cannot start."""
    command = _resolve(shlex.split(args.runner))
    if not command:
        print("motia-core conformance: --runner is empty", file=sys.stderr)
        return 2
    if shutil.which(command[0]) is None:
        print(f"motia-core conformance: cannot run {command[0]!r} (not found or not executable)", file=sys.stderr)
        return 2
    language = LANGUAGES[args.lang]
    if not language.fixture_dir.is_dir():
        print(f"motia-core conformance: no fixture project at {language.fixture_dir}", file=sys.stderr)
        return 2
    selected = set(args.case or CASES)
    cases = [(name, case) for name, case in CASES.items() if name in selected]  # always in the designed order
    kit = Kit(command, language, args.timeout, echo=args.verbose)
    try:
        results = asyncio.run(_main(kit, cases))
    except KeyboardInterrupt:
        return 130
    if args.json:
        print(as_json(results, args.runner, args.lang))
    else:
        print(table(results, f"conformance of `{args.runner}` ({language.fixture} fixtures)"))
    return 0 if all(r.passed for r in results) else 1


def _resolve(command: list[str]) -> list[str]:
    """Runners start in the fixture project: make relative paths in the command absolute."""
    resolved = []
    for arg in command:
        if "/" in arg and not os.path.isabs(arg) and os.path.exists(arg):
            arg = os.path.abspath(arg)
        resolved.append(arg)
    return resolved


async def _main(kit: Kit, cases: list[tuple[str, Case]]) -> list[CaseResult]:
    # SIGTERM/SIGINT cancel the run, so the kit still kills every runner it spawned.
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    assert task is not None
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, task.cancel)
    try:
        return await kit.run(cases)
    except asyncio.CancelledError:
        raise KeyboardInterrupt from None
