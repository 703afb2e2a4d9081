"""Cases about the connection itself: handshake, loading steps, refusals, liveness, stdin.

A case is ``async def case(ctx) -> str``: it returns a short note for the report when every check
holds and raises :class:`CaseFailed` with the reason otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import time
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

import psutil

from motia_core._proto.motia.runner.v1 import runner_pb2 as pb
from motia_core.conformance._checks import completed, echo_request, failed, short
from motia_core.conformance._kit import RUNNER_SLOTS, CaseContext, CaseFailed, CaseSkipped, Runner
from motia_core.conformance._spec import spec
from motia_core.conformance._stream import KIT_PROTOCOL, Invocation
from motia_core.steps import ConfigValidationError, Step, parse_step

REFUSAL_EXIT_SECONDS = 5.0
STDIN_EXIT_SECONDS = 2.0
BUILD_SECONDS = 120.0  # one prepare (build) run in the load_error case, on top of --timeout

# How the core's parse of a config exposes each key the spec can declare (the rest: the raw config).
_PARSED: dict[str, Callable[[Step], Any]] = {
    "type": lambda step: step.type.value,
    "method": lambda step: step.method or None,
    "path": lambda step: step.path or None,
    "cron": lambda step: step.cron or None,
    "emits": lambda step: list(step.emits),
    "subscribes": lambda step: list(step.subscribes),
    "flows": lambda step: list(step.flows),
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
    target = ctx.kit.target
    if target.check_name and hello.language != target.runner.name:
        problems.append(f"language is {hello.language!r}, expected the runner's name {target.runner.name!r}")
    if not hello.language:
        problems.append("language is empty (the runner's name, e.g. 'python', 'go')")
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
        problems += check_step(step, m)
    expected = spec().names
    missing = [name for name in expected if name not in by_name]
    if missing:
        problems.append(f"missing step(s): {', '.join(missing)} (spec/fixtures.json declares {len(expected)})")
    extra = sorted(set(by_name) - set(expected))
    if extra:
        problems.append(f"unexpected step(s): {', '.join(extra)}")
    if problems:
        raise CaseFailed("; ".join(problems[:4]))
    return f"{len(loaded.steps)} steps, configs as the spec declares them"


def check_step(step: Step, m: pb.StepManifest) -> list[str]:
    """What the runner's manifest says against what spec/fixtures.json declares for that step name:
    every key the spec lists, and nothing else among the routing keys (method, path, cron, emits,
    subscribes)."""
    fixture = next((f for f in spec().steps if f.name == step.name), None)
    if fixture is None:
        return []
    problems = []
    for key, want in fixture.config.items():
        if key == "name":
            continue
        if key == "bodySchema":
            problems += _schema_problems(f"{step.name}.bodySchema", step.body_schema, want)
            continue
        got = _PARSED[key](step) if key in _PARSED else step.config.get(key)
        if got != want:
            problems.append(f"{step.name}.{key} is {short(got)}, expected {short(want)}")
    for key, read in _PARSED.items():
        if key not in fixture.config and read(step) not in (None, []):
            problems.append(f"{step.name}.{key} is {short(read(step))}, the spec declares none")
    if m.has_handler != fixture.has_handler:
        problems.append(f"{step.name}: has_handler is {m.has_handler}, expected {fixture.has_handler}")
    if m.middleware_count != 0:
        problems.append(f"{step.name}: middleware_count is {m.middleware_count}, the step declares none")
    return problems


def _schema_problems(where: str, got: Any, want: Any) -> list[str]:
    """JSON Schemas compared on what they constrain: ``type``, ``properties`` (each recursively, no
    extra ones), ``required`` (as a set) and any other key the spec gives; annotations a converter
    adds (title, description, additionalProperties) are ignored."""
    if not isinstance(got, dict):
        return [f"{where} is {short(got)}, expected a JSON Schema object like {short(want)}"]
    problems = []
    for key, value in want.items():
        if key == "properties":
            found = got.get("properties")
            props: dict[str, Any] = found if isinstance(found, dict) else {}
            for name, sub in value.items():
                problems += _schema_problems(f"{where}.properties.{name}", props.get(name), sub)
            problems += [f"{where}.properties.{name}: not in the spec" for name in props if name not in value]
        elif key == "required":
            if not isinstance(got.get("required"), list) or set(got["required"]) != set(value):
                problems.append(f"{where}.required is {short(got.get('required'))}, expected {short(value)}")
        elif got.get(key) != value:
            problems.append(f"{where}.{key} is {short(got.get(key))}, expected {short(value)}")
    return problems


async def load_error(ctx: CaseContext) -> str:
    target = ctx.kit.target
    if target.broken is None:
        raise CaseSkipped("no broken file: pass --broken FILE (a step file that fails to load in this language)")
    broken = target.broken[0]
    if target.runner.prepare is not None:
        return await _build_error(ctx, broken, target.broken[1])
    runner = await ctx.shared()
    stream = runner.connected
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
    echo = stream.start(runner.step(spec().step("echo").name), pb.TRIGGER_API, echo_request("reloaded"))
    completed(await ctx.wait(runner, echo.result, "the echo result after the reload"), "echo after the reload")
    first_line = error.message.strip().splitlines()[0] if error.message.strip() else ""
    return f"{error.error_type}: {short(first_line, 70)}"


async def _build_error(ctx: CaseContext, broken: str, source: str) -> str:
    """For a runner with a build (RunnerDeclaration.prepare), a file that cannot load is a failed
    build: the core turns its ``path:line[:col]: message`` lines into load errors
    (docs/writing-a-runner.md). The build must fail naming the broken file and a line, then pass
    again without it, and the running runner keeps serving."""
    runner = await ctx.shared()
    ctx.extend(2 * BUILD_SECONDS)  # two builds, each bounded by BUILD_SECONDS
    path = ctx.kit.project / broken
    path.write_text(source, encoding="utf-8")
    try:
        code, output = await ctx.wait(runner, ctx.kit.prepare(BUILD_SECONDS), "the prepare command with a broken file")
    finally:
        path.unlink(missing_ok=True)
    if code == 0:
        raise CaseFailed(f"the prepare command succeeded with {broken} in the project; it must fail")
    name = PurePosixPath(broken).name
    located = [line for line in output if re.search(rf"(^|/){re.escape(name)}:\d+(:\d+)?: ", line)]
    if not located:
        raise CaseFailed(f"the failed build names no '{broken}:<line>: <message>' line: {' | '.join(output[-5:])}")
    code_after, output_after = await ctx.wait(runner, ctx.kit.prepare(BUILD_SECONDS), "the prepare command again")
    if code_after != 0:
        raise CaseFailed(f"the prepare command fails ({code_after}) after {broken} is removed: {output_after[-3:]}")
    echo = _echo_again(runner)
    completed(await ctx.wait(runner, echo.result, "the echo result after the failed build"), "echo after the build")
    return f"build failed ({code}) with {short(located[0].strip(), 80)}"


def _echo_again(runner: Runner) -> Invocation:
    return runner.connected.start(runner.step(spec().step("echo").name), pb.TRIGGER_API, echo_request("again"))


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
