"""Cases about the connection itself: handshake, loading steps, refusals, liveness, stdin.

A case is ``async def case(ctx) -> str``: it returns a short note for the report when every check
holds and raises :class:`CaseFailed` with the reason otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from typing import Any

import psutil

from motia_core._proto.motia.runner.v1 import runner_pb2 as pb
from motia_core.conformance._checks import completed, echo_request, failed, short
from motia_core.conformance._kit import RUNNER_SLOTS, CaseContext, CaseFailed, Runner
from motia_core.conformance._stream import KIT_PROTOCOL
from motia_core.steps import ConfigValidationError, Step, parse_step

REFUSAL_EXIT_SECONDS = 5.0
STDIN_EXIT_SECONDS = 2.0

# What each fixture step must declare (compared with the core's own parse of its config).
EXPECTED_STEPS: dict[str, dict[str, Any]] = {
    "ConformanceEcho": {
        "type": "api",
        "method": "POST",
        "path": "/conformance/echo/:id",
        "emits": ("conformance.echoed",),
    },
    "ConformanceCalls": {"type": "event", "subscribes": ("conformance.calls",), "emits": ("conformance.done",)},
    "ConformanceTick": {"type": "cron", "cron": "* * * * *", "emits": ("conformance.tick",)},
    "ConformanceBoom": {"type": "event", "subscribes": ("conformance.boom",)},
    "ConformanceBig": {"type": "api", "method": "POST", "path": "/conformance/big"},
    "ConformanceSlow": {"type": "event", "subscribes": ("conformance.slow",)},
    "ConformanceNoop": {"type": "noop"},
    "ConformanceLenient": {
        "type": "event",
        "subscribes": ("conformance.lenient",),
        "emits": ("conformance.lenient.ok",),
    },
}


async def handshake(ctx: CaseContext) -> str:
    runner = await ctx.connected_runner()
    hello = runner.connected.hello
    problems = []
    if not hello.protocol_min <= KIT_PROTOCOL <= hello.protocol_max:
        problems.append(f"protocol_min..protocol_max is {hello.protocol_min}..{hello.protocol_max}, must include 1")
    if not hello.runner_instance_id:
        problems.append("runner_instance_id is empty")
    others = [s.hello.runner_instance_id for s in ctx.kit.server.streams if s is not runner.stream]
    if hello.runner_instance_id in others:
        problems.append("runner_instance_id repeats the id of an earlier runner process")
    expected_language = ctx.kit.language.hello_language
    if hello.language != expected_language:
        problems.append(f"language is {hello.language!r}, expected {expected_language!r}")
    if not hello.runtime_version:
        problems.append("runtime_version is empty")
    if not hello.sdk_version:
        problems.append("sdk_version is empty")
    if hello.concurrency_slots != RUNNER_SLOTS:
        problems.append(f"concurrency_slots is {hello.concurrency_slots}, expected MOTIA_RUNNER_SLOTS={RUNNER_SLOTS}")
    if hello.secret != runner.secret:
        problems.append("secret is not MOTIA_RUNNER_SECRET")
    pid_note = _check_pid(hello.pid, runner, problems)
    if problems:
        raise CaseFailed("; ".join(problems))
    with contextlib.suppress(CaseFailed):  # a runner that cannot load steps fails the manifest case instead
        await ctx.kit.adopt_shared(await ctx.load(runner))
    slots = hello.concurrency_slots
    return f"{hello.language} {hello.runtime_version}, sdk {hello.sdk_version}, {slots} slots{pid_note}"


def _check_pid(pid: int, runner: Runner, problems: list[str]) -> str:
    child = runner.process.pid
    if pid == child:
        return ""
    try:
        descendants = {p.pid for p in psutil.Process(child).children(recursive=True)}
    except psutil.Error:
        descendants = set()
    if pid in descendants:
        return f" (pid {pid} is a child of the spawned process {child})"
    problems.append(f"pid is {pid}, the spawned process is {child}")
    return ""


async def manifest(ctx: CaseContext) -> str:
    runner = await ctx.shared()
    loaded = runner.loaded
    assert loaded is not None
    problems = [f"LoadError for {e.step_id}: {e.error_type}: {short(e.message)}" for e in loaded.errors]
    by_name = {}
    files = {f.step_id: f for f in ctx.kit.files}
    for m in loaded.steps:
        file = files.get(m.step_id)
        if file is None:
            problems.append(f"a manifest for step_id {m.step_id!r}, which LoadSteps did not name")
            continue
        try:
            step = parse_step(file, m.config_json, m.has_handler)
        except ConfigValidationError as exc:
            problems.append(f"the core rejects the config of {m.step_id}: {exc}")
            continue
        by_name[step.name] = step
        problems += _check_step(step, m)
    missing = sorted(set(EXPECTED_STEPS) - set(by_name))
    if missing:
        problems.append(f"missing step(s): {', '.join(missing)}")
    extra = sorted(set(by_name) - set(EXPECTED_STEPS))
    if extra:
        problems.append(f"unexpected step(s): {', '.join(extra)}")
    if problems:
        raise CaseFailed("; ".join(problems[:4]))
    return f"{len(loaded.steps)} steps, configs valid for the core"


def _check_step(step: Step, m: pb.StepManifest) -> list[str]:
    expected = EXPECTED_STEPS.get(step.name)
    if expected is None:
        return []
    problems = []
    actual = {
        "type": step.type.value,
        "method": step.method,
        "path": step.path,
        "emits": step.emits,
        "subscribes": step.subscribes,
        "cron": step.cron,
    }
    for key, want in expected.items():
        if actual[key] != want:
            problems.append(f"{step.name}.{key} is {actual[key]!r}, expected {want!r}")
    if step.flows != ("conformance",):
        problems.append(f"{step.name}.flows is {list(step.flows)!r}, expected ['conformance']")
    if m.has_handler != (step.name != "ConformanceNoop"):
        problems.append(f"{step.name}: has_handler is {m.has_handler}")
    if m.middleware_count != 0:
        problems.append(f"{step.name}: middleware_count is {m.middleware_count}, the step declares none")
    if step.name == "ConformanceEcho":
        problems += _check_body_schema(step.body_schema)
    if step.name == "ConformanceNoop":
        config = step.config
        if config.get("virtualEmits") != ["conformance.calls"] or config.get("virtualSubscribes") != []:
            problems.append("ConformanceNoop must declare virtualEmits ['conformance.calls'] and virtualSubscribes []")
    return problems


def _check_body_schema(schema: dict[str, Any] | None) -> list[str]:
    if not isinstance(schema, dict):
        return [f"ConformanceEcho.bodySchema is {short(schema)}, expected a JSON Schema object"]
    properties = schema.get("properties")
    text = properties.get("text") if isinstance(properties, dict) else None
    required = schema.get("required")
    if (
        schema.get("type") != "object"
        or not isinstance(text, dict)
        or text.get("type") != "string"
        or not isinstance(required, list)
        or "text" not in required
    ):
        return [f"ConformanceEcho.bodySchema {short(schema)} is not an object schema requiring a string 'text'"]
    return []


async def load_error(ctx: CaseContext) -> str:
    runner = await ctx.shared()
    stream = runner.connected
    broken = ctx.kit.language.broken_file
    files = [*ctx.kit.step_files, (broken, str(ctx.kit.project / broken), broken)]
    loaded = await ctx.wait(runner, stream.load_steps(files), "StepsLoaded (a second LoadSteps, with a broken file)")
    errors = {e.step_id: e for e in loaded.errors}
    if broken not in errors:
        raise CaseFailed(f"no LoadError for {broken} (errors: {', '.join(errors) or 'none'})")
    if len(errors) > 1:
        others = [f"{k}: {short(e.message, 80)}" for k, e in errors.items() if k != broken]
        raise CaseFailed(f"LoadErrors for working files too: {'; '.join(others)}")
    error = errors[broken]
    if not error.error_type or not error.message:
        raise CaseFailed(f"the LoadError needs error_type and message (got {error.error_type!r}, {error.message!r})")
    loaded_ids = {m.step_id for m in loaded.steps}
    if broken in loaded_ids:
        raise CaseFailed(f"{broken} is reported both loaded and failed")
    missing = [step_id for step_id, _, _ in ctx.kit.step_files if step_id not in loaded_ids]
    if missing:
        raise CaseFailed(f"the other files must still load; missing {', '.join(missing)}")
    # The steps were re-imported (hot reload): they must still run.
    echo = stream.start(runner.step("ConformanceEcho"), pb.TRIGGER_API, echo_request("reloaded"))
    completed(await ctx.wait(runner, echo.result, "the echo result after the reload"), "echo after the reload")
    first_line = error.message.strip().splitlines()[0] if error.message.strip() else ""
    return f"{error.error_type}: {short(first_line, 70)}"


async def version_mismatch(ctx: CaseContext) -> str:
    runner = ctx.watch(await ctx.spawn())
    stream = await ctx.kit.connect(runner, ctx.deadline)
    message = "the conformance kit pretends to speak only protocol 99"
    stream.refuse(pb.Refusal.CODE_VERSION_UNSUPPORTED, message, 99, 99)
    return await _expect_refused_exit(runner, "VERSION_UNSUPPORTED", message)


async def bad_secret(ctx: CaseContext) -> str:
    token = secrets.token_urlsafe(12)
    refused_before = len(ctx.kit.server.refused)
    runner = ctx.watch(await ctx.spawn(secret=f"given-{token}", expect=f"expected-{token}"))
    try:
        code = await runner.process.wait(min(ctx.remaining, 15.0))
    finally:
        ctx.kit.server.forget(runner.secret)
    refusals = ctx.kit.server.refused[refused_before:]
    if not refusals:
        raise CaseFailed(f"the runner never sent a Hello (exit code {code}): {runner.process.tail()}")
    return await _expect_refused_exit(runner, "BAD_SECRET", "missing or wrong runner secret")


async def _expect_refused_exit(runner: Runner, code_name: str, message: str) -> str:
    sent = time.monotonic()
    code = await runner.process.wait(REFUSAL_EXIT_SECONDS)
    if code is None:
        raise CaseFailed(f"still running {REFUSAL_EXIT_SECONDS:g}s after the Refusal {code_name}")
    if code != 2:
        raise CaseFailed(f"exited with code {code} after the Refusal {code_name}, expected 2: {runner.process.tail()}")
    stderr = "\n".join(runner.process.stderr)
    if message not in stderr:
        raise CaseFailed(f"exited 2 without printing the refusal's message to stderr ({runner.process.tail()})")
    return f"exit 2 within {time.monotonic() - sent:.1f}s, refusal printed"


async def ping_pong(ctx: CaseContext) -> str:
    runner = await ctx.shared()
    nonces = [(1 << 40) + 7, 1, 0xC0FFEE]  # one above 32 bits: nonces are uint64
    pongs = [runner.connected.ping(nonce) for nonce in nonces]
    await ctx.wait(runner, asyncio.gather(*pongs), f"a Pong for each of {len(nonces)} Pings sent in one frame", 10.0)
    return f"{len(nonces)} pings, nonces echoed"


async def unknown_step(ctx: CaseContext) -> str:
    runner = await ctx.shared()
    stream = runner.connected
    invocation = stream.start("steps/never-loaded.step.ts", pb.TRIGGER_EVENT, {"n": 1}, topic="conformance.nothing")
    result = await ctx.wait(runner, invocation.result, "the result for a step id never loaded", 10.0)
    failure = failed(result, pb.FAILURE_KIND_UNKNOWN_STEP, "unknown step")
    await ctx.wait(runner, stream.ping(4242), "a Pong after the unknown step", 10.0)
    return f"UNKNOWN_STEP {failure.error_type or '(no error_type)'}, then answers a ping"


async def stdin_eof(ctx: CaseContext) -> str:
    runner = await ctx.connected_runner()
    await ctx.wait(runner, runner.connected.ping(77), "a Pong before stdin is closed", 10.0)
    closed = time.monotonic()
    runner.process.close_stdin()
    code = await runner.process.wait(STDIN_EXIT_SECONDS)
    if code is None:
        raise CaseFailed(f"still running {STDIN_EXIT_SECONDS:g}s after its stdin was closed (the core is gone)")
    if code == 0:
        raise CaseFailed("exited with code 0 on stdin EOF; the core died, so the exit code must be non-zero")
    return f"exit {code} {1000 * (time.monotonic() - closed):.0f} ms after stdin EOF"


__all__ = [
    "bad_secret",
    "handshake",
    "load_error",
    "manifest",
    "ping_pong",
    "stdin_eof",
    "unknown_step",
    "version_mismatch",
]
