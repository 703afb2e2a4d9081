"""Checks shared by the cases: outcomes of invocations and the call sequences of fixture steps."""

from __future__ import annotations

from typing import Any

import orjson

from motia_core._proto.motia.runner.v1 import runner_pb2 as pb
from motia_core.conformance._kit import CaseFailed
from motia_core.conformance._stream import Invocation

LOG_INFO = int(pb.Log.LEVEL_INFO)
CALLS_SEQUENCE = (
    "state_set",
    "state_get",
    "state_set",
    "state_get_group",
    "state_delete",
    "log",
    "emit",
    "state_clear",
)


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


def check_calls_step(invocation: Invocation, key: str, n: int) -> None:
    """The ConformanceCalls handler made exactly the specified calls, in order, each awaited."""
    who = f"calls step ({key})"
    calls = invocation.calls
    ops = tuple(c.op for c in calls)
    if ops != CALLS_SEQUENCE:
        raise CaseFailed(f"{who}: calls were {', '.join(ops) or 'none'}; expected {', '.join(CALLS_SEQUENCE)}")
    got, group = calls[1].reply, calls[3].reply
    expected: list[dict[str, Any]] = [
        {"group": "conf", "key": key, "value": {"n": n}},
        {"group": "conf", "key": key},
        {"group": "conf", "key": f"{key}-2", "value": n},
        {"group": "conf"},
        {"group": "conf", "key": f"{key}-2"},
        {"level": LOG_INFO, "message": "calls done", "fields": {"n": n}},
        {
            "topic": "conformance.done",
            "data": {"n": n, "got": got, "count": len(group) if isinstance(group, list) else -1},
            "message_group_id": "",
        },
        {"group": f"conf{key}"},
    ]
    for i, (call, want) in enumerate(zip(calls, expected, strict=True)):
        diff = first_difference(call.args, want)
        if diff:
            raise CaseFailed(f"{who}: call {i + 1} ({call.op}) {diff}")
        if call.overlapped:
            raise CaseFailed(f"{who}: call {i + 1} ({call.op}) was sent before the previous call's reply (not awaited)")
        if call.op != "log" and call.request_id == 0:
            raise CaseFailed(f"{who}: call {i + 1} ({call.op}) has request_id 0")
    if invocation.unanswered_at_result:
        raise CaseFailed(f"{who}: the result arrived before the reply to its last call (state.clear not awaited)")
    if got != {"n": n}:  # the kit's own answer: a sanity check of the kit, not the runner
        raise CaseFailed(f"{who}: the kit answered state.get with {short(got)}")
