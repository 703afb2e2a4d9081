"""Between the stream's protobuf messages and the transport's types (transport.py), both ways.

Pure functions, so that grpc_session.py keeps to the stream itself: what goes into a
StartInvocation, what an InvocationResult and a StepsLoaded mean.
"""

from __future__ import annotations

from motia_core._proto.motia.runner.v1 import runner_pb2 as pb
from motia_core.runners.http_body import HTTP_BODY_CAPABILITY, HttpResult
from motia_core.runners.transport import Failure, FailureKind, Invocation, LoadFailure, Manifest, ManifestEntry, Outcome


def fill_start(start: pb.StartInvocation, invocation: Invocation, capabilities: frozenset[str]) -> None:
    """Write `invocation` into the StartInvocation envelope the frame being built holds."""
    start.invocation_id = invocation.invocation_id
    start.step_id = invocation.step_id
    start.attempt = invocation.attempt
    start.fencing_token = invocation.fencing_token
    start.deadline_unix_ms = invocation.deadline_ms
    start.trace_id = invocation.trace_id
    start.flows.extend(invocation.flows)
    # an IntEnum is an int: assigned as is, as .value (a Python-level property) costs ~0.3 µs a call
    start.trigger = invocation.trigger  # type: ignore[assignment]
    if invocation.http_body is None:
        start.payload_json = invocation.payload
    elif HTTP_BODY_CAPABILITY in capabilities:  # the body once, as bytes (runners/http_body.py)
        start.payload_json = invocation.payload
        http_body = start.http_body
        http_body.SetInParent()  # present even when empty: it tells the runner to answer http_response
        http_body.raw = invocation.http_body.raw
        http_body.content_type = invocation.http_body.content_type
        http_body.encoding = invocation.http_body.encoding  # type: ignore[assignment]
    else:
        start.payload_json = invocation.http_body.legacy_payload(invocation.payload)
    start.topic = invocation.topic


def outcome_of(result: pb.InvocationResult) -> Outcome:
    """What a (fencing-checked) InvocationResult tells the dispatcher."""
    if result.WhichOneof("outcome") == "failed":
        f = result.failed
        kind = FailureKind(f.kind) if f.kind in FailureKind._value2member_map_ else FailureKind.UNSPECIFIED
        return Outcome(failure=Failure(kind, f.error_type, f.message, f.stack, f.non_retryable, int(f.retry_after_ms)))
    if result.completed.HasField("http_response"):
        h = result.completed.http_response
        return Outcome(http=HttpResult(h.status, h.headers_json, h.body, h.body_kind))
    return Outcome(payload=result.completed.payload_json)


def manifest_of(loaded: pb.StepsLoaded) -> Manifest:
    """The runner's answer to LoadSteps: each step's config and each file that failed to load."""
    return Manifest(
        steps=[ManifestEntry(s.step_id, s.config_json, s.has_handler, s.middleware_count) for s in loaded.steps],
        errors=[LoadFailure(e.step_id, e.error_type, e.message, e.stack) for e in loaded.errors],
    )
