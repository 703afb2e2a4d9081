"""``motia-core conformance``: flags, the case list, and the run (``conformance init``: _scaffold.py)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from pathlib import Path
from typing import Any

from motia_core.conformance import _cases as basic
from motia_core.conformance import _invocation_cases as invocations
from motia_core.conformance import _lifecycle_cases as lifecycle
from motia_core.conformance import _scaffold
from motia_core.conformance._kit import Case, CaseResult, Kit, KitSetupError
from motia_core.conformance._report import as_json, table
from motia_core.conformance._spec import spec
from motia_core.conformance._target import TargetError, resolve

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
        usage="motia-core conformance (--lang NAME | --runner CMD --fixtures DIR [--broken FILE]) [options]\n"
        "       motia-core conformance init --lang NAME [--step-pattern GLOB] [--force] DIR",
        description="Play the core against a runner process and check the protocol case by case "
        "(see core/motia_core/conformance/README.md). Either --lang NAME (a language the runner registry "
        "knows: its declaration gives the command and the fixtures), or --runner CMD --fixtures DIR for a "
        "runner registered nowhere yet; flags next to --lang override what the declaration gives.",
    )
    parser.add_argument(
        "--lang",
        metavar="NAME",
        help="language or runner name (typescript, python, go, node, ...) or step file extension (ts, py); "
        "for an unregistered one with --runner/--fixtures: the name the runner's Hello must carry",
    )
    parser.add_argument("--runner", metavar="CMD", help='command that starts the runner, e.g. "node runner.cjs"')
    parser.add_argument(
        "--fixtures", metavar="DIR", type=Path, help="project folder with the fixture steps (spec/fixtures.json)"
    )
    parser.add_argument(
        "--broken",
        metavar="FILE",
        type=Path,
        help="a step file that fails to load; the load_error case writes it (same name) into the fixtures "
        "copy's steps/ (without it, and without a registered one, that case is skipped)",
    )
    parser.add_argument(
        "--step-pattern",
        metavar="GLOB",
        action="append",
        default=[],
        help="which fixture files are steps (file name pattern, repeatable; default: the language's "
        "declared patterns, else '*.step.*' and '*_step.*')",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON report instead of the table")
    parser.add_argument(
        "--case", action="append", choices=list(CASES), metavar="NAME", help="run only this case (repeatable)"
    )
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT, help=f"seconds per case ({DEFAULT_TIMEOUT:g})"
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="show the runners' output on stderr")
    sub = parser.add_subparsers(dest="conformance_command", metavar="init")
    _scaffold.add_parser(sub)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the selected cases; 0 when none fails, 1 when any fails, 2 when the kit cannot start."""
    if getattr(args, "conformance_command", None) == "init":
        return _scaffold.run(args)
    try:
        target = resolve(args.lang, args.runner, args.fixtures, args.broken, args.step_pattern)
    except TargetError as exc:
        print(f"motia-core conformance: {exc}", file=sys.stderr)
        return 2
    note = spec_version_note(target.fixtures_dir)
    if note:
        print(f"motia-core conformance: {note}", file=sys.stderr)
    selected = set(args.case or CASES)
    cases = [(name, case) for name, case in CASES.items() if name in selected]  # always in the designed order
    kit = Kit(target, args.timeout, echo=args.verbose)
    try:
        results = asyncio.run(_main(kit, cases))
    except KitSetupError as exc:
        print(f"motia-core conformance: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    runner = " ".join(kit.command)
    what = f"runner '{target.runner.name}', {target.language}" if target.check_name else "any Hello.language"
    what = f"{what}, fixtures {target.fixtures_dir}"
    if args.json:
        print(as_json(results, runner, target.language, str(target.fixtures_dir)))
    else:
        print(table(results, f"conformance of `{runner}` ({what})"))
    return 0 if all(r.passed or r.skipped for r in results) else 1


def spec_version_note(fixtures_dir: Path) -> str:
    """A fixture folder `conformance init` wrote keeps the spec it was written for: say so when the
    kit's spec is another version (the steps may have to change)."""
    try:
        written = json.loads((fixtures_dir / "fixtures.json").read_text(encoding="utf-8")).get("version")
    except (OSError, ValueError, AttributeError):
        return ""
    current = spec().version
    if written is None or written == current:
        return ""
    return (
        f"{fixtures_dir}/fixtures.json is spec version {written}, the kit checks version {current}: "
        "compare it with `motia-core conformance init` output and update the steps"
    )


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
