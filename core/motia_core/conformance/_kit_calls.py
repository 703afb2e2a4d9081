"""How the kit answers a runner's calls: an in-memory state store with the core's semantics.

:func:`serve_call` decodes one Call (rejecting what the protocol forbids with ``ValueError``, which
the stream records as a violation) and returns what the kit recorded of it and the reply's bytes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson

from motia_core._proto.motia.runner.v1 import runner_pb2 as pb

# An emit to this topic gets the core's reply to an undeclared topic (docs/protocol.md, `emit`).
UNDECLARED_TOPIC = "conformance.undeclared"
UNDECLARED_REPLY = orjson.dumps(
    {
        "dropped": "undeclared_topic",
        "message": f"ConformanceLenient emitted {UNDECLARED_TOPIC!r}, which is not in its config.emits "
        "('conformance.lenient.ok'); the event was dropped",
    }
)

CallArgs = dict[str, Any]


@dataclass
class CallRecord:
    """One Call as it arrived, decoded, with the reply the kit gave."""

    request_id: int
    op: str
    args: CallArgs
    overlapped: bool  # an earlier call of the same invocation still waited for its reply
    reply: Any = None  # the decoded value_json the kit answered with


class StateStore:
    """Groups of JSON values kept as the bytes sent, in the order keys were first set."""

    def __init__(self) -> None:
        self.groups: dict[str, dict[str, bytes]] = {}

    def set(self, group: str, key: str, value: bytes) -> bytes:
        self.groups.setdefault(group, {})[key] = value
        return value

    def get(self, group: str, key: str) -> bytes:
        return self.groups.get(group, {}).get(key, b"null")

    def delete(self, group: str, key: str) -> bytes:
        return self.groups.get(group, {}).pop(key, b"null")

    def get_group(self, group: str) -> bytes:
        return b"[" + b",".join(self.groups.get(group, {}).values()) + b"]"

    def clear(self, group: str) -> bytes:
        self.groups.pop(group, None)
        return b"null"


def _json(raw: bytes, what: str) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"{what} is not JSON: {exc}") from None


def serve_call(state: StateStore, op: str, call: pb.Call) -> tuple[CallArgs, bytes]:
    """What the kit records of one Call and the reply's value_json; ValueError: a protocol violation."""
    if op == "state_set":
        s = call.state_set
        value = _json(s.value_json, "value_json")
        return {"group": s.group_id, "key": s.key, "value": value}, state.set(s.group_id, s.key, s.value_json)
    if op == "state_get":
        g = call.state_get
        return {"group": g.group_id, "key": g.key}, state.get(g.group_id, g.key)
    if op == "state_delete":
        d = call.state_delete
        return {"group": d.group_id, "key": d.key}, state.delete(d.group_id, d.key)
    if op == "state_get_group":
        group = call.state_get_group.group_id
        return {"group": group}, state.get_group(group)
    if op == "state_clear":
        group = call.state_clear.group_id
        return {"group": group}, state.clear(group)
    if op == "emit":
        e = call.emit
        if not e.topic:
            raise ValueError("emit without a topic")
        data = _json(e.data_json, "data_json")
        args: CallArgs = {"topic": e.topic, "data": data, "message_group_id": e.message_group_id}
        if e.topic == UNDECLARED_TOPIC:  # answered as the core answers a topic not in the step's emits
            return args, UNDECLARED_REPLY
        return args, b"null"
    if op == "log":
        log = call.log
        fields = _json(log.fields_json, "fields_json") if log.fields_json else None
        if fields is not None and not isinstance(fields, dict):
            raise ValueError(f"fields_json must be a JSON object, got {type(fields).__name__}")
        if abs(log.time_unix_ms - time.time() * 1000) > 3_600_000:
            raise ValueError(f"time_unix_ms {log.time_unix_ms} is not the current time in milliseconds")
        return {"level": int(log.level), "message": log.message, "fields": fields}, b""
    raise ValueError(f"unknown call op {op!r}")
