"""Checks shared by the cases: outcomes of invocations and the call sequences of fixture steps."""

from __future__ import annotations

from typing import Any

import orjson

from motia_core._proto.motia.runner.v1 import runner_pb2 as pb
from motia_core.conformance._kit import CaseFailed
from motia_core.conformance._spec import FixtureStep, expected_args
from motia_core.conformance._stream import Invocation


def echo_request(text: str) -> dict[str, Any]:
    body = {"text": text}
    return {
        "body": body,
        "headers": {"x-conformance": "yes"},
        "pathParams": {"id": "1"},
        "queryParams": {},
        "rawBody": orjson.dumps(body).decode(),
    }


def short(value: Any, limit: int = 160) -> str:
    text = orjson.dumps(value).decode() if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 3] + "..."


def kind_name(kind: int) -> str:
    return pb.FailureKind.Name(kind) if kind in pb.FailureKind.values() else str(kind)


def describe(result: pb.InvocationResult) -> str:
    outcome = result.WhichOneof("outcome")
    if outcome == "failed":
        f = result.failed
        return f"Failed {kind_name(f.kind)} {f.error_type}: {short(f.message)}"
    if outcome == "completed":
        return f"Completed {short(result.completed.payload_json.decode('utf-8', 'replace'))}"
    return "an InvocationResult with neither completed nor failed"


def completed(result: pb.InvocationResult, what: str) -> bytes:
    """The Completed payload; fails the case on anything else."""
    if result.WhichOneof("outcome") != "completed":
        raise CaseFailed(f"{what}: expected Completed, got {describe(result)}")
    return result.completed.payload_json


def completed_json(result: pb.InvocationResult, what: str) -> Any:
    raw = completed(result, what)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise CaseFailed(f"{what}: Completed.payload_json is not JSON ({exc})") from None


def completed_empty(result: pb.InvocationResult, what: str) -> None:
    raw = completed(result, what)
    if raw:
        got = short(raw.decode("utf-8", "replace"))
        raise CaseFailed(f"{what}: the handler returned nothing, so payload_json must be empty, got {got}")


def failed(result: pb.InvocationResult, kind: int, what: str) -> pb.Failed:
    if result.WhichOneof("outcome") != "failed" or result.failed.kind != kind:
        raise CaseFailed(f"{what}: expected Failed {kind_name(kind)}, got {describe(result)}")
    return result.failed


def first_difference(got: Any, want: Any, path: str = "$") -> str | None:
    """Where two JSON values differ, e.g. ``$.body.id: got "4", expected "42"``; None if equal."""
    if isinstance(got, dict) and isinstance(want, dict):
        for key in want:
            if key not in got:
                return f"{path}.{key}: missing (expected {short(want[key])})"
            diff = first_difference(got[key], want[key], f"{path}.{key}")
            if diff:
                return diff
        extra = [k for k in got if k not in want]
        return f"{path}: unexpected key(s) {', '.join(extra)}" if extra else None
    if isinstance(got, list) and isinstance(want, list) and len(got) == len(want):
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            diff = first_difference(g, w, f"{path}[{i}]")
            if diff:
                return diff
        return None
    if got != want or type(got) is not type(want):
        return f"{path}: got {short(got)}, expected {short(want)}"
    return None


def check_calls(invocation: Invocation, fixture: FixtureStep, scope: dict[str, Any], who: str) -> None:
    """The handler made exactly the calls the spec lists for ``fixture``, in order, each awaited.

    ``scope`` holds what the templates refer to (``input``, ``request``, ``ctx``); the kit's replies
    to calls the spec names with ``as`` are added under ``replies`` as the check goes."""
    check_call_list(invocation, fixture.calls, scope, f"{fixture.name} {who}")


def check_call_list(
    invocation: Invocation, specified: list[dict[str, Any]], scope: dict[str, Any], who: str, skip_logs: bool = False
) -> None:
    """``check_calls`` for a list of specified calls; ``skip_logs`` leaves log lines out of the comparison."""
    calls = [c for c in invocation.calls if not (skip_logs and c.op == "log")]
    ops = tuple(c.op for c in calls)
    want_ops = tuple(str(c["op"]) for c in specified)
    if ops != want_ops:
        raise CaseFailed(f"{who}: calls were {', '.join(ops) or 'none'}; expected {', '.join(want_ops) or 'none'}")
    replies: dict[str, Any] = {}
    scope = {**scope, "replies": replies}
    for i, (call, spec_call) in enumerate(zip(calls, specified, strict=True)):
        diff = first_difference(call.args, expected_args(spec_call, scope))
        if diff:
            raise CaseFailed(f"{who}: call {i + 1} ({call.op}) {diff}")
        if call.overlapped:
            raise CaseFailed(f"{who}: call {i + 1} ({call.op}) was sent before the previous call's reply (not awaited)")
        if call.op != "log" and call.request_id == 0:
            raise CaseFailed(f"{who}: call {i + 1} ({call.op}) has request_id 0")
        if "as" in spec_call:
            replies[str(spec_call["as"])] = call.reply
    if calls and invocation.unanswered_at_result:
        raise CaseFailed(f"{who}: the result arrived before the reply to its last call ({calls[-1].op} not awaited)")
